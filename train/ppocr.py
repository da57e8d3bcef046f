"""Fine-tune the default recognizer, PaddleOCR's PP-OCRv6 small (ONNX only), on a user's real split.

The ONNX file becomes a PyTorch module through onnx2torch (as export's parity reference does); its
convolutions (the HGNet backbone and the neck's, 57 layers, 2.8M of its 5.3M weights) are trained with CTC
over its whole charset, the rest stays as shipped; the trained weights are written back into a copy of
the shipped ONNX file, so `jnr-export --str ppocr-v6-rec=FILE.onnx` exports and checks it like the shipped
one (same graph, same charset in its metadata).

Labels: every crop of a numbered tracklet takes the tracklet's number, unless the teacher (the shipped
recognizer) reads another number there and is sure of it (>= TEACHER_VETO): a user's frames are used
without hand labels, and a crop of another player, or of a number the ground truth does not hold, stays out.
"""

from __future__ import annotations

import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from jnr.runtime import kinds, preprocess
from jnr.runtime.data import decode, open_split
from jnr.runtime.errors import JnrError
from jnr.runtime.specs import StageSpec, get_spec
from jnr.runtime.vote import parse_number

TEACHER_VETO = 0.9


def trainable(weights: str | None = None) -> tuple[nn.Module, StageSpec, object]:
    """The recognizer as a module with the full charset (its probabilities out), its spec, and the
    slimmed ONNX model the module was converted from (where its weights go back)."""
    import onnx
    import onnxslim
    from onnx2torch import convert

    from jnr.export.models import complete_spec
    from jnr.export.rewrites import explicit_same_pads
    from jnr.export.weights import resolve_weights

    base = get_spec("ppocr-v6-rec")
    src = weights or base.weights
    spec = complete_spec(replace(base, head="full", weights=src), src)
    import warnings

    # onnx2torch's Slice indexes with a list: deprecated in torch, still right in the pinned 2.14
    warnings.filterwarnings("ignore", "Using a non-tuple sequence for multidimensional indexing")
    model = onnx.load(str(resolve_weights(src)))
    explicit_same_pads(model)
    model = onnxslim.slim(model)
    module = convert(model)
    for p in module.parameters():
        p.requires_grad_(True)
    return module, spec, model


def write_back(module: nn.Module, model, dst: Path) -> Path:
    """The trained convolutions into the ONNX ``model``'s initializers, saved (atomically) at ``dst``."""
    import onnx
    from onnx import numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        # onnx2torch names a node's module by its ONNX name; asymmetric pads make it (pad, conv)
        conv = next(
            m for m in module.get_submodule(node.name.replace(".", "/")).modules() if isinstance(m, nn.Conv2d)
        )
        for name, tensor in zip(node.input[1:], (conv.weight, conv.bias), strict=False):
            if tensor is not None and name in inits:
                inits[name].CopyFrom(
                    numpy_helper.from_array(tensor.detach().numpy().astype(np.float32), name)
                )
    tmp = dst.with_name(f".{dst.name}.tmp")
    onnx.save(model, str(tmp))
    tmp.replace(dst)
    return dst


def labelled_crops(split: Path, spec: StageSpec, teacher) -> tuple[list[np.ndarray], list[str], list[str]]:
    """(crops, labels, tracklet ids) of a split's numbered tracklets, as the module docstring says."""
    s = open_split(split)
    if s.gt is None:
        raise JnrError(f"{split}: no ground truth ({split.name}_gt.json or gt.json)")
    crops, labels, ids = [], [], []
    for t in s.tracklets:
        number = s.gt.get(t.id, -1)
        if number == -1:
            continue
        ims = [im for im in (decode(p) for p in t.frames) if im is not None]
        if not ims:
            continue
        for im, (text, conf) in zip(ims, teacher(ims), strict=True):
            n = parse_number(text)
            if n is not None and n != number and conf >= TEACHER_VETO:
                continue
            crops.append(im)
            labels.append(str(number))
            ids.append(t.id)
    if not crops:
        raise JnrError(f"{split}: no crops of numbered tracklets")
    return crops, labels, ids


def held_out(ids: list[str], share: float) -> np.ndarray:
    """Whole tracklets held out: crc32 of the id, so the same split on every run."""
    return np.array([zlib.crc32(i.encode()) % 1000 < share * 1000 for i in ids])


def reader(module: nn.Module, spec: StageSpec, batch: int = 128):
    """crops -> readings with ``module`` (as the shipped digit head reads them: charset confidence)."""
    read_spec = replace(spec, confidence="charset")

    def read(crops: list[np.ndarray]) -> list[tuple[str, float]]:
        module.eval()
        out = []
        with torch.inference_mode():
            for i in range(0, len(crops), batch):
                x, _ = preprocess.batch(spec, crops[i : i + batch])
                out.extend(kinds.read(read_spec, module(torch.from_numpy(x)).numpy()))
        return out

    return read


def exact(read, crops: list[np.ndarray], labels: list[str]) -> float:
    """Share of crops read as their label at a confidence the vote counts (>= 0.2)."""
    rs = read(crops)
    return sum(t == lab and c >= 0.2 for (t, c), lab in zip(rs, labels, strict=True)) / max(1, len(labels))


def _jitter(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness and contrast jitter per crop (the inputs are normalised to [-1, 1])."""
    gain = rng.uniform(0.8, 1.2, (len(x), 1, 1, 1)).astype(np.float32)
    shift = rng.uniform(-0.15, 0.15, (len(x), 1, 1, 1)).astype(np.float32)
    return np.clip(x * gain + shift, -1, 1)


def keep_crops(split: Path, stride: int = 3, seed: int = 0) -> list[np.ndarray]:
    """Torso crops of a jnr-synth split (numbered and numberless players, at jittered ground-truth
    keypoints): what the fine-tune must go on reading as the shipped model does (``finetune(keep=...)``)."""
    from jnr.runtime.torso import BASELINE
    from jnr.synth.crops import gt_torso_crops

    if not (Path(split) / "annotations").is_dir():
        raise JnrError(f"--keep {split}: not a jnr-synth split (no annotations/)")
    return [crop for crop, _, _, _ in gt_torso_crops(split, BASELINE, stride, seed)]


def finetune(
    module: nn.Module,
    spec: StageSpec,
    crops: list[np.ndarray],
    labels: list[str],
    epochs: int,
    seed: int = 0,
    lr: float = 5e-5,
    batch: int = 32,
    each_epoch=None,
    keep: list[np.ndarray] = (),
    keep_weight: float = 1.0,
) -> None:
    """CTC over the whole charset (targets: the digits' classes), Adam, one cycle; ``each_epoch(k)`` after
    each epoch (the held-out check). ``keep``: crops on which the fine-tune is pulled towards the shipped
    model's own output (learning without forgetting: KL divergence to a frozen copy, ``keep_weight``), so
    training on number crops alone does not teach it to see numbers on plain shirts."""
    import copy

    from jnr.train.loop import fit
    from jnr.train.str_ import ctc_loss

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x, _ = preprocess.batch(spec, crops)
    kx = preprocess.batch(spec, list(keep))[0] if len(keep) else None
    frozen = copy.deepcopy(module).eval() if kx is not None else None
    ctc = ctc_loss(spec, labels)
    opt = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=lr)

    def loss_of(idx: torch.Tensor) -> torch.Tensor:
        xb = torch.from_numpy(_jitter(x[idx.numpy()], rng))
        loss = ctc(module(xb).clamp_min(1e-8).log(), idx)  # the graph ends in a softmax
        if kx is None:
            return loss
        kb = torch.from_numpy(kx[rng.integers(0, len(kx), len(idx))])
        with torch.no_grad():
            ref = frozen(kb).clamp_min(1e-8)
        got = module(kb).clamp_min(1e-8)
        return loss + keep_weight * (ref * (ref.log() - got.log())).sum(-1).mean()

    # one learning-rate cycle over every epoch (a cycle per epoch would start the second at the first's
    # final rate, about 1e-9 of the peak: no training)
    fit(module, len(x), epochs, batch, loss_of, opt, clip=5.0, name="ppocr-v6-rec", each_epoch=each_epoch)

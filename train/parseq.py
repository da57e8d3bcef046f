"""Train a small PARSeq on readable torso crops, saved as a strhub-layout Lightning checkpoint (state_dict +
hyper_parameters), so it goes through the same loader, export and parity as the baseline's checkpoint.

PARSeq's permutation language modelling with two orders, left-to-right and right-to-left (strhub's
``perm_num=2, perm_mirrored=True``): for each order a content mask (what each token may see) and a query
mask (what each position's query may see, never itself); the loss averages over both.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from jnr.export.parseq import PARSeq
from jnr.train.loop import fit

SMALL = {
    "charset_train": "0123456789",
    "charset_test": "0123456789",
    "max_label_length": 2,
    "img_size": [32, 128],
    "patch_size": [8, 8],
    "embed_dim": 128,
    "enc_num_heads": 4,
    "enc_mlp_ratio": 4,
    "enc_depth": 3,
    "dec_num_heads": 4,
    "dec_mlp_ratio": 4,
    "dec_depth": 1,
    "decode_ar": True,
    "refine_iters": 1,
    "dropout": 0.1,
}


def encode(labels: list[str], model: PARSeq, charset: str) -> torch.Tensor:
    """BOS + characters + EOS, padded: strhub's Tokenizer (EOS 0, characters 1.., BOS, PAD last)."""
    pad = model.bos_id + 1
    longest = max(len(s) for s in labels) + 2
    out = torch.full((len(labels), longest), pad, dtype=torch.long)
    for i, s in enumerate(labels):
        ids = [model.bos_id, *(charset.index(c) + 1 for c in s), model.eos_id]
        out[i, : len(ids)] = torch.tensor(ids)
    return out


def attn_masks(perm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """strhub's generate_attn_masks: content and query masks for one order (BOS first, EOS last)."""
    sz = perm.shape[0]
    mask = torch.zeros((sz, sz))
    for i in range(sz):
        mask[perm[i], perm[i + 1 :]] = float("-inf")
    content = mask[:-1, :-1].clone()
    mask[torch.eye(sz, dtype=torch.bool)] = float("-inf")
    return content, mask[1:, :-1]


def orders(chars: int) -> list[torch.Tensor]:
    """Left-to-right and (for 2+ characters) right-to-left, with BOS at 0 and EOS at the end."""
    fwd = torch.arange(chars + 2)
    if chars < 2:
        return [fwd]
    rev = torch.cat([torch.tensor([0]), torch.arange(chars, 0, -1), torch.tensor([chars + 1])])
    return [fwd, rev]


def loss_fn(model: PARSeq, images: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
    memory = model.encoder(images)
    tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:]
    pad = model.bos_id + 1
    padding = (tgt_in == pad) | (tgt_in == model.eos_id)
    total = 0.0
    perms = orders(tgt.shape[1] - 2)
    for perm in perms:
        content, query = attn_masks(perm)
        n = tgt_in.shape[0]
        queries = model.pos_queries[:, : tgt_in.shape[1]].expand(n, -1, -1)
        out = model.decode(tgt_in, memory, content, padding, queries, query)
        logits = model.head(out).flatten(end_dim=1)
        total = total + F.cross_entropy(logits, tgt_out.flatten(), ignore_index=pad)
    return total / len(perms)


def train(
    x: np.ndarray,
    labels: list[str],
    epochs: int,
    seed: int,
    batch: int = 64,
    lr: float = 2e-3,
    synthetic: int = 0,
    side: str = "train",
) -> tuple[PARSeq, dict]:
    """A fresh small PARSeq trained on preprocessed crops (N, 3, 32, 128) and, per epoch, ``synthetic``
    crops drawn fresh from the endless digit-crop stream (synth.digits, fonts of ``side``), mixed in
    random order; returns the model and its hparams."""
    from jnr.runtime import preprocess
    from jnr.runtime.specs import get_spec
    from jnr.synth.digits import digit_crop

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    spec = get_spec("parseq")
    hp = dict(SMALL)
    model = PARSeq(hp)
    nn.init.trunc_normal_(model.pos_queries, std=0.02)
    charset = hp["charset_train"]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    n_real = len(x)

    def loss_of(idx: torch.Tensor) -> torch.Tensor:
        images, texts = [], []
        for i in idx.tolist():
            if i < n_real:
                images.append(x[i])
                texts.append(labels[i])
            else:
                crop, text = digit_crop(rng, side)
                images.append(preprocess.prepare(spec, crop)[0])
                texts.append(text)
        return loss_fn(model, torch.from_numpy(np.stack(images)), encode(texts, model, charset))

    fit(model, n_real + synthetic, epochs, batch, loss_of, opt, clip=1.0, name="parseq", pct_start=0.1)
    return model.eval(), hp


def save(model: PARSeq, hp: dict, path) -> None:
    """strhub's Lightning layout, loadable by jnr.export.parseq.load_parseq (and by strhub)."""
    sd = {k: v for k, v in model.state_dict().items()}
    torch.save({"state_dict": sd, "hyper_parameters": hp, "epoch": 0}, path)

"""Regenerate parseq-tiny.ckpt and parseq-tiny-ref.npz with strhub itself (pip install ORE-strhub==0.0.1
pytorch-lightning==1.9.5 'setuptools<70' nltk timm): a small random PARSeq made by strhub's code, saved in
the Lightning layout, and strhub's ``model(images)`` on fixed images. tests/export/test_parseq.py compares
jnr's PARSeq with these where strhub is not installed (and with strhub live where it is)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

CHARSET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
TINY = dict(
    embed_dim=48, enc_num_heads=2, enc_mlp_ratio=2, enc_depth=1, dec_num_heads=2, dec_mlp_ratio=2, dec_depth=1
)


def strhub_parseq(seed: int = 0, eos_bias: float = 2.0, **over):
    """A strhub PARSeq (random init), its EOS logit raised so readings end within 3 positions."""
    from strhub.models.parseq.system import PARSeq

    hp = dict(
        charset_train=CHARSET, charset_test="0123456789", max_label_length=25, batch_size=8, lr=1e-3,
        warmup_pct=0.1, weight_decay=0.0, img_size=[32, 128], patch_size=[4, 8], perm_num=6,
        perm_forward=True, perm_mirrored=True, decode_ar=True, refine_iters=1, dropout=0.1, **TINY,
    )  # fmt: skip
    hp.update(over)
    torch.manual_seed(seed)
    model = PARSeq(**hp).eval()
    with torch.no_grad():
        model.head.bias[0] += eos_bias
    return model


def save_checkpoint(model, path: Path, prefix: str = "") -> Path:
    """The Lightning layout: state_dict + hyper_parameters (``prefix`` "model." for newer strhub)."""
    sd = {prefix + k: v for k, v in model.state_dict().items()}
    torch.save({"state_dict": sd, "hyper_parameters": dict(model.hparams), "epoch": 0}, path)
    return path


def images(n: int = 8, seed: int = 1) -> np.ndarray:
    """uint8 NCHW noise images (stored as such; normalised with 0.5 / 0.5 like the baseline)."""
    return np.random.default_rng(seed).integers(0, 256, (n, 3, 32, 128), dtype=np.uint8)


def normalise(x: np.ndarray) -> np.ndarray:
    return ((x.astype(np.float32) / 255.0) - 0.5) / 0.5


if __name__ == "__main__":
    here = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    model = strhub_parseq()
    save_checkpoint(model, here / "parseq-tiny.ckpt")
    raw = images()
    x = torch.from_numpy(normalise(raw))
    with torch.no_grad():
        ref = {
            "images": raw,
            "default": model(x)[:, :3].numpy(),
            "max_length_2": model(x, max_length=2).numpy(),
        }
    np.savez_compressed(here / "parseq-tiny-ref.npz", **ref)
    print("wrote", here)

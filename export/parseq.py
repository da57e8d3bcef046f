"""PARSeq (Bautista & Atienza, ECCV 2022) as strhub's Lightning checkpoints hold it, with a forward unrolled
for jersey numbers: the baseline's STR (Koshkina & Elder) and the seed's.

The modules mirror strhub's (same parameter names, so a checkpoint's ``state_dict`` loads as is; the
encoder is timm's VisionTransformer, as in strhub). :meth:`PARSeq.forward` is strhub's ``forward`` with
its loops unrolled over the checkpoint's ``max_label_length`` + 1 steps and no data-dependent exit:
autoregressive greedy decoding over all classes, then the checkpoint's cloze refinement passes with keys
after the first EOS masked, the last pass querying only the ``POSITIONS`` = 3 the vote reads (two digits +
EOS). Refinement sees every token decoded before the first EOS, however far it is, so the first 3
positions equal strhub's ``model(images)`` on every row (strhub stops decoding once every row of a batch
has an EOS; tokens after a row's EOS are masked, so that stop changes nothing). An earlier version unrolled
only 3 steps, and refinement then missed the tokens of longer readings (tests/export/test_parseq.py has
such rows). The output keeps the model's layout cut to what the vote reads: (N, 3, 11) logits, class 0 =
EOS, classes 1-10 = '0'..'9'.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from jnr.runtime.errors import JnrError

POSITIONS = 3
DIGITS = "0123456789"
HPARAMS = (
    "charset_train",
    "max_label_length",
    "img_size",
    "patch_size",
    "embed_dim",
    "enc_num_heads",
    "enc_mlp_ratio",
    "enc_depth",
    "dec_num_heads",
    "dec_mlp_ratio",
    "dec_depth",
)


class DecoderLayer(nn.Module):
    """strhub's two-stream (query, content) pre-LN decoder layer."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm_q = nn.LayerNorm(d_model)
        self.norm_c = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)

    def stream(self, tgt: Tensor, tgt_norm: Tensor, kv: Tensor, memory: Tensor, mask, padding) -> Tensor:
        tgt = tgt + self.dropout1(
            self.self_attn(tgt_norm, kv, kv, attn_mask=mask, key_padding_mask=padding)[0]
        )
        tgt = tgt + self.dropout2(self.cross_attn(self.norm1(tgt), memory, memory)[0])
        return tgt + self.dropout3(self.linear2(self.dropout(F.gelu(self.linear1(self.norm2(tgt))))))

    def forward(self, query, content, memory, query_mask, content_mask, padding, update_content: bool):
        query_norm, content_norm = self.norm_q(query), self.norm_c(content)
        query = self.stream(query, query_norm, content_norm, memory, query_mask, padding)
        if update_content:
            content = self.stream(content, content_norm, content_norm, memory, content_mask, padding)
        return query, content


class Decoder(nn.Module):
    def __init__(self, layers: list[DecoderLayer], norm: nn.LayerNorm) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.norm = norm

    def forward(self, query, content, memory, query_mask=None, content_mask=None, padding=None) -> Tensor:
        for i, layer in enumerate(self.layers):
            last = i == len(self.layers) - 1
            query, content = layer(query, content, memory, query_mask, content_mask, padding, not last)
        return self.norm(query)


class TokenEmbedding(nn.Module):
    def __init__(self, size: int, embed_dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(size, embed_dim)
        self.scale = math.sqrt(embed_dim)

    def forward(self, tokens: Tensor) -> Tensor:
        return self.scale * self.embedding(tokens)


def _encoder(hp: dict) -> nn.Module:
    from timm.models.vision_transformer import VisionTransformer

    class Encoder(VisionTransformer):
        def forward(self, x: Tensor) -> Tensor:  # every token, as strhub's Encoder
            return self.forward_features(x)

    return Encoder(
        img_size=tuple(hp["img_size"]),
        patch_size=tuple(hp["patch_size"]),
        embed_dim=hp["embed_dim"],
        depth=hp["enc_depth"],
        num_heads=hp["enc_num_heads"],
        mlp_ratio=hp["enc_mlp_ratio"],
        qkv_bias=True,
        num_classes=0,
        global_pool="",
        class_token=False,
    )


class PARSeq(nn.Module):
    """strhub's PARSeq; ``forward`` gives (N, 3, 11) logits of EOS and the ten digits."""

    def __init__(self, hp: dict) -> None:
        super().__init__()
        charset = hp["charset_train"]
        missing = [d for d in DIGITS if d not in charset]
        if missing:
            raise JnrError(f"this PARSeq's charset has no {''.join(missing)}: it cannot read jersey numbers")
        d = hp["embed_dim"]
        self.encoder = _encoder(hp)
        layers = [
            DecoderLayer(d, hp["dec_num_heads"], d * hp["dec_mlp_ratio"], hp.get("dropout", 0.1))
            for _ in range(hp["dec_depth"])
        ]
        self.decoder = Decoder(layers, nn.LayerNorm(d))
        self.head = nn.Linear(d, len(charset) + 1)  # EOS + charset (BOS and PAD are never predicted)
        self.text_embed = TokenEmbedding(len(charset) + 3, d)
        self.pos_queries = nn.Parameter(torch.zeros(1, hp["max_label_length"] + 1, d))
        self.dropout = nn.Dropout(hp.get("dropout", 0.1))
        self.eos_id, self.bos_id = 0, len(charset) + 1
        self.decode_ar = bool(hp.get("decode_ar", True))
        self.refine_iters = int(hp.get("refine_iters", 1))
        self.steps = int(hp["max_label_length"]) + 1  # + EOS, as strhub decodes
        kept = [0] + [charset.index(c) + 1 for c in DIGITS]
        self.register_buffer("kept", torch.tensor(kept, dtype=torch.long), persistent=False)

    def decode(self, tgt, memory, tgt_mask=None, padding=None, query=None, query_mask=None) -> Tensor:
        """strhub's PARSeq.decode: BOS is the null context; the other tokens get position queries."""
        null_ctx = self.text_embed(tgt[:, :1])
        emb = self.pos_queries[:, : tgt.shape[1] - 1] + self.text_embed(tgt[:, 1:])
        emb = self.dropout(torch.cat([null_ctx, emb], dim=1))
        return self.decoder(self.dropout(query), emb, memory, query_mask, tgt_mask, padding)

    def forward(self, images: Tensor) -> Tensor:
        memory = self.encoder(images)
        n = images.shape[0]
        steps = self.steps
        pos = self.pos_queries[:, :steps].expand(n, -1, -1)
        causal = torch.triu(torch.full((steps, steps), float("-inf"), device=images.device), 1)
        bos = torch.full((n, 1), self.bos_id, dtype=torch.long, device=images.device)
        if self.decode_ar:
            tgt, outs = bos, []
            for i in range(steps):
                out = self.decode(
                    tgt, memory, causal[: i + 1, : i + 1], None, pos[:, i : i + 1], causal[i : i + 1, : i + 1]
                )
                outs.append(self.head(out))
                if i + 1 < steps:  # greedy over every class; [:, 0], not squeeze(): batch 1 stays 2-D
                    tgt = torch.cat([tgt, outs[-1][:, 0].argmax(-1, keepdim=True)], dim=1)
            logits = torch.cat(outs, dim=1)
        else:
            logits = self.head(self.decode(bos, memory, None, None, pos))
        if self.refine_iters:
            # cloze: every position sees all tokens but its own (and none after the first EOS); the context
            # is every token decoded, so a position sees what strhub's does however far the first EOS is
            cloze = causal.masked_fill(torch.ones_like(causal, dtype=torch.bool).triu(2), 0.0)
            for i in range(self.refine_iters):
                tgt = torch.cat([bos, logits[:, :-1].argmax(-1)], dim=1)
                padding = (tgt == self.eos_id).cumsum(-1) > 0
                q = steps if i + 1 < self.refine_iters else POSITIONS  # the last pass: only what is read
                logits = self.head(self.decode(tgt, memory, causal, padding, pos[:, :q], cloze[:q]))
        return logits[:, :POSITIONS].index_select(-1, self.kept)


def _checkpoint(path: Path) -> dict:
    if not path.is_file():
        raise JnrError(f"PARSeq checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as first:  # Lightning checkpoints may pickle config objects: a second, trusting try
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=False)
        except Exception:
            raise JnrError(
                f"{path} does not load as a checkpoint (truncated or not a PyTorch file): "
                f"{type(first).__name__}: {str(first).splitlines()[0] if str(first) else ''}"
            ) from None
        warnings.warn(f"{path} needed full unpickling to load: use only checkpoints you trust", stacklevel=2)
        return ckpt


def load_parseq(path: Path) -> PARSeq:
    """A strhub PARSeq Lightning checkpoint: hyper-parameters from the checkpoint, weights under ``encoder.*``
    (the 2022-23 strhub the baseline vendors) or ``model.encoder.*`` (newer strhub)."""
    ckpt = _checkpoint(path)
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or "hyper_parameters" not in ckpt:
        raise JnrError(f"{path} is not a Lightning checkpoint (no state_dict / hyper_parameters)")
    hp = dict(ckpt["hyper_parameters"])
    sd = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items()}
    lacking = [k for k in HPARAMS if k not in hp]
    if lacking or "pos_queries" not in sd or "text_embed.embedding.weight" not in sd:
        raise JnrError(
            f"{path} is not a PARSeq checkpoint (missing {', '.join(lacking) or 'pos_queries / text_embed'})"
        )
    model = PARSeq(hp)
    try:
        model.load_state_dict(sd)
    except RuntimeError as e:
        raise JnrError(f"{path} does not fit PARSeq: {str(e).splitlines()[0]}") from None
    return model.eval()

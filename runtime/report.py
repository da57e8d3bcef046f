"""``jnr-run --report report.html``: one self-contained page (no server, no external files) showing why each
tracklet got its number: the summary, the per-stage time chart, then every tracklet (misses first when
ground truth exists) with its funnel, the vote's candidates and a strip of its crops as inline JPEGs."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path

import cv2
import numpy as np

from jnr.runtime.score import Score, reliability
from jnr.runtime.stage import TIMED, Stats
from jnr.runtime.tracks import Result

JPEG_QUALITY = 70
FUNNEL = ("frames", "person", "torso", "legible", "read")
STYLE = """
body{font:14px system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px} h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse} td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #ddd}
th:first-child,td:first-child{text-align:left}
.t{border:1px solid #ccc;border-radius:6px;padding:8px 12px;margin:10px 0}
.miss{border-color:#c33;background:#fff6f6} .ok{border-color:#3a3}
.strip{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px}
.c{font-size:11px;text-align:center} .c img{display:block;height:64px;border:1px solid #999}
.rej img{opacity:.55;border-style:dashed}
.bar{display:inline-block;height:12px;background:#4a7fc1;vertical-align:middle}
.f span{margin-right:14px}
"""


def _img(rgb: np.ndarray) -> str:
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    )
    return (
        f'<img alt="crop" src="data:image/jpeg;base64,{base64.b64encode(buf.tobytes()).decode()}">'
        if ok
        else ""
    )


def _summary(s: Score | None, n: int) -> str:
    if s is None:
        return f"<p>{n} tracklets; no ground truth in the split, so no accuracy.</p>"
    rows = [("all", s.n, s.accuracy), ("-1 (no number)", s.n_illegible, s.acc_illegible)]
    rows.append(("numbered", s.n_numbered, s.acc_numbered))
    body = "".join(
        f"<tr><td>{k}</td><td>{m}</td><td>{'-' if a is None else f'{a:.2%}'}</td></tr>" for k, m, a in rows
    )
    conf = ", ".join(f"{g} &rarr; {p} &times;{c}" for g, p, c in s.confusions) or "none"
    return (
        f"<table><tr><th>subset</th><th>tracklets</th><th>accuracy</th></tr>{body}</table>"
        f"<p>Top confusions (truth &rarr; prediction): {conf}</p>"
    )


def _reliability(results: list[Result], gt: dict[str, int]) -> str:
    """The answers' confidence against how often they were right, in equal-width bins."""
    rel = reliability([(gt[r.tracklet] == r.number, r.confidence) for r in results if r.tracklet in gt])
    if not rel["n"]:
        return ""
    body = "".join(
        f"<tr><td>{b['bin'][0]:.1f}-{b['bin'][1]:.1f}</td><td>{b['n']}</td><td>{b['confidence']:.2f}</td>"
        f"<td>{b['right']:.2f}</td></tr>"
        for b in rel["bins"]
    )
    return (
        "<h2>Reliability of the confidence</h2><table><tr><th>confidence</th><th>answers</th>"
        f"<th>mean confidence</th><th>right</th></tr>{body}</table>"
        f"<p>Expected calibration error {rel['ece']:.3f} over {rel['n']} answers.</p>"
    )


def _times(stats: Stats, n: int) -> str:
    per = {k: stats.seconds[k] / max(n, 1) for k in TIMED}
    top = max([*per.values(), 1e-9])
    rows = "".join(
        f'<tr><td>{k}</td><td>{v:.4f}</td><td style="text-align:left"><span class="bar" '
        f'style="width:{300 * v / top:.0f}px"></span></td></tr>'
        for k, v in per.items()
    )
    return (
        f"<table><tr><th>stage</th><th>s/tracklet</th><th></th></tr>{rows}"
        f"<tr><td>total (wall)</td><td>{stats.wall / max(n, 1):.4f}</td><td></td></tr></table>"
    )


def _tracklet(r: Result, truth: int | None) -> str:
    f = r.funnel
    miss = truth is not None and truth != r.number
    cls = "miss" if miss else ("ok" if truth is not None else "")
    head = (
        f"<b>{html.escape(r.tracklet)}</b>: predicted <b>{r.number}</b> (confidence {f.confidence:.2f}, "
        f"--vote {html.escape(f.vote)})"
    )
    if truth is not None:
        head += f", truth <b>{truth}</b>" + (" (miss)" if miss else "")
    funnel = " &rarr; ".join(f"{getattr(f, k)} {k}" for k in FUNNEL)
    cands = ", ".join(f"{n}: {v:.2f}" for n, v in f.candidates) or "none"
    note = " (ball filter)" if f.ball else ""
    if f.skipped:
        note += f"; {f.skipped} frames not fed (the vote was settled)"
    if f.unread_text:
        note += f"; {f.unread_text} crops with text read as no number"
    if f.edge:
        note += f"; {f.edge} one-digit readings were a stroke at the crop's side (not read in its middle)"
    if f.error:
        note += f"; failed: {html.escape(f.error)}"
    cells = "".join(
        f'<div class="c">{_img(im)}{html.escape(t) or "&empty;"} {c:.2f}</div>' for im, t, c in r.shown
    )
    cells += "".join(f'<div class="c rej">{_img(im)}rejected {p:.2f}</div>' for im, p in r.rejected)
    return (
        f'<div class="t {cls}" id="t-{html.escape(r.tracklet)}"><div>{head}{note}</div>'
        f'<div class="f">{funnel}; vote sums (weighted, win &gt; 1.0): {cands}</div>'
        f'<div class="strip">{cells}</div></div>'
    )


def render(
    results: list[Result],
    gt: dict[str, int] | None,
    s: Score | None,
    stats: Stats,
    title: str,
    stills: list[np.ndarray] = (),
) -> str:
    """The page as one HTML string; ``stills``: a few annotated frames (jnr-video's), shown first."""
    gt = gt or {}
    order = sorted(results, key=lambda r: (not (r.tracklet in gt and gt[r.tracklet] != r.number), r.tracklet))
    body = "".join(_tracklet(r, gt.get(r.tracklet)) for r in order)
    n = len(results)
    frames = "".join(f'<div class="c">{_img(im)}</div>' for im in stills)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        + (f'<h2>Annotated frames</h2><div class="strip">{frames}</div>' if stills else "")
        + f"<h2>Summary</h2>{_summary(s, n)}{_reliability(results, gt)}"
        f"<h2>Seconds per tracklet</h2>{_times(stats, n)}"
        f"<h2>Tracklets{' (misses first)' if gt else ''}</h2>"
        "<p>Each: frames &rarr; frames with a person &rarr; torso crops &rarr; legible (the gate passed "
        "them; the text detector: text found) &rarr; readings that are a jersey number; a strip of read "
        "crops (reading, confidence) and some the gate did not pass (dashed, its score; the detector's are "
        f"still read whole, counting only at confidence 0.9).</p>{body}</body></html>"
    )


def write(path: Path, page: str) -> None:
    """Atomically: a reader never sees half a page."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)

"""How jnr-bench shows its rows: the table (the defaults' row first, in bold) and the stacked-bar plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.table import Table

from jnr.benchmarks.rows import HEADLINE
from jnr.runtime.stage import TIMED


def table(results: dict, floor: dict) -> Table:
    t = Table(title="seconds per tracklet (median); speed-up vs torch; first row: the defaults")
    t.add_column("backend")
    for k in (*TIMED, "total"):
        t.add_column(k, justify="right")
    for c in ("frames/s", "speed-up", "accuracy", "agree"):
        t.add_column(c, justify="right")
    base = results.get("torch", {}).get("sec_per_tracklet", {}).get("total")
    for name, r in results.items():
        s = r["sec_per_tracklet"]
        cells = [f"{s[k]:.3f}" for k in (*TIMED, "total")]
        up = f"{base / s['total']:.1f}x" if base else "-"
        acc = "-" if r.get("accuracy") is None else f"{r['accuracy']:.1%}"
        agree = "-" if r.get("agreement") is None else f"{r['agreement']:.1%}"
        label = f"{name} ({r['backend']}, {r['frames_mode']})" if name == HEADLINE else name
        t.add_row(
            label,
            *cells,
            f"{r['split_frames_per_second']:.0f}",
            up,
            acc,
            agree,
            style="bold" if name == HEADLINE else None,
        )
    t.caption = (
        "frames/s: the split's frames per second of wall time (frames an early exit skips count as done)"
    )
    if floor:
        t.caption += "; floor at measured matmul peak (s/tracklet): " + ", ".join(
            f"{k} {v:.4f}" for k, v in floor.items()
        )
    return t


def _speed_up(results: dict, name: str) -> float | None:
    base = results.get("torch", {}).get("sec_per_tracklet", {}).get("total")
    return base / results[name]["sec_per_tracklet"]["total"] if base else None


def chart(results: dict, png: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, ax = plt.subplots(figsize=(1.6 * len(names) + 3, 4.5))
    bottom = np.zeros(len(names))
    for k in TIMED:
        v = np.array([results[n]["sec_per_tracklet"][k] for n in names])
        ax.bar(names, v, bottom=bottom, label=k)
        bottom += v
    for i, n in enumerate(names):
        r = results[n]
        acc = "" if r.get("accuracy") is None else f"\n{r['accuracy']:.0%}"
        ax.text(
            i,
            r["sec_per_tracklet"]["total"],
            f"{r['sec_per_tracklet']['total']:.2f}s\n{r['split_frames_per_second']:.0f} fr/s{acc}",
            ha="center",
            va="bottom",
            fontsize=8,
            fontweight="bold" if n == HEADLINE else "normal",
        )
    if HEADLINE in names:
        ax.get_xticklabels()[names.index(HEADLINE)].set_fontweight("bold")
    ax.set_ylim(0, 1.22 * max(results[n]["sec_per_tracklet"]["total"] for n in names))  # room for the labels
    ax.set_ylabel("seconds per tracklet")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)

"""``jnr-eval`` and ``jnr-data``: scoring and dataset download (lean: no torch)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from jnr.runtime.data import load_labels
from jnr.runtime.errors import JnrError
from jnr.runtime.score import Score, score

console = Console(stderr=True)


def stdout_console() -> Console:
    """Console for result tables: full tables even when stdout is a pipe or a file."""
    return Console(width=None if sys.stdout.isatty() else 160)


eval_app = typer.Typer(
    add_completion=False, help="Score predictions as SoccerNet does: exact match, -1 a class."
)
data_app = typer.Typer(add_completion=False, help="Get SoccerNet jersey-2023 data.", no_args_is_help=True)


def score_table(s: Score, title: str = "accuracy") -> Table:
    t = Table(title=title)
    for c in ("subset", "tracklets", "accuracy"):
        t.add_column(c, justify="right" if c != "subset" else "left")
    t.add_row("all", str(s.n), f"{s.accuracy:.2%}")
    t.add_row(
        "-1 (no number)", str(s.n_illegible), "-" if s.acc_illegible is None else f"{s.acc_illegible:.2%}"
    )
    t.add_row("numbered", str(s.n_numbered), "-" if s.acc_numbered is None else f"{s.acc_numbered:.2%}")
    if s.confusions:
        t.caption = "top confusions (gt->pred x count): " + ", ".join(
            f"{g}->{p} x{c}" for g, p, c in s.confusions[:6]
        )
    return t


@eval_app.command()
def evaluate(
    pred: Annotated[Path, typer.Argument(help="Predictions JSON {tracklet_id: number}")],
    gt: Annotated[Path, typer.Argument(help="Ground truth JSON, same format")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the breakdown as JSON")] = None,
) -> None:
    """Print accuracy with the -1 / numbered breakdown and the most frequent confusions."""
    s = score(load_labels(pred, "predictions"), load_labels(gt))
    stdout_console().print(score_table(s))
    if json_out:
        json_out.write_text(json.dumps(s.to_dict(), indent=1))


@data_app.command()
def download(
    split: Annotated[str, typer.Option(help="train, test or challenge")] = "test",
    out: Annotated[Path, typer.Option(help="Root folder; the split lands in OUT/SPLIT")] = Path("data"),
) -> None:
    """Download a split with the official SoccerNet package and unzip it into OUT/SPLIT."""
    from jnr.runtime.download import download as fetch

    console.print(f"split ready: {fetch(split, out)}")


@data_app.command()
def unpack(
    zip_path: Annotated[Path, typer.Argument(help="A downloaded split zip")],
    split: Annotated[str, typer.Option(help="Split name")] = "test",
    out: Annotated[Path, typer.Option(help="Root folder")] = Path("data"),
) -> None:
    """Unzip an already downloaded split into OUT/SPLIT."""
    from jnr.runtime.download import unpack as do_unpack

    console.print(f"split ready: {do_unpack(zip_path, out, split)}")


def timing_table(stats, n: int, title: str) -> Table:
    """Seconds per tracklet (or track) per stage, with each stage's share of the wall time."""
    from jnr.runtime.stage import TIMED

    t = Table(title=title)
    t.add_column("stage")
    t.add_column("sec/tracklet", justify="right")
    t.add_column("share", justify="right")
    total = max(stats.wall, 1e-9)
    for k in TIMED:
        t.add_row(k, f"{stats.seconds[k] / max(n, 1):.4f}", f"{stats.seconds[k] / total:.0%}")
    t.add_row("total (wall)", f"{stats.wall / max(n, 1):.4f}", "100%")
    return t


def show_warnings(caught: list) -> None:
    """Warnings recorded during a run (unreadable frames, failed tracklets), one yellow line each."""
    for w in caught:
        console.print(f"[yellow]warning:[/yellow] {w.message}", soft_wrap=True)


def guarded(app: typer.Typer) -> None:
    """Run a typer app, turning JnrError into one red line and exit code 2."""
    try:
        app()
    except JnrError as e:
        console.print(f"[red]error:[/red] {e}", soft_wrap=True)
        raise SystemExit(e.exit_code) from None


def eval_main() -> None:
    guarded(eval_app)


def data_main() -> None:
    guarded(data_app)

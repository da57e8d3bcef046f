"""``jnr-synth``: generate synthetic tracklets in the SoccerNet jersey-2023 layout."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jnr.runtime.cli import stdout_console
from jnr.synth.write import write_split

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)


@app.command()
def synth(
    out: Annotated[Path, typer.Argument(help="Output root; the split goes to OUT/SPLIT")],
    split: Annotated[str, typer.Option(help="Split name: train, test, challenge, ...")] = "test",
    tracklets: Annotated[int, typer.Option(min=1, help="Number of tracklets")] = 100,
    frames: Annotated[tuple[int, int], typer.Option(help="Frames per tracklet: LO HI")] = (50, 400),
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same data")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="Processes")] = min(2, os.cpu_count() or 1),
    preview: Annotated[Path | None, typer.Option(help="Also write a PNG grid of sample frames")] = None,
    styles: Annotated[
        str,
        typer.Option(
            help="train: the training fonts, shirt patterns and number styles; unseen: only the held-out "
            "ones (the split defaults are chosen on); all: both"
        ),
    ] = "all",
    drawing: Annotated[
        str,
        typer.Option(
            help="flat: synth.tracklet's figures (and its style table); shaded: a structurally different "
            "drawing (lit 3D bodies, curved prints, its own glyphs, broadcast camera) to test defaults across"
        ),
    ] = "flat",
    readable_share: Annotated[
        float | None,
        typer.Option(
            help="Show each numbered tracklet's number in only this share of its frames (runs of at most "
            "12; the rest replaced by its own numberless frames), as footage where numbers are rarely "
            "in view: e.g. 0.05"
        ),
    ] = None,
    stats: Annotated[
        bool, typer.Option(help="Compare sizes and number placement with real SoccerNet")
    ] = False,
) -> None:
    """Render TRACKLETS synthetic players into OUT/SPLIT/images/<id>/<id>_<frame>.jpg with
    OUT/SPLIT/SPLIT_gt.json and per-frame annotations in OUT/SPLIT/annotations/<id>.json."""
    try:
        with Progress(
            TextColumn("[bold]synth"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as bar:
            task = bar.add_task("tracklets", total=tracklets)
            split_dir = write_split(
                out,
                split,
                tracklets,
                frames,
                seed,
                workers,
                on_done=lambda *_: bar.advance(task),
                styles=styles,
                drawing=drawing,
                readable_share=readable_share,
            )
    except (ValueError, OSError) as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    console.print(f"wrote {tracklets} tracklets to {split_dir}")
    from jnr.synth.styles import DEBIAN_FONTS, FAMILIES, missing_families

    if missing := missing_families():
        console.print(
            f"[yellow]note:[/yellow] {len(missing)} of {len(FAMILIES)} font families are not installed "
            f"({', '.join(missing[:4])}{'...' if len(missing) > 4 else ''}); for the full style table: "
            f"apt-get install {DEBIAN_FONTS}"
        )
    if stats:
        stdout_console().print(stats_table(split_dir))
    if preview is not None:
        write_preview(split_dir, preview)
        console.print(f"preview grid: {preview}")


def stats_table(split_dir: Path) -> Table:
    """Percentiles of the split's readable frames next to the real SoccerNet figures."""
    from jnr.synth.stats import compare

    t = Table(title=f"{split_dir}: readable frames vs real SoccerNet (REFERENCE.md)")
    for c in ("quantity", "percentiles", "real", "synthetic"):
        t.add_column(c)
    for r in compare(split_dir):
        t.add_row(*(", ".join(map(str, r[k])) if isinstance(r[k], list) else r[k] for k in r))
    return t


def write_preview(split_dir: Path, png: Path, tracklets: int = 12, per: int = 8) -> None:
    """A grid: one row per tracklet, ``per`` frames spread over its length."""
    from jnr.runtime.data import open_split
    from jnr.synth.tracklet import preview_image

    split = open_split(split_dir)
    jpegs = []
    for t in split.tracklets[:tracklets]:
        step = max(1, len(t.frames) // per)
        jpegs += [p.read_bytes() for p in t.frames[::step][:per]]
    preview_image(jpegs, cols=per).save(png)


def main() -> None:
    app()

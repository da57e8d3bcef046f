"""The command-line options every command that runs the pipeline shares (jnr-run, jnr-video, jnr-bench,
the profiler), declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jnr.runtime.decision import DECISION_RULES, DEFAULT_VOTE
from jnr.runtime.plan import CHOICES
from jnr.runtime.specs import STARTS
from jnr.runtime.torso import TORSO_RULES

# the defaults every command takes (jnr-run, jnr-video, jnr-bench, the profiler, the Python API)
FRAMES = "settled"
START = "pose"
VOTE = DEFAULT_VOTE

Engines = Annotated[Path, typer.Option(help="Folder with manifest.json from jnr-export")]
Backend = Annotated[str, typer.Option(help="|".join(CHOICES))]
Batch = Annotated[int, typer.Option(min=1, help="Crops per model call")]
Precision = Annotated[
    str,
    typer.Option(
        help="auto|fp32|fp16|int8 (ONNX Runtime; auto: int8 on CPU where the export chose it) or "
        "f32|bf16|f16 (--backend ov-cpu; auto: the export's choice per stage)"
    ),
]
Threads = Annotated[int | None, typer.Option(help="Inference threads (default: physical cores)")]
Rule = Annotated[
    str | None,
    typer.Option(
        help=f"Torso crop rule: {'|'.join(TORSO_RULES)} (default: the engines' preset, else baseline)"
    ),
]
Frames = Annotated[
    str,
    typer.Option(
        help="all: every frame; exact: stop feeding a tracklet once no remaining frame can change its answer "
        "(same answers as all); settled: also stop on a clear lead, or on -1 once the frames seen cover the "
        "tracklet and no number is on course for the decision (README; a clip's track never settles -1); N: "
        "the first N frames, coarse to fine (jnr-bench's torch row reads every frame)"
    ),
]
Workers = Annotated[int, typer.Option(min=1, help="Decode threads")]
Vote = Annotated[
    str,
    typer.Option(
        help=f"Decision rule: {'|'.join(DECISION_RULES)} (default {DEFAULT_VOTE}: readings weighed by where "
        "they sit and how much of the tracklet agrees; baseline: the published vote exactly)"
    ),
]
Start = Annotated[
    str,
    typer.Option(
        help=f"What the frames are: {'|'.join(STARTS)}: full players (pose), torso crops (the gate), tight "
        "number crops (the recognizer and the decision alone)"
    ),
]

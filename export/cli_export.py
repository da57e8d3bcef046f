"""``jnr-export``: ONNX (FP32, and FP16 with --fp16) and TensorRT engines for the three stages, checked
for parity against PyTorch, recorded in OUT/manifest.json."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from jnr.export.steps import OPSET
from jnr.runtime.cli import guarded, stdout_console
from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import Manifest
from jnr.runtime.specs import DEFAULTS, MAX_BATCH, SPECS, STAGES, StageSpec, get_spec
from jnr.runtime.torso import TORSO_RULES, get_torso_rule

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)


# Published pipelines in one word: models per stage (None: jnr's default) and the torso rule.
PRESETS: dict[str, dict[str, str | None]] = {
    # Koshkina & Elder: COCO pose (ViTPose there, COCO YOLO pose here), their torso rule, ResNet34, PARSeq
    "baseline": {"pose": None, "legibility": "legibility-resnet34", "str": "parseq", "rule": "baseline"},
    # the seed project: yolo11s-pose (downloads where online), its torso rule, the light CNN, PARSeq
    "seed": {"pose": "yolo11s-pose.pt", "legibility": "legibility-cnn", "str": "parseq", "rule": "seed"},
}


def apply_preset(
    preset: str | None,
    pose: str | None,
    legibility: str | None,
    str_: str | None,
    weights: dict[str, str | None],
) -> tuple[dict[str, str | None], str | None]:
    """Per stage ``NAME[=WEIGHTS]`` (explicit options win over the preset) and the preset's torso rule;
    ``weights`` ({"legibility": PATH, "str": PATH}) attach to the chosen model names."""
    p = PRESETS.get(preset or "", {})
    if preset and not p:
        raise JnrError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    chosen = {
        "pose": pose or p.get("pose"),
        "legibility": legibility or p.get("legibility"),
        "str": str_ or p.get("str"),
    }
    for stage, w in weights.items():
        if w:
            name = (chosen[stage] or DEFAULTS[stage]).partition("=")[0]
            chosen[stage] = f"{name}={w}"
    return chosen, p.get("rule")


def choose(stage: str, value: str | None) -> tuple[StageSpec, str]:
    """``NAME``, ``NAME=WEIGHTS`` or ``WEIGHTS`` (for the stage's default model) -> (spec, weights)."""
    if value is None:
        spec = get_spec(DEFAULTS[stage])
        return spec, spec.weights
    name, _, weights = value.partition("=")
    if name in SPECS:
        spec = SPECS[name]
        if spec.stage != stage:
            raise JnrError(f"{name} is a {spec.stage} model, not a {stage} model")
        return spec, weights or spec.weights
    if weights:
        raise JnrError(f"unknown {stage} model {name!r}; known: {_names(stage)}")
    return get_spec(DEFAULTS[stage]), value


def _names(stage: str) -> str:
    return "|".join(n for n, s in SPECS.items() if s.stage == stage)


def check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out):
            pass
    except OSError as e:
        raise JnrError(f"output folder {out} is not writable: {e.strerror or e}") from None


def engine_builder(out: Path, version_compatible: bool):
    """A function building TensorRT engines, or None with the reason, where TensorRT or a GPU is missing."""
    if not importlib.util.find_spec("tensorrt"):
        return None, "TensorRT is not installed"
    from jnr.export.trt_build import engine_from_onnx, gpu_available, gpu_identity

    ok, why = gpu_available()
    if not ok:
        return None, why
    from jnr.export.exporter import artifact

    def build(onnx_path: Path, spec: StageSpec, input_name: str) -> dict:
        path = onnx_path.with_suffix(".engine")
        engine_from_onnx(
            onnx_path,
            path,
            input_name,
            (spec.channels, *spec.input_hw),
            spec.max_batch,
            out / "timing.cache",
            version_compatible,
            (spec.channels, *spec.tight().input_hw),
        )
        return artifact(path, version_compatible=version_compatible, **gpu_identity())

    return build, gpu_identity()


@app.command()
def export(
    fp16: Annotated[
        bool, typer.Option("--fp16/--fp32", help="Also make FP16 ONNX; engines are built from it")
    ] = False,
    int8: Annotated[
        bool,
        typer.Option(
            help="Also make static INT8 ONNX (calibrated on synthetic crops); ONNX Runtime on CPU uses it "
            "per stage where it passes parity and is faster here"
        ),
    ] = False,
    openvino: Annotated[
        bool | None,
        typer.Option(
            "--openvino/--no-openvino",
            help="Try each stage on OpenVINO (f32, and bf16 / f16 where the CPU has units for them): parity "
            "and time against ONNX Runtime; --backend ov-cpu runs the passing precision, auto (--backend "
            "cpu) each stage where it is faster. Default: where OpenVINO is installed",
            show_default=False,
        ),
    ] = None,
    pose: Annotated[
        str | None, typer.Option(help="Pose: a .pt path or ultralytics name (yolo11s-pose.pt)")
    ] = None,
    legibility: Annotated[str | None, typer.Option(help=f"NAME[=WEIGHTS]: {_names('legibility')}")] = None,
    str_: Annotated[str | None, typer.Option("--str", help=f"NAME[=WEIGHTS]: {_names('str')}")] = None,
    stages: Annotated[str, typer.Option(help="Comma-separated stages to (re)build")] = ",".join(STAGES),
    out: Annotated[Path, typer.Option(help="Output folder")] = Path("engines"),
    max_batch: Annotated[int, typer.Option(min=1, help="Largest batch of the engine profile")] = MAX_BATCH,
    opset: Annotated[int, typer.Option(min=17, max=OPSET)] = OPSET,
    version_compatible: Annotated[bool, typer.Option(help="TensorRT: engines for the lean runtime")] = False,
    force: Annotated[bool, typer.Option(help="Replace an incompatible existing manifest")] = False,
    strict: Annotated[
        bool,
        typer.Option(help="A stage whose FP16 misses parity is an error (default: that stage keeps FP32)"),
    ] = False,
    preset: Annotated[
        str | None, typer.Option(help=f"Published pipeline: {'|'.join(PRESETS)} (models and torso rule)")
    ] = None,
    rule: Annotated[
        str | None,
        typer.Option(
            help=f"Torso rule jnr-run uses with these engines: {'|'.join(TORSO_RULES)} (default: the "
            "preset's, else the previous export's, else baseline); one that counts people (seed) keeps "
            "pose's person boxes"
        ),
    ] = None,
    legibility_weights: Annotated[str | None, typer.Option(help="Weights for the legibility model")] = None,
    str_weights: Annotated[
        str | None, typer.Option(help="Weights for the STR model (e.g. a PARSeq .ckpt)")
    ] = None,
) -> None:
    """Export every stage, check parity on synthetic crops, build engines where TensorRT and a GPU exist."""
    from dataclasses import replace

    from jnr.export.exporter import Exporter

    wanted = [s.strip() for s in stages.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in STAGES]
    if unknown:
        raise JnrError(f"unknown stage(s) {', '.join(unknown)}; stages are {', '.join(STAGES)}")
    names, preset_rule = apply_preset(
        preset, pose, legibility, str_, {"legibility": legibility_weights, "str": str_weights}
    )
    if rule is not None:
        get_torso_rule(rule)
    chosen = {s: choose(s, v) for s, v in names.items()}
    check_writable(out)
    engine, gpu = engine_builder(out, version_compatible)
    if engine is None:
        console.print(f"no TensorRT engines: {gpu}; ONNX artifacts are kept and run on ONNX Runtime")
        gpu = None
    if openvino is None:  # the trial is what lets auto use OpenVINO where it is faster: on where installed
        openvino = importlib.util.find_spec("openvino") is not None
    ex = Exporter(out, fp16, int8, opset, engine, console.print, force, openvino, strict)
    entries = ex.previous_entries()
    rule = rule or preset_rule or (ex.previous.rule if ex.previous is not None else None)
    if rule is not None:  # a rule that counts people keeps pose's person boxes
        needs = get_torso_rule(rule).pose_spec
        chosen["pose"] = (needs(chosen["pose"][0]), chosen["pose"][1])
        kept = entries.get("pose") if "pose" not in wanted else None
        if kept and needs(kept.spec) != kept.spec:
            raise JnrError(
                f"the {rule} torso rule counts the people pose finds, which needs the person boxes the pose "
                f"in {out} was exported without: add pose to --stages"
            )
    for stage in wanted:
        spec, weights = chosen[stage]
        what = f"export, {'FP16, ' if fp16 else ''}parity{', engine' if engine else ''}"
        with console.status(f"[bold]{stage}[/bold]: {what}"):
            entries[stage] = ex.stage(replace(spec, max_batch=max_batch), weights)
        console.print(f"{stage}: done")
    missing = [s for s in STAGES if s not in entries]
    if missing:
        console.print(
            f"[yellow]note:[/yellow] the manifest has no {', '.join(missing)} yet: jnr-run needs all stages"
        )
    manifest = ex.finish(entries, gpu, rule)
    stdout_console().print(summary(manifest))


def summary(manifest: Manifest) -> Table:
    """Each artifact with its parity, each OpenVINO precision tried, and what ``auto`` runs here."""
    from jnr.runtime.plan import plan
    from jnr.runtime.runners import pick_auto

    t = Table(title="jnr-export")
    for c in ("stage", "model", "artifact", "MB", "parity", "max abs err", "identical"):
        t.add_column(c, justify="right" if c in ("MB", "max abs err", "identical") else "left")
    entries = manifest.stages
    for stage, e in entries.items():
        if not e.artifacts:
            t.add_row(stage, e.spec.name, "(no model)", "-", "-", "-", "-")
        for kind, art in e.artifacts.items():
            prec = {"onnx-fp16": "fp16", "onnx-int8": "int8", "engine": e.precision}.get(kind, "fp32")
            p = e.parity.get(prec, {})
            kept = " (kept: FP16 missed parity)" if kind == "onnx-fp16" and e.precision == "fp32" else ""
            err, same = f"{p.get('max_abs_error', float('nan')):.2e}", f"{p.get('decoded_identical', 0):.2%}"
            t.add_row(stage, e.spec.name, art["file"] + kept, f"{art['bytes'] / 1e6:.2f}", prec, err, same)
        ov = e.openvino
        for prec, p in (ov.parity if ov else {}).items():  # OpenVINO compiles the FP32 ONNX at each precision
            chosen = ""
            if prec == ov.precision:  # ov-cpu's precision; auto runs it where it is faster than ORT
                chosen = " (chosen; auto runs it)" if e.runs_openvino() else " (chosen)"
            what = f"OpenVINO {prec}{chosen}, {ov.ms_per_batch[prec]:.1f} ms"
            err, same = f"{p['max_abs_error']:.2e}", f"{p['decoded_identical']:.2%}"
            t.add_row(stage, e.spec.name, what, "-", f"ov-{prec}", err, same)
    if all(s in entries for s in STAGES):
        backend, _ = pick_auto(manifest)
        t.caption = f"auto runs here: {backend}: {plan(backend, manifest)}"
    return t


def main() -> None:
    os.environ.setdefault("YOLO_VERBOSE", "False")
    guarded(app)

"""Static INT8 variants per stage against the export's parity bar (99% decoded identical): which operators
are quantized, whether the heads' final layers stay float, and for graphs older than opset 13 (PP-OCRv4's
is 12) per-channel weights after converting to opset 13. ``jnr-export --int8`` builds the first variant.

    python -m jnr.benchmarks.int8_variants [--engines engines/] [--stages pose,str]

Parity crops are the export's own (the cached parity split); the first 256 calibrate, the rest are compared.
Writes ``benchmarks/results/int8-variants.json``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from jnr.runtime.cli import guarded, stdout_console
from jnr.runtime.manifest import atomic_write_json, load_manifest

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)
VARIANTS = {  # name -> (int8_from_onnx keyword arguments, convert to opset 13 first)
    "all operators (jnr-export --int8)": ({}, False),
    "Conv only": ({"op_types": ["Conv"]}, False),
    "Conv only, final layers float": ({"op_types": ["Conv"], "keep_final": True}, False),
    "all, final layers float": ({"keep_final": True}, False),
    "all, opset 13 (per-channel)": ({}, True),
    "all, opset 13, final layers float": ({"keep_final": True}, True),
}


@app.command()
def variants(
    engines: Annotated[Path, typer.Option(help="Engines folder (jnr-export)")] = Path("engines"),
    stages: Annotated[str, typer.Option(help="Comma list of stages")] = "pose,str",
    out: Annotated[Path, typer.Option(help="JSON results")] = Path("benchmarks/results/int8-variants.json"),
) -> None:
    import onnx
    from onnx import version_converter

    from jnr.export import exporter, int8
    from jnr.export.models import build, complete_spec
    from jnr.export.parity import parity_images

    m = load_manifest(engines)
    images = parity_images(exporter.parity_split(engines))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for stage in stages.split(","):
            e = m.stages[stage]
            weights = e.weights or e.spec.weights
            spec = complete_spec(e.spec, weights)
            module = build(spec, weights)
            inputs = int8.int8_inputs(spec, images[stage])
            x = inputs[2]
            src = e.file(engines, "onnx-fp32")
            model = onnx.load(str(src))
            opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
            up = Path(tmp, f"{stage}-opset13.onnx")
            if opset < 13:  # per-channel weights need opset 13; newer graphs have them already
                onnx.save(version_converter.convert_version(model, 13), str(up))
            fp32_ms = int8.cpu_ms(src, spec, x)
            for name, (kw, to13) in VARIANTS.items():
                if to13 and opset >= 13:
                    continue
                base = up if to13 else src
                dst = Path(tmp, f"{stage}-{len(rows)}.onnx")
                par, int8_ms = int8.int8_trial(spec, module, base, dst, inputs, **kw)
                rows.append(
                    {
                        "stage": stage,
                        "variant": name,
                        "decoded_identical": round(par["decoded_identical"], 4),
                        "passed": par["passed"],
                        "int8_ms": round(int8_ms, 1),
                        "fp32_ms": round(fp32_ms, 1),
                        "batch": len(x),
                        "compared": par["samples"],
                    }
                )
                console.print(f"{stage}: {name}: {rows[-1]['decoded_identical']:.2%}")
    t = Table(title="static INT8 variants: parity (decoded identical, target 99%) and ORT CPU ms per batch")
    for c in ("stage", "variant", "identical", "int8 ms", "fp32 ms"):
        t.add_column(c)
    for r in rows:
        cells = (f"{r['decoded_identical']:.2%}", str(r["int8_ms"]), str(r["fp32_ms"]))
        t.add_row(r["stage"], r["variant"], *cells)
    stdout_console().print(t)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, {"date": dt.date.today().isoformat(), "engines": str(engines), "rows": rows})
    console.print(f"wrote {out}")


def main() -> None:
    guarded(app)


if __name__ == "__main__":
    main()

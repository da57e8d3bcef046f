"""Every backend on this machine over the same crops (the runner contract), and jnr-run as users run it."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from jnr.runtime import preprocess
from jnr.runtime.data import open_split
from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import load_manifest
from jnr.runtime.ort_runner import available
from jnr.runtime.ov_runner import available as ov_available
from jnr.runtime.runners import load_stages

pytest.importorskip("torch")

BACKENDS = [("torch-batched", "fp32"), ("ort-cpu", "fp32"), ("ort-cpu", "fp16")] + [
    (b, "fp16") for b in ("ort-cuda", "ort-trt") if available(b)
]
# OpenVINO: f32, and auto (the export's choice per stage, bf16 only where it passed parity at 99%)
# cpu: each stage on OpenVINO or ONNX Runtime, whichever the export measured faster
BACKENDS += [("ov-cpu", "f32"), ("ov-cpu", "auto"), ("cpu", "auto")] if ov_available() else []


@pytest.fixture(scope="module")
def inputs(engines):
    """What the pipeline feeds each stage: frames to pose, torso crops to legibility and STR; from the
    export's own parity split (deterministic), so the reference is the one export parity used."""
    from jnr.export.parity import parity_images

    images = parity_images(engines / ".parity" / "test")
    return {"pose": images["pose"][:300], "legibility": images["legibility"], "str": images["str"]}


@pytest.fixture(scope="module")
def reference(engines, inputs):
    """The PyTorch outputs (torch-batched, FP32), once per stage."""
    ref = load_stages("torch-batched", engines)
    out = {}
    for stage, images in inputs.items():
        x, places = preprocess.batch(ref[stage].spec, images)
        out[stage] = (ref[stage].spec, x, places, [im.shape[:2] for im in images], ref[stage].runner.infer(x))
    return out


@pytest.mark.parametrize(("backend", "precision"), BACKENDS)
def test_runner_contract_against_the_pytorch_reference(engines, reference, backend, precision):
    from jnr.export.parity import decoded_equal  # what export parity compares: poses, boxes, readings

    got = load_stages(backend, engines, precision)
    for stage, (spec, x, places, sizes, a) in reference.items():
        assert got[stage].spec == spec
        b = got[stage].runner.infer(x)
        assert isinstance(b, np.ndarray) and b.dtype == np.float32 and a.shape == b.shape
        same = decoded_equal(spec, a, b, places, sizes).mean()
        assert same >= (0.999 if precision in ("fp32", "f32") else 0.99), (stage, same)
        if precision in ("fp32", "f32"):
            assert np.abs(a - b).max() < 1e-2
    assert len(reference["str"][1]) > 500


def test_jnr_run_without_torch_gives_the_python_apis_answers(engines, tiny_split, tmp_path, run_cli):
    """A lean install (torch blocked) runs the exported engines; its predictions and funnels are what
    ``jnr.load(...).run`` gives for the same split and options."""
    import jnr

    out = tmp_path / "p.json"
    r = run_cli("jnr-run", tiny_split, "--engines", engines, "--backend", "ort-cpu", "--out", out,
                block_torch=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    with jnr.load(engines, backend="ort-cpu") as reader:
        api = {res.tracklet: res for res in reader.run(tiny_split)}
    assert json.loads(out.read_text()) == {k: res.number for k, res in api.items()}
    funnels = json.loads(out.with_suffix(".funnel.json").read_text())
    assert funnels == {k: res.funnel.to_dict() for k, res in api.items()}
    assert set(api) == {t.id for t in open_split(tiny_split).tracklets}
    assert "accuracy" in r.stdout and "sec/tracklet" in r.stdout


def test_the_api_reads_one_tracklet_from_arrays_as_from_files(engines, tiny_split):
    import jnr
    from jnr.runtime.data import decode

    t = open_split(tiny_split).tracklets[0]
    with jnr.load(engines, backend="ort-cpu", frames="all") as reader:
        from_files = next(iter(reader.run([t])))
        from_arrays = reader.read([decode(p) for p in t.frames], t.id)
        with pytest.raises(JnrError, match="RGB uint8"):
            reader.read([np.zeros((4, 4), np.uint8)])
    assert from_arrays.number == from_files.number and from_arrays.readings == from_files.readings
    assert from_arrays.funnel == from_files.funnel


def test_runtime_modules_never_import_torch(tmp_path):
    code = (
        "import sys, jnr, jnr.runtime.run_cli, jnr.runtime.runners, jnr.runtime.pipeline, "
        "jnr.runtime.reader, jnr.runtime.ort_runner, jnr.runtime.ov_runner, jnr.runtime.manifest, "
        "jnr.runtime.trt_runner, jnr.runtime.decision, "
        "jnr.runtime.distributed; "
        "jnr.load; assert 'torch' not in sys.modules, 'torch'; "
        "assert not [m for m in sys.modules if m.startswith('jnr.export')], 'jnr.export'"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_auto_picks_and_says_why(engines, tiny_split, tmp_path, run_cli):
    r = run_cli("jnr-run", tiny_split, "--engines", engines, "--out", tmp_path / "p.json", "--batch", "1000")
    assert r.returncode == 0, r.stderr
    from jnr.runtime.runners import pick_auto

    picked = pick_auto(load_manifest(engines))[0]  # cpu where OpenVINO is measured faster on some stage
    assert picked in ("ort-cpu", "cpu") and f"backend: {picked}" in r.stderr
    assert "no TensorRT engines" in r.stderr
    assert "exceeds the engine profile maximum 256: clamped to 256" in r.stderr.replace("\n", " ")


def test_resume_skips_finished_tracklets(engines, tiny_split, tmp_path, run_cli):
    out = tmp_path / "p.json"
    ids = [t.id for t in open_split(tiny_split).tracklets]
    out.write_text(json.dumps({ids[0]: 42}))
    r = run_cli("jnr-run", tiny_split, "--engines", engines, "--backend", "ort-cpu", "--out", out, "--resume")
    assert r.returncode == 0, r.stderr
    assert f"1 tracklets already in {out}" in r.stderr.replace("\n", "")
    preds = json.loads(out.read_text())
    assert preds[ids[0]] == 42 and set(preds) == set(ids)


def test_interrupt_saves_finished_tracklets(engines, tiny_split, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from jnr.runtime import run_cli
    from jnr.runtime.pipeline import Pipeline
    from jnr.runtime.tracks import Result

    def run(self, tracklets, frames="all", start="pose"):
        yield Result("0", 5, [])
        raise KeyboardInterrupt

    monkeypatch.setattr(Pipeline, "run", run)
    out = tmp_path / "p.json"
    r = CliRunner().invoke(
        run_cli.app, [str(tiny_split), "--engines", str(engines), "--backend", "ort-cpu", "--out", str(out)]
    )
    assert r.exit_code == 130
    assert json.loads(out.read_text()) == {"0": 5}


def _copy(engines, tmp_path):
    dst = tmp_path / "e"
    shutil.copytree(engines, dst, ignore=shutil.ignore_patterns(".parity"))
    return dst


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("no-manifest", "no manifest.json"),
        ("corrupt", "is corrupt"),
        ("missing-file", "engine file missing"),
        ("bad-sha", "does not match its sha256"),
        ("old-format", "manifest format"),
    ],
)
def test_manifest_problems_are_clear_errors(engines, tmp_path, damage, message):
    e = _copy(engines, tmp_path)
    m = json.loads((e / "manifest.json").read_text())
    onnx_file = e / m["stages"]["legibility"]["artifacts"]["onnx-fp32"]["file"]
    if damage == "no-manifest":
        (e / "manifest.json").unlink()
    elif damage == "corrupt":
        (e / "manifest.json").write_text("{ half a")
    elif damage == "missing-file":
        onnx_file.unlink()
    elif damage == "bad-sha":
        onnx_file.write_bytes(onnx_file.read_bytes() + b"x")
    else:
        m["format"] = 99
        (e / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(JnrError, match=message) as err:
        load_stages("ort-cpu", e)
    if damage in ("missing-file", "bad-sha"):
        assert onnx_file.name in str(err.value)


def test_manifest_roundtrips_specs(engines):
    from jnr.runtime.specs import SPECS

    for e in load_manifest(engines).stages.values():
        assert e.spec.name in SPECS and e.spec.input_hw == SPECS[e.spec.name].input_hw


@pytest.mark.skipif(not ov_available(), reason="OpenVINO is not installed")
@pytest.mark.parametrize(("precision", "unit"), [("bf16", "BF16"), ("f16", "FP16")])
def test_openvino_low_precision_on_a_cpu_without_its_units_is_a_one_line_error(
    engines, monkeypatch, precision, unit
):
    """A precision the CPU cannot honour is an error that names the missing units, not a silent f32 run;
    f32 on the same CPU still runs."""
    from jnr.runtime import ov_runner

    monkeypatch.setattr(ov_runner, "cpu_capabilities", lambda: ["FP32", "INT8"])
    assert ov_runner.cpu_precisions() == ("f32",)
    e = load_manifest(engines).stages["legibility"]
    with pytest.raises(JnrError, match=f"this CPU has no {unit} units for OpenVINO {precision}$"):
        ov_runner.OvRunner(e.file(engines, "onnx-fp32"), precision, e.spec.max_batch)
    r = ov_runner.OvRunner(e.file(engines, "onnx-fp32"), "f32", e.spec.max_batch)
    x = np.zeros((2, e.spec.channels, *e.spec.input_hw), np.float32)
    assert r.precision == "f32" and r.infer(x).shape[0] == 2


@pytest.mark.skipif(not ov_available(), reason="OpenVINO is not installed")
def test_each_openvino_precision_runs_itself_from_a_shared_cache_folder(engines, tmp_path):
    """OpenVINO's CPU plugin keys a cached blob by the model alone: compiled in one folder after f32, a
    lower precision loaded f32's blob (the export's f16 trial timed f32; its bf16 recognizer read half its
    crops wrong). Each precision's outputs from a cache f32 filled first must be its own, as without one."""
    from jnr.runtime import ov_runner

    lower = [p for p in ov_runner.cpu_precisions() if p != "f32"]
    if not lower:
        pytest.skip("this CPU has no BF16 or FP16 units: OpenVINO runs f32 only")
    e = load_manifest(engines).stages["legibility"]
    path = e.file(engines, "onnx-fp32")
    x = np.random.default_rng(0).uniform(-1, 1, (4, e.spec.channels, *e.spec.input_hw)).astype(np.float32)
    f32 = ov_runner.OvRunner(path, "f32", e.spec.max_batch, cache_dir=tmp_path).infer(x)
    for precision in lower:
        alone = ov_runner.OvRunner(path, precision, e.spec.max_batch).infer(x)
        cached = ov_runner.OvRunner(path, precision, e.spec.max_batch, cache_dir=tmp_path).infer(x)
        assert not np.array_equal(alone, f32), precision  # the lower precision rounds differently
        np.testing.assert_array_equal(cached, alone, err_msg=precision)


@pytest.mark.skipif(not ov_available(), reason="OpenVINO is not installed")
def test_the_openvino_trial_tries_each_precision_the_cpu_reports(monkeypatch):
    """bf16 where OpenVINO reports BF16 (AMX, AVX512-BF16), f16 where FP16 (AVX512-FP16, AMX-FP16)."""
    from jnr.runtime import ov_runner

    for caps, expected in (
        (["FP32", "BF16", "FP16", "INT8"], ("f32", "bf16", "f16")),
        (["FP32", "BF16", "INT8"], ("f32", "bf16")),
        (["FP32", "FP16"], ("f32", "f16")),
    ):
        monkeypatch.setattr(ov_runner, "cpu_capabilities", lambda c=caps: c)
        assert ov_runner.cpu_precisions() == expected


@pytest.mark.skipif(not ov_available(), reason="OpenVINO is not installed")
def test_the_export_records_an_openvino_trial_and_auto_runs_it_on_the_stages_it_is_faster_on(engines):
    from jnr.runtime.manifest import MIN_GAIN
    from jnr.runtime.ov_runner import OvRunner
    from jnr.runtime.plan import plan
    from jnr.runtime.runners import load_stages, pick_auto

    m = load_manifest(engines)
    for e in m.stages.values():
        trial = e.openvino
        assert trial.precision in trial.parity and trial.parity[trial.precision]["passed"]
        assert {"ort-cpu", "f32"} <= set(trial.ms_per_batch)
        ms = trial.ms_per_batch  # a lower precision only where it is faster than f32 by MIN_GAIN
        assert trial.precision == "f32" or ms[trial.precision] <= MIN_GAIN * ms["f32"]
    on_ov = {s for s, p in plan("cpu", m).stages.items() if p.runtime == "ov"}
    assert pick_auto(m)[0] == ("cpu" if on_ov else "ort-cpu"), pick_auto(m)[1]
    for share, picked in ((2.0, "ort-cpu"), (0.95, "ort-cpu"), (0.5, "cpu")):  # measured so, on this CPU
        for e in m.stages.values():
            t = e.openvino
            t.ms_per_batch[t.precision] = t.ms_per_batch["ort-cpu"] * share
        assert pick_auto(m)[0] == picked, share
    # one stage faster on OpenVINO: that stage alone runs there
    for s, e in m.stages.items():
        t = e.openvino
        t.ms_per_batch[t.precision] = t.ms_per_batch["ort-cpu"] * (0.5 if s == "legibility" else 2.0)
    p = plan("cpu", m)
    assert p.stages["legibility"].runtime == "ov" and pick_auto(m)[0] == "cpu", str(p)
    stages = load_stages("cpu", m)
    assert {s for s, st in stages.items() if isinstance(st.runner, OvRunner)} == {"legibility"}

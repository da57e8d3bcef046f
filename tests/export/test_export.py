"""jnr-export on the shipped models: ONNX + FP16 + parity + manifest, reuse, bad input."""

import json
import shutil
from pathlib import Path

import onnx
import pytest
from conftest import EXPORT_ARGS
from typer.testing import CliRunner

pytest.importorskip("torch")

from jnr.export import steps
from jnr.export.cli_export import app, choose
from jnr.export.models import resolve_weights
from jnr.runtime.errors import JnrError
from jnr.runtime.manifest import load_manifest, sha256
from jnr.runtime.specs import STAGES


def test_manifest_records_everything_the_runtime_needs(engines):
    m = load_manifest(engines)
    assert set(m.stages) == set(STAGES)
    for stage, e in m.stages.items():
        assert e.stage == stage and e.precision == "fp16" and e.precision_why
        # exported from PyTorch at 17-18; an ONNX-only model (PaddleOCR's, the default gate and STR) keeps
        # its own opset
        if str(resolve_weights(e.weights)).endswith(".onnx"):
            assert e.opset == steps.io_info(resolve_weights(e.weights))["opset"]
        else:
            assert e.opset in (17, 18)
        for art in e.artifacts.values():
            assert sha256(engines / art["file"]) == art["sha256"]
        assert e.parity["fp32"]["decoded_identical"] >= 0.999
        assert e.parity["fp16"]["decoded_identical"] >= 0.99
        assert e.parity["fp32"]["samples"] >= 500
        assert e.io["inputs"][0]["shape"][0] not in (1, 2)  # dynamic batch axis
        assert e.flops_per_item > 0
    assert m.versions["onnxruntime"] and m.gpu is None


@pytest.mark.parametrize("kind", ["onnx-fp32", "onnx-fp16"])
def test_onnx_files_are_valid_single_files(engines, kind):
    for e in load_manifest(engines).stages.values():
        path = e.file(engines, kind)
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
        assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)


def test_fp16_weights_are_half(engines):
    e = load_manifest(engines).stages["legibility"]
    model = onnx.load(str(e.file(engines, "onnx-fp16")))
    types = {t.data_type for t in model.graph.initializer if len(t.dims) > 1}
    assert types == {onnx.TensorProto.FLOAT16}
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT  # keep_io_types


def test_rerun_reuses_unchanged_artifacts(engines, tmp_path):
    copy = tmp_path / "engines"  # the session's engines are never exported into
    shutil.copytree(engines, copy)
    before = json.loads((copy / "manifest.json").read_text())
    r = CliRunner().invoke(app, [*EXPORT_ARGS, "--out", str(copy)])  # the session export's own options
    assert r.exit_code == 0, r.output
    assert r.output.count("unchanged") == 3
    after = json.loads((copy / "manifest.json").read_text())
    for s in STAGES:
        assert after["stages"][s]["artifacts"] == before["stages"][s]["artifacts"]


def test_a_change_to_the_openvino_runner_redoes_the_trial(tmp_path, monkeypatch):
    """The stage key covers how OpenVINO runs where the export tries it (a trial run under an older runner,
    as under the cache bug, is not reused), and only there."""
    from jnr.export import exporter
    from jnr.runtime import ov_runner
    from jnr.runtime.specs import get_spec

    spec = get_spec("ppocr-v6-det")
    keys = {ov: exporter.stage_key(spec, spec.weights, True, 18, openvino=ov) for ov in (False, True)}
    changed = tmp_path / "ov_runner.py"
    changed.write_text(Path(ov_runner.__file__).read_text() + "\n# changed\n")
    monkeypatch.setattr(ov_runner, "__file__", str(changed))
    assert exporter.stage_key(spec, spec.weights, True, 18, openvino=True) != keys[True]
    assert exporter.stage_key(spec, spec.weights, True, 18, openvino=False) == keys[False]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stages", "pose,ocr"], "unknown stage"),
        (["--legibility", "nope=x.pt"], "unknown legibility model"),
        (["--legibility", "easyocr-en-g2"], "is a str model"),
        (["--rule", "nope"], "unknown torso rule 'nope'"),
        (["--stages", "legibility", "--legibility", "legibility-cnn=/nonexistent.pt"], "weights not found"),
    ],
)
def test_bad_arguments_give_one_line_errors(tmp_path, args, message):
    r = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "e")])
    assert isinstance(r.exception, JnrError) and message in str(r.exception)


def test_weights_that_do_not_load(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    r = CliRunner().invoke(
        app, ["--stages", "legibility", "--legibility", f"legibility-cnn={bad}", "--out", str(tmp_path / "e")]
    )
    assert isinstance(r.exception, JnrError) and "does not load" in str(r.exception)


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = CliRunner().invoke(app, ["--out", str(blocker / "sub")])
    assert isinstance(r.exception, JnrError) and "not writable" in str(r.exception)


def test_incompatible_manifest(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 0, "jnr_version": "0.0.1"}))
    r = CliRunner().invoke(app, ["--stages", "legibility", "--out", str(tmp_path)])
    msg = str(r.exception)
    assert isinstance(r.exception, JnrError) and "manifest format 0" in msg and "re-run jnr-export" in msg


def test_pose_weights_of_the_wrong_task(tmp_path):
    from ultralytics import YOLO

    det = tmp_path / "det.pt"
    YOLO("yolo11n.yaml").save(str(det))
    with pytest.raises(JnrError, match="not a pose model"):
        from jnr.export.models import load_pose

        load_pose(str(det))


def test_choose_parses_name_and_weights():
    assert choose("legibility", "legibility-resnet34=w.pt")[0].name == "legibility-resnet34"
    assert choose("legibility", "legibility-resnet34=w.pt")[1] == "w.pt"
    assert choose("pose", "yolo11s-pose.pt")[1] == "yolo11s-pose.pt"
    assert choose("str", None)[0].name == "ppocr-v6-rec"
    assert choose("str", "easyocr-en-g2")[1] == "easyocr_en_models:english_g2.pth"


def test_flops_of_a_known_conv(tmp_path):
    import torch

    from jnr.runtime.specs import StageSpec

    spec = StageSpec(
        name="t",
        stage="legibility",
        input_hw=(8, 8),
        color="RGB",
        resize="stretch",
        mean=(0, 0, 0),
        std=(1, 1, 1),
        decode="sigmoid",
        weights="",
        max_batch=4,
    )
    path = steps.onnx_from_torch(torch.nn.Conv2d(3, 4, 3, padding=1, bias=False), spec, tmp_path / "c.onnx")
    assert steps.flops(path, (1, 3, 8, 8)) == pytest.approx(2 * 4 * 8 * 8 * 3 * 9)
    assert steps.flops(path, (2, 3, 8, 8)) == pytest.approx(2 * 2 * 4 * 8 * 8 * 3 * 9)


def test_resnet34_legibility_option_exports_with_parity(engines, tmp_path, tiny_split, run_cli, api_answers):
    """The baseline's ResNet34 legibility checkpoint layout (``model_ft.*``, as its LegibilityClassifier34
    saves it) through jnr-export --fp16, parity and jnr-run; weights are a fresh initialisation, since the
    published file cannot be fetched here."""

    import torch

    from jnr.export.models import legibility_resnet34

    torch.manual_seed(0)
    weights = tmp_path / "legibility_resnet34_soccer.pth"
    torch.save({f"model_ft.{k}": v for k, v in legibility_resnet34().state_dict().items()}, weights)
    out = tmp_path / "engines"
    shutil.copytree(engines, out)
    args = [
        "--fp16",
        "--no-openvino",
        "--stages",
        "legibility",
        "--legibility",
        f"legibility-resnet34={weights}",
    ]
    r = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    e = load_manifest(out).stages["legibility"]
    assert e.spec.name == "legibility-resnet34" and e.io["inputs"][0]["shape"][1:] == [3, 256, 256]
    assert e.parity["fp32"]["passed"] and e.parity["fp32"]["max_abs_error"] < 1e-3
    assert e.parity["fp16"]["passed"]
    run = run_cli(
        "jnr-run", tiny_split, "--engines", out, "--backend", "ort-cpu", "--out", tmp_path / "p.json"
    )
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "p.json").read_text()) == api_answers(out, tiny_split, backend="ort-cpu")
    assert 8e9 < e.flops_per_item < 11e9  # ResNet34 at 256x256: 4.7 G multiply-adds


def test_legibility_none_exports_no_model_and_passes_every_crop(engines, tmp_path, tiny_split):
    import shutil

    import jnr
    from jnr.runtime.runners import load_stages

    out = tmp_path / "engines"
    shutil.copytree(engines, out)
    r = CliRunner().invoke(
        app, ["--fp16", "--stages", "legibility", "--legibility", "none", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    e = load_manifest(out).stages["legibility"]
    assert e.spec.name == "none" and e.artifacts == {}
    for backend in ("ort-cpu", "torch-batched"):
        assert load_stages(backend, out)["legibility"].runner is None
        with jnr.load(out, backend=backend, batch=16, frames="all") as reader:
            results = list(reader.run(tiny_split))
            pipe = reader.pipeline
        assert len(results) == 6 and pipe.stats.torso_crops > 0
        assert pipe.stats.legible == pipe.stats.torso_crops  # every crop reaches the recognizer
        assert pipe.stats.seconds["legibility"] < 0.01


def test_int8_is_built_checked_timed_and_used_on_cpu_only_where_it_passes(engines, tmp_path):
    """jnr-export --int8: a static QDQ INT8 ONNX with its parity and CPU timing in the manifest; ort-cpu with
    precision auto runs it exactly when the export chose it; --precision int8 forces it."""
    import shutil

    from jnr.runtime.plan import get_backend, plan_ort_cpu
    from jnr.runtime.runners import load_stages

    out = tmp_path / "engines"
    shutil.copytree(engines, out)
    args = ["--fp16", "--int8", "--no-openvino", "--stages", "legibility", "--legibility", "legibility-cnn"]
    args += ["--out", str(out)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    e = load_manifest(out).stages["legibility"]
    q = onnx.load(str(e.file(out, "onnx-int8")))
    assert sum(n.op_type == "QuantizeLinear" for n in q.graph.node) > 0
    par, ms = e.parity["int8"], e.cpu_ms_per_batch
    assert par["target"] == 0.99 and par["samples"] > 0
    assert ms["fp32"] > 0 and ms["int8"] > 0
    chose = par["passed"] and ms["int8"] <= 0.9 * ms["fp32"]
    assert e.cpu_precision == ("int8" if chose else "fp32")
    auto = load_stages("ort-cpu", out)
    assert ("int8" in auto["legibility"].runner.path.name) == chose
    assert "int8" not in auto["pose"].runner.path.name  # other stages untouched
    forced = plan_ort_cpu(get_backend("ort-cpu"), e, "int8")
    assert forced.artifact == "onnx-int8" and forced.why == "asked"
    # asked for, never run at fp32 in silence
    with pytest.raises(JnrError, match="pose has no onnx-int8; re-export --int8"):
        load_stages("ort-cpu", out, precision="int8")


def test_pose_is_exported_without_person_boxes_unless_the_rule_counts_people(engines, tmp_path, tiny_split):
    """The shipped torso rule takes the best person: the pose ONNX has no box rows (52 = score + 17 x 3), and
    its parity covers that rule. ``--rule seed`` (which drops frames with more than one person) keeps them
    and is recorded as the engines' rule; jnr-run then runs the seed rule on them."""
    import numpy as np
    import onnxruntime as ort

    def rows(folder):
        path = load_manifest(folder).stages["pose"].file(folder, "onnx-fp32")
        s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return s.run(None, {s.get_inputs()[0].name: np.zeros((1, 3, 128, 64), np.float32)})[0].shape[1]

    assert load_manifest(engines).stages["pose"].spec.head == "keypoints" and rows(engines) == 52
    seed = tmp_path / "seed"
    shutil.copytree(engines, seed)
    r = CliRunner().invoke(app, ["--stages", "pose", "--rule", "seed", "--no-openvino", "--out", str(seed)])
    assert r.exit_code == 0, r.output
    m = load_manifest(seed)
    assert m.rule == "seed" and m.stages["pose"].spec.head == "full" and rows(seed) == 56
    assert m.stages["pose"].parity["fp32"]["decoded_identical"] >= 0.999

    from jnr.runtime.reader import load

    with load(seed, backend="ort-cpu") as reader:
        assert reader.config.rule == "seed"
        assert len(list(reader.run(tiny_split))) == 6
    with pytest.raises(JnrError, match="jnr-export --rule seed"):
        load(engines, backend="ort-cpu", rule="seed")

"""The lean CLIs as a user runs them: exit codes and one-line errors."""

import json
import subprocess
import sys

import pytest


def _run(*args, **kw):
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from jnr.runtime.{} import {} as m; m()".format(*args[:2]),
            *args[2:],
        ],
        capture_output=True,
        text=True,
        **kw,
    )


def test_eval_prints_breakdown_and_writes_json(tiny_split, tmp_path):
    gt = tiny_split / "test_gt.json"
    out = tmp_path / "s.json"
    r = _run("cli", "eval_main", str(gt), str(gt), "--json", str(out))
    assert r.returncode == 0, r.stderr
    assert "100.00%" in r.stdout
    assert json.loads(out.read_text())["accuracy"] == 1.0


@pytest.mark.parametrize(
    ("pred", "message"),
    [
        ("{bad", "not valid JSON"),
        ('{"nope": 3}', "not in the ground truth"),
        ('{"0": "x"}', "expected an integer"),
    ],
)
def test_eval_bad_files_exit_2_with_one_line(tiny_split, tmp_path, pred, message):
    p = tmp_path / "p.json"
    p.write_text(pred)
    r = _run("cli", "eval_main", str(p), str(tiny_split / "test_gt.json"))
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("sub", ["missing", "noimages"])
def test_run_missing_folder_exits_2(tmp_path, sub):
    (tmp_path / "noimages").mkdir()
    r = _run("run_cli", "main", str(tmp_path / sub), "--backend", "ort-cpu", "--engines", str(tmp_path))
    assert r.returncode == 2 and "error:" in r.stderr and "Traceback" not in r.stderr


def test_data_download_without_network_fails_cleanly(tmp_path):
    r = _run(
        "cli",
        "data_main",
        "download",
        "--split",
        "test",
        "--out",
        str(tmp_path),
        env={
            "PATH": "/usr/bin:/bin",
            "HF_HUB_OFFLINE": "1",
            "NO_PROXY": "",
            "HTTPS_PROXY": "http://127.0.0.1:9",
        },
        timeout=300,
    )
    assert r.returncode == 2
    assert "error:" in r.stderr and "Traceback" not in r.stderr

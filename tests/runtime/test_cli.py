"""The lean CLIs as a user runs them: exit codes and one-line errors."""

import json

import pytest


def test_eval_prints_breakdown_and_writes_json(tiny_split, tmp_path, run_cli):
    gt = tiny_split / "test_gt.json"
    out = tmp_path / "s.json"
    r = run_cli("jnr-eval", str(gt), str(gt), "--json", str(out))
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
def test_eval_bad_files_exit_2_with_one_line(tiny_split, tmp_path, pred, message, run_cli):
    p = tmp_path / "p.json"
    p.write_text(pred)
    r = run_cli("jnr-eval", str(p), str(tiny_split / "test_gt.json"))
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("sub", ["missing", "noimages"])
def test_run_missing_folder_exits_2(tmp_path, sub, run_cli):
    (tmp_path / "noimages").mkdir()
    r = run_cli("jnr-run", str(tmp_path / sub), "--backend", "ort-cpu", "--engines", str(tmp_path))
    assert r.returncode == 2 and "error:" in r.stderr and "Traceback" not in r.stderr


def test_data_download_without_network_fails_cleanly(tmp_path, run_cli):
    r = run_cli(
        "jnr-data",
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

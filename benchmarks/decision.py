"""How the decision rules do, and how their thresholds and calibration were chosen (issue 26).

    python -m jnr.benchmarks.decision --engines E \\
        flat-short=/tmp/flat60/test flat-long=/tmp/flat_long/test \\
        shaded-short=/tmp/shaded60/test shaded-long=/tmp/shaded_long/test \\
        real=../shared/real/soccernet-digits-dev:str

Each split (NAME=PATH[:start]) runs once through the pipeline with every frame (``--vote evidence``, so the
inner re-reads are made) and its readings are cached (``--cache``); every rule is then scored on them. A
split named ``real`` is cut into ``real-fit`` and ``real-hold`` by whole tracklets (crc32 of the id). The
splits' family is the name before the first ``-`` (flat, shaded, real).

- ``rules``: accuracy per split for every rule in jnr.runtime.decision.RULES, -1 and numbered apart;
- ``cross``: the evidence rule's thresholds searched on one family (most tracklets right), reported on the
  others, both directions, next to the shipped thresholds;
- ``calibration``: the confidence's logistic weights fitted on one drawing and its reliability (5 equal-
  width bins, expected calibration error) on the other and on the real crops; then fitted on both drawings
  (the shipped weights) and reported on the real crops.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import zlib
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from jnr.runtime import decision as D
from jnr.runtime.cli import guarded, stdout_console
from jnr.runtime.manifest import atomic_write_json
from jnr.runtime.score import RELIABILITY_BINS as BINS
from jnr.runtime.score import reliability as calibration

app = typer.Typer(add_completion=False, help=__doc__)
console = Console(stderr=True)
GRID = {
    "sure": (0.5, 0.7, 0.8, 0.9),
    "share": (0.0, 0.005, 0.01, 0.02, 0.03, 0.05),
    "total": (0.5, 0.8, 1.0),
    "located": (0.0, 0.3, 0.5, 0.7, 0.9),
}


def collect(engines: Path, name: str, path: Path, start: str, cache: Path) -> dict:
    """{tracklet: {gt, torso, ball, readings}} of one split, from the cache or a run with every frame."""
    out = cache / f"{name}.json"
    if out.is_file():
        return json.loads(out.read_text())
    import jnr
    from jnr.runtime.data import open_split

    split = open_split(path)
    if split.gt is None:
        raise typer.BadParameter(f"{path}: no ground truth")
    rows = {}
    with jnr.load(engines, frames="all", vote="evidence", start=start) as reader:
        for r in reader.run(split.tracklets):
            rows[r.tracklet] = {
                "gt": split.gt.get(r.tracklet, -1), "torso": r.funnel.torso, "ball": r.funnel.ball,
                "readings": [list(x) for x in r.readings],
            }  # fmt: skip
    cache.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, rows)
    return rows


def split_real(rows: dict) -> dict[str, dict]:
    """Whole tracklets: a third (crc32 of the id) held out of every choice."""
    hold = {k: v for k, v in rows.items() if zlib.crc32(k.encode()) % 3 == 0}
    return {"real-fit": {k: v for k, v in rows.items() if k not in hold}, "real-hold": hold}


def answers(rows: dict, rule: D.DecisionRule) -> list[tuple[int, int, float]]:
    """(answer, truth, confidence) per tracklet (the ball filter's 1 where it fired)."""
    out = []
    for r in rows.values():
        d = D.Decision(1, 0.5) if r["ball"] else rule.decide(r["readings"], r["torso"])
        out.append((d.number, r["gt"], d.confidence))
    return out


def score(rows: dict, rule: D.DecisionRule) -> dict:
    a = answers(rows, rule)
    neg = [n == t for n, t, _ in a if t == -1]
    pos = [n == t for n, t, _ in a if t != -1]
    return {
        "right": sum(neg) + sum(pos),
        "n": len(a),
        "none": [sum(neg), len(neg)],
        "numbered": [sum(pos), len(pos)],
    }


def fmt(s: dict) -> str:
    (a, b), (c, d) = s["none"], s["numbered"]
    return f"{100 * s['right'] / max(s['n'], 1):.2f}% ({a}/{b}, {c}/{d})"


def family(name: str) -> str:
    return name.split("-")[0]


def search(sets: dict[str, dict]) -> D.EvidenceRule:
    """The grid point with the most tracklets right over ``sets`` (ties: the earlier, stricter point)."""
    best, best_right = None, -1
    for values in itertools.product(*GRID.values()):
        rule = D.EvidenceRule(**dict(zip(GRID, values, strict=True)))
        right = sum(score(rows, rule)["right"] for rows in sets.values())
        if right > best_right:
            best, best_right = rule, right
    return best


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> np.ndarray:
    """Newton's method for a logistic regression with an L2 penalty (the bias too: few points)."""
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ (p - y) + l2 * w
        hess = x.T @ (x * (p * (1 - p))[:, None]) + l2 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def design(sets: dict[str, dict], rule: D.Rule, none: bool) -> tuple[np.ndarray, np.ndarray]:
    """Features and right/wrong of every answer of one kind (-1 or a number) the rule gives."""
    xs, ys = [], []
    for rows in sets.values():
        for r in rows.values():
            if r["ball"]:
                continue
            n = rule.number(r["readings"], r["torso"])
            if (n == D.ILLEGIBLE) != none:
                continue
            xs.append(D.features(rule.evidence(r["readings"], r["torso"]), n))
            ys.append(float(n == r["gt"]))
    return np.array(xs).reshape(-1, len(D.NUMBER_WEIGHTS)), np.array(ys)


def calibrate(sets: dict[str, dict], rule: D.DecisionRule) -> tuple[tuple[float, ...], tuple[float, ...]]:
    w_num = fit_logistic(*design(sets, rule, none=False))
    w_none = fit_logistic(*design(sets, rule, none=True))
    return tuple(round(float(v), 3) for v in w_num), tuple(round(float(v), 3) for v in w_none)


def reliability(sets: dict[str, dict], rule: D.DecisionRule) -> dict:
    """jnr.runtime.score.reliability of every answer the rule gives on ``sets``."""
    return calibration([(n == t, c) for rows in sets.values() for n, t, c in answers(rows, rule)])


@contextlib.contextmanager
def with_weights(w_num, w_none):
    """A context in which the confidence reads these weights."""
    saved = D.NUMBER_WEIGHTS, D.NONE_WEIGHTS
    D.NUMBER_WEIGHTS, D.NONE_WEIGHTS = w_num, w_none
    try:
        yield
    finally:
        D.NUMBER_WEIGHTS, D.NONE_WEIGHTS = saved


@app.command()
def main(
    splits: Annotated[list[str], typer.Argument(help="NAME=PATH[:start] (start: pose|gate|str)")],
    engines: Annotated[Path, typer.Option(help="Folder with manifest.json")] = Path("engines"),
    cache: Annotated[Path, typer.Option(help="Readings per split, reused")] = Path(".cache/decision"),
    out: Annotated[Path, typer.Option(help="JSON of every figure")] = Path(
        "benchmarks/results/decision.json"
    ),
) -> None:
    """Score the rules, search the thresholds across drawings, fit and check the calibration."""
    sets: dict[str, dict] = {}
    for arg in splits:
        name, _, rest = arg.partition("=")
        path, _, start = rest.partition(":")
        rows = collect(engines, name, Path(path), start or "pose", cache)
        sets.update(split_real(rows) if name == "real" else {name: rows})
    doc: dict = {"splits": {k: len(v) for k, v in sets.items()}, "rules": {}, "cross": {}, "calibration": {}}
    table = Table(title="decision rules, every frame (accuracy; -1 right, numbered right)")
    table.add_column("rule")
    for k in sets:
        table.add_column(k, justify="right")
    for name, rule in D.DECISION_RULES.items():
        doc["rules"][name] = {k: score(v, rule) for k, v in sets.items()}
        table.add_row(name, *(fmt(doc["rules"][name][k]) for k in sets))
    fams = sorted({family(k) for k in sets} - {"real"})
    for fam in fams:
        fit = {k: v for k, v in sets.items() if family(k) == fam}
        rule = search(fit)
        doc["cross"][fam] = {
            "rule": {f: getattr(rule, f) for f in GRID},
            "scores": {k: score(v, rule) for k, v in sets.items()},
        }
        table.add_row(
            f"evidence searched on {fam}: {doc['cross'][fam]['rule']}",
            *(fmt(doc["cross"][fam]["scores"][k]) for k in sets),
        )
    stdout_console().print(table)
    rule = D.DECISION_RULES[D.DEFAULT_VOTE]
    cal = Table(title=f"calibration of --vote {rule.name}: ECE, {BINS} equal-width bins")
    for c in ("fitted on", "weights (numbers; -1)", "reported on", "answers", "ECE"):
        cal.add_column(c)
    drawings = {k: v for k, v in sets.items() if family(k) != "real"}
    plans = [(fam, {k: v for k, v in drawings.items() if family(k) == fam}) for fam in fams]
    plans.append(("+".join(fams), drawings))
    for fam, fit in plans:
        w = calibrate(fit, rule)
        with with_weights(*w):
            for target in [f for f in fams if f != fam] + ["real"]:
                test = {k: v for k, v in sets.items() if family(k) == target}
                if not test:
                    continue
                rel = reliability(test, rule)
                doc["calibration"][f"{fam}->{target}"] = {"weights": w, **rel}
                cal.add_row(fam, str(w), target, str(rel["n"]), f"{rel['ece']:.3f}")
    for target in [*fams, "real"]:  # the weights that ship, on each family
        test = {k: v for k, v in sets.items() if family(k) == target}
        if test:
            rel = reliability(test, rule)
            doc["calibration"][f"shipped->{target}"] = rel
            cal.add_row(
                "shipped", str((D.NUMBER_WEIGHTS, D.NONE_WEIGHTS)), target, str(rel["n"]), f"{rel['ece']:.3f}"
            )
    stdout_console().print(cal)
    atomic_write_json(out, doc)
    console.print(f"wrote {out}")


if __name__ == "__main__":
    guarded(app)

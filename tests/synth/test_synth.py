import hashlib
import itertools
import json

import numpy as np
import pytest
from PIL import Image

from jnr.runtime.data import open_split
from jnr.synth import styles
from jnr.synth.stats import compare
from jnr.synth.tracklet import NO_NUMBER_SHARE, plan_tracklet, render_number, render_tracklet
from jnr.synth.write import DRAWINGS, load_annotations, write_split


@pytest.fixture(scope="module")
def shaded_split(tmp_path_factory):
    """6 tracklets of the second drawing (synth.shaded)."""
    return write_split(
        tmp_path_factory.mktemp("shaded"), "test", 6, (6, 10), seed=7, workers=1, drawing="shaded"
    )


@pytest.fixture(params=sorted(DRAWINGS))
def any_split(request, tiny_split, shaded_split):
    return {"flat": tiny_split, "shaded": shaded_split}[request.param]


def test_split_opens_in_the_data_layer_with_annotations(any_split):
    tiny_split = any_split
    split = open_split(tiny_split)
    assert len(split.tracklets) == 6 and split.gt is not None
    for t in split.tracklets:
        assert 6 <= len(t.frames) <= 10
        ann = load_annotations(tiny_split, t.id)
        assert ann["number"] == split.gt[t.id]
        assert set(ann["frames"]) == {p.name for p in t.frames}
        for p in t.frames:
            a = ann["frames"][p.name]
            kp = np.asarray(a["keypoints"])
            assert kp.shape == (17, 3) and set(np.unique(kp[:, 2])) <= {0, 1, 2}
            w, h = Image.open(p).size
            vis = kp[kp[:, 2] > 0]
            assert (vis[:, 0] >= 0).all() and (vis[:, 0] < w).all() and (vis[:, 1] < h).all()
            if a["readable"]:
                assert a["number_box"] is not None and ann["number"] > 0


def test_numbered_gt_means_readable_frames_and_minus_one_means_none(any_split):
    tiny_split = any_split
    split = open_split(tiny_split)
    for t in split.tracklets:
        readable = [f["readable"] for f in load_annotations(tiny_split, t.id)["frames"].values()]
        assert any(readable) == (split.gt[t.id] != -1)


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def test_deterministic_for_a_seed(tmp_path):
    a = write_split(tmp_path / "a", "test", 2, (3, 5), seed=11, workers=1)
    b = write_split(tmp_path / "b", "test", 2, (3, 5), seed=11, workers=2)
    c = write_split(tmp_path / "c", "test", 2, (3, 5), seed=12, workers=1)
    assert _digest(a) == _digest(b) != _digest(c)


def test_plans_cover_sizes_and_the_illegible_share():
    plans = [plan_tracklet(np.random.default_rng([5, i]), 50, 400) for i in range(300)]
    heights = np.array([p.height0 for p in plans])
    # SoccerNet thumbnails: 89 / 127 / 181 px at the 5th / 50th / 95th percentile (REFERENCE.md)
    assert 40 <= heights.min() and heights.max() <= 320
    assert 110 <= np.median(heights) <= 150 and np.percentile(heights, 5) < 95 < 175 < np.percentile(
        heights, 95
    )
    share = np.mean([p.number == -1 for p in plans])
    assert abs(share - NO_NUMBER_SHARE) < 0.08
    assert all(50 <= p.frames <= 400 for p in plans)
    numbers = {p.number for p in plans if p.number > 0}
    assert (
        len(numbers) >= 80
        and min(numbers) >= 1
        and max(numbers) <= 99
        and len(numbers & set(range(1, 10))) >= 5
    )


def test_readability_changes_slowly_at_25_fps():
    checked = 0
    for index in range(8):
        number, frames, _ = render_tracklet(3, index, 60, 60)
        readable = [a["readable"] for _, _, a in frames]
        if number > 0:  # readable spans are runs, not flicker: the player turns slowly
            checked += 1
            assert sum(a != b for a, b in itertools.pairwise(readable)) < len(readable) / 3
    assert checked >= 2


def test_gt_json_is_the_challenge_format(tiny_split):
    gt = json.loads((tiny_split / "test_gt.json").read_text())
    assert all(isinstance(k, str) and isinstance(v, int) for k, v in gt.items())


def test_font_families_and_styles_are_held_out_whole():
    train = {f for f, _ in styles.fonts("train")}
    unseen = {f for f, _ in styles.fonts("unseen")}
    assert train and unseen and not train & unseen
    assert {p for _, p in styles.fonts("train")}.isdisjoint(p for _, p in styles.fonts("unseen"))
    for table in (styles.PATTERNS, styles.NUMBER_STYLES):
        assert set(table["unseen"]) - set(table["train"]), "the unseen side has styles of its own"


@pytest.mark.parametrize("side", ["train", "unseen"])
def test_a_split_of_one_side_uses_only_that_sides_styles(tmp_path, side):
    split = write_split(tmp_path, "test", 8, (2, 3), seed=3, workers=1, styles=side)
    fams = {f.name: f.side for f in styles.FAMILIES}
    for t in open_split(split).tracklets:
        st = load_annotations(split, t.id)["style"]
        assert st["side"] == side
        assert fams.get(st["family"], side) == side  # "Pillow" only where no font at all is installed
        assert st["pattern"] in styles.PATTERNS[side] and st["number_style"] in styles.NUMBER_STYLES[side]


def test_unknown_styles_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="unknown --styles"):
        write_split(tmp_path, "test", 1, (1, 1), seed=0, workers=1, styles="nope")


def test_number_styles_render_what_they_say():
    white, red = (255, 255, 255), (0, 0, 255)
    fill = render_number(47, "<pillow>", "fill", white, red)
    two = render_number(47, "<pillow>", "two-tone", white, red)
    outline = render_number(47, "<pillow>", "outline", white, red, 5)
    is_red = lambda im: ((im[..., 3] > 0) & (im[..., :3] == red).all(-1)).sum()  # noqa: E731
    assert is_red(fill) == 0
    top, bottom = two[: two.shape[0] // 2], two[two.shape[0] // 2 :]
    assert is_red(top) == 0 < is_red(bottom)
    assert is_red(outline) > 0 and outline.shape[0] > fill.shape[0]


@pytest.mark.parametrize("drawing", sorted(DRAWINGS))
def test_sizes_and_number_placement_look_like_soccernet(tmp_path, drawing):
    split = write_split(tmp_path, "test", 24, (20, 30), seed=5, workers=2, drawing=drawing)
    rows = {r["quantity"]: r for r in compare(split)}
    ratio = rows["height / width"]["synthetic"][1]
    cy = rows["number centre y / height"]["synthetic"][1]
    nh = rows["number height / height"]["synthetic"][1]
    assert 1.9 <= ratio <= 2.8 and 0.27 <= cy <= 0.36 and 0.16 <= nh <= 0.25


def test_the_shaded_drawing_has_glyphs_of_its_own():
    from jnr.synth import shaded

    table = {name for f in styles.FAMILIES for name in f.files}
    assert not set(shaded.FACES) & table
    assert set(shaded.GLYPHS) >= {"hershey", "block"}  # stroke and bar digits: never a font of the table
    rng = np.random.default_rng(0)
    for kind in shaded.GLYPHS:
        a = shaded.glyph_image("47", kind, rng)
        assert a.ndim == 2 and a.shape[0] > 40 and a.shape[1] > a.shape[0] * 0.5 and a.max() == 255


def test_the_shaded_drawing_prints_the_number_unmirrored_on_the_back():
    """A '1' then a block '7': seen from behind, the narrow '1' is on the left half of the number box."""
    from dataclasses import replace

    from jnr.synth import shaded

    rng = np.random.default_rng(1)
    p = shaded.plan(rng, 1, 1)
    for _ in range(30):  # a numbered, plain, unblurred plan
        if p.number > 0:
            break
        p = shaded.plan(rng, 1, 1)
    p = replace(p, number=17, theta0=np.pi, omega=0.0, wobble=0.0, blur_p=0.0, defocus_p=0.0, occl_p=0.0,
                number_alpha=shaded.glyph_image("17", "block", rng), name_alpha=None, sponsor_alpha=None,
                height0=300.0, kit=replace(p.kit, pattern="plain", edge=None))  # fmt: skip
    p.kit.jersey[:] = (20, 20, 20)
    p.kit.ink[:] = (250, 250, 250)
    crop, ann = shaded.render_frame(p, 0, rng, 0.0)
    assert ann["readable"]
    x0, y0, x1, y1 = (int(v) for v in ann["number_box"])
    ink = crop[y0:y1, x0:x1].mean(-1) > 150
    left, right = ink[:, : ink.shape[1] // 2].sum(), ink[:, ink.shape[1] // 2 :].sum()
    assert left < right  # block '1' is one bar, block '7' is three


def test_unknown_drawing_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="unknown --drawing"):
        write_split(tmp_path, "test", 1, (1, 1), seed=0, workers=1, drawing="nope")


def test_thin_readable_keeps_short_runs_of_the_share_and_fills_with_the_tracklets_own_frames():
    import random

    from jnr.synth.write import RARE_WINDOW, thin_readable

    frames = [(k, f"jpeg{k}", {"readable": 20 <= k < 180, "k": k}) for k in range(200)]
    thin = thin_readable(frames, 0.05, random.Random(0))
    assert [k for k, _, _ in thin] == list(range(200))
    kept = [k for k, _, ann in thin if ann["readable"]]
    assert len(kept) == 10 and all(20 <= k < 180 for k in kept)
    for k, jpeg, ann in thin:  # a kept frame is itself; a replaced one is one of the unreadable frames
        if ann["readable"]:
            assert jpeg == f"jpeg{k}" and ann["k"] == k
        else:
            assert not 20 <= ann["k"] < 180 and jpeg == f"jpeg{ann['k']}"
    runs = [len(list(g)) for r, g in itertools.groupby(ann["readable"] for _, _, ann in thin) if r]
    assert max(runs) <= RARE_WINDOW
    every = [(k, "j", {"readable": True}) for k in range(10)]
    assert thin_readable(every, 0.05, random.Random(0)) == every  # nothing numberless to fill with


def test_readable_share_thins_numbered_tracklets_only(tmp_path):
    plain = write_split(tmp_path / "a", "test", 6, (30, 40), seed=7, workers=1)
    rare = write_split(tmp_path / "b", "test", 6, (30, 40), seed=7, workers=1, readable_share=0.05)
    gt = json.loads((rare / "test_gt.json").read_text())
    assert gt == json.loads((plain / "test_gt.json").read_text())
    thinned = 0
    for tid, number in gt.items():
        a = [f["readable"] for f in load_annotations(plain, tid)["frames"].values()]
        b = [f["readable"] for f in load_annotations(rare, tid)["frames"].values()]
        assert len(a) == len(b)
        if number == -1 or all(a):
            assert a == b
        else:
            assert 1 <= sum(b) <= min(sum(a), round(0.05 * len(b)) or 1)
            thinned += sum(b) < sum(a)
    assert thinned  # the seed draws numbered tracklets with more readable frames than the share
    with pytest.raises(ValueError, match="readable-share"):
        write_split(tmp_path / "c", "test", 1, (1, 1), seed=0, workers=1, readable_share=0)

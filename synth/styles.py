"""The renderer's style table: font families, jersey patterns and number styles, each on one side of the
train / unseen split.

Whole families and styles are held out, never frames or tracklets of a style the training saw: a model
chosen on ``--styles unseen`` data has met none of its fonts, shirt patterns or number treatments.
Fonts come from Debian's font packages where installed (``DEBIAN_FONTS``) and from matplotlib's own
fonts otherwise, so both sides always have at least one family.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

Side = Literal["train", "unseen"]
SIDES: tuple[str, ...] = ("train", "unseen", "all")

# apt-get install these for the full table (README: "Synthetic data")
DEBIAN_FONTS = (
    "fonts-liberation fonts-freefont-ttf fonts-roboto-unhinted fonts-open-sans fonts-lato fonts-cantarell "
    "fonts-croscore fonts-crosextra-carlito fonts-crosextra-caladea fonts-urw-base35 fonts-bebas-neue "
    "fonts-league-spartan fonts-go fonts-jura fonts-comfortaa"
)


@dataclass(frozen=True)
class Family:
    name: str
    side: Side
    files: tuple[str, ...]  # file names of the family's bold-ish faces, any of which may be installed


FAMILIES: tuple[Family, ...] = (
    # train: the grotesque and humanist sans faces most kits use
    Family("DejaVu Sans", "train", ("DejaVuSans-Bold.ttf", "DejaVuSansCondensed-Bold.ttf")),
    Family("Liberation Sans", "train", ("LiberationSans-Bold.ttf", "Arimo-Bold.ttf")),
    Family("Roboto", "train", ("Roboto-Bold.ttf", "Roboto-Black.ttf", "Roboto-Medium.ttf")),
    Family("Open Sans", "train", ("OpenSans-Bold.ttf", "OpenSans-ExtraBold.ttf", "OpenSans-CondBold.ttf")),
    Family("Lato", "train", ("Lato-Bold.ttf", "Lato-Black.ttf", "Lato-Heavy.ttf")),
    Family("FreeSans", "train", ("FreeSansBold.ttf",)),
    Family("Go", "train", ("Go-Bold.ttf", "Go-Medium.ttf")),
    Family("Bebas Neue", "train", ("BebasNeue-Bold.otf", "BebasNeue-Regular.otf")),
    Family("Carlito", "train", ("Carlito-Bold.ttf",)),
    Family("Nimbus Sans", "train", ("NimbusSans-Bold.otf",)),
    Family("Cantarell", "train", ("Cantarell-Bold.otf", "Cantarell-ExtraBold.otf")),
    Family("STIX", "train", ("STIXGeneralBol.ttf",)),
    # unseen: geometric, condensed, rounded, slab/serif and monospaced designs
    Family("League Spartan", "unseen", ("LeagueSpartan-Bold.otf", "LeagueSpartan-Black.otf")),
    Family("Sans Narrow", "unseen", ("LiberationSansNarrow-Bold.ttf", "NimbusSansNarrow-Bold.otf")),
    Family("URW Gothic", "unseen", ("URWGothic-Demi.otf",)),
    Family("Jura", "unseen", ("Jura-Bold.otf", "Jura-SemiBold.otf")),
    Family("Comfortaa", "unseen", ("Comfortaa-Bold.ttf",)),
    Family("Serif", "unseen", ("LiberationSerif-Bold.ttf", "Tinos-Bold.ttf", "Caladea-Bold.ttf")),
    Family("Mono", "unseen", ("LiberationMono-Bold.ttf", "Cousine-Bold.ttf", "FreeMonoBold.ttf")),
    Family("DejaVu Serif", "unseen", ("DejaVuSerif-Bold.ttf",)),
    Family("Computer Modern Sans", "unseen", ("cmss10.ttf",)),
)

# Jersey patterns and number treatments, held out the same way.
PATTERNS: dict[Side, tuple[str, ...]] = {
    "train": ("plain", "plain", "vstripes", "halves"),
    "unseen": ("hoops", "sash", "plain"),
}
NUMBER_STYLES: dict[Side, tuple[str, ...]] = {
    "train": ("fill", "fill", "outline"),
    "unseen": ("shadow", "two-tone", "fill"),
}


def _roots() -> list[Path]:
    roots = [Path("/usr/share/fonts")]
    try:
        import matplotlib

        roots.append(Path(matplotlib.get_data_path()) / "fonts" / "ttf")
    except ImportError:
        pass
    return [r for r in roots if r.exists()]


@lru_cache(maxsize=1)
def installed() -> dict[str, Path]:
    """Font file name -> path, for every .ttf / .otf under the roots (the first found wins)."""
    out: dict[str, Path] = {}
    for root in _roots():
        for p in sorted(root.rglob("*")):
            if p.suffix.lower() in (".ttf", ".otf"):
                out.setdefault(p.name, p)
    return out


@lru_cache(maxsize=4)
def fonts(side: str) -> tuple[tuple[str, str], ...]:
    """(family, font path) pairs installed for ``side`` (train, unseen or all), sorted."""
    if side not in SIDES:
        raise ValueError(f"unknown styles {side!r}; known: {', '.join(SIDES)}")
    have = installed()
    out = [
        (f.name, str(have[name]))
        for f in FAMILIES
        if side in ("all", f.side)
        for name in f.files
        if name in have
    ]
    return tuple(out) or (("Pillow", "<pillow>"),)


def missing_families() -> list[str]:
    """Families of the table with no face installed here."""
    have = installed()
    return [f.name for f in FAMILIES if not any(n in have for n in f.files)]


def choices(table: dict[Side, tuple[str, ...]], side: str) -> tuple[str, ...]:
    return table["train"] + table["unseen"] if side == "all" else table[side]  # type: ignore[index]

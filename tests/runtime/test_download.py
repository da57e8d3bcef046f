import zipfile

import pytest

from jnr.runtime.data import open_split
from jnr.runtime.download import unpack
from jnr.runtime.errors import JnrError


def _zip(path, names):
    with zipfile.ZipFile(path, "w") as zf:
        for n in names:
            zf.writestr(n, b"x" if not n.endswith(".json") else b'{"0": 4}')


@pytest.mark.parametrize("prefix", ["test/", ""])
def test_unpack_into_split_layout(tmp_path, prefix):
    z = tmp_path / "test.zip"
    _zip(z, [f"{prefix}images/0/0_1.jpg", f"{prefix}images/0/0_2.jpg", f"{prefix}test_gt.json"])
    dest = unpack(z, tmp_path / "data", "test")
    assert dest == tmp_path / "data/test"
    split = open_split(dest)
    assert [t.id for t in split.tracklets] == ["0"] and split.gt == {"0": 4}


@pytest.mark.parametrize(
    ("names", "message"), [(["readme.txt"], "no images/"), (["../evil/images/x.jpg"], "unsafe")]
)
def test_unpack_rejects_bad_archives(tmp_path, names, message):
    z = tmp_path / "test.zip"
    _zip(z, names)
    with pytest.raises(JnrError, match=message):
        unpack(z, tmp_path / "data", "test")


def test_unpack_rejects_non_zip(tmp_path):
    z = tmp_path / "test.zip"
    z.write_bytes(b"partial download")
    with pytest.raises(JnrError, match="not a zip"):
        unpack(z, tmp_path, "test")

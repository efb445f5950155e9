"""formats.sparse: the sparse disk-image value, and imgtool.output.write_sparse_atomic."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats.errors import FormatError
from formats.sparse import SparseImage, concat, reader
from imgtool.errors import InputError
from imgtool.output import write_sparse_atomic


@st.composite
def images(draw, max_size: int = 6000):
    size = draw(st.integers(0, max_size))
    extents, pos = [], 0
    while pos < size and len(extents) < 6:
        pos += draw(st.integers(0, 900))
        n = draw(st.integers(1, 700))
        if pos + n > size:
            break
        extents.append((pos, draw(st.binary(min_size=n, max_size=n))))
        pos += n
    return SparseImage(size, extents)


def dense(img: SparseImage) -> bytes:
    out = bytearray(img.size)
    for o, d in img.extents:
        out[o:o + len(d)] = d
    return bytes(out)


@settings(max_examples=60, deadline=None)
@given(img=images(), data=st.data())
def test_views_agree_with_the_dense_bytes(img, data):
    d = dense(img)
    assert img.to_bytes() == d
    assert b"".join(img.chunks(data.draw(st.integers(1, 999)))) == d
    off = data.draw(st.integers(0, img.size))
    n = data.draw(st.integers(0, img.size - off))
    assert img.read(off, n) == d[off:off + n]
    assert b"".join(img.iter_range(off, n, 333)) == d[off:off + n]
    assert sum(n for _, n, _ in img.segments()) == img.size
    # data_ranges cover every extent byte, nothing else
    covered = bytearray(img.size)
    for o, k in img.data_ranges():
        covered[o:o + k] = b"\1" * k
    assert all(covered[o:o + len(x)] == b"\1" * len(x) for o, x in img.extents)
    assert sum(covered) == img.data_size
    # nonzero_ranges: exactly the 512-byte blocks holding a non-zero byte
    blocks = {i // 512 for i, b in enumerate(d) if b}
    got = {b for o, k in img.nonzero_ranges() for b in range(o // 512, -(-(o + k) // 512))}
    assert got == blocks
    assert SparseImage.from_bytes(d, block=512) == img
    assert SparseImage.from_bytes(d) == img


def test_a_gib_disk_is_cheap():
    disk = SparseImage(1 << 30, [(0, b"\x55" * 512)])
    part = SparseImage(64 << 20, [(0, b"boot"), (32 << 20, b"fat")])
    disk = disk.place(1 << 20, part)
    assert disk.data_size == 512 + 7
    assert disk.data_ranges() == [(0, 512), (1 << 20, 4), ((1 << 20) + (32 << 20), 3)]
    assert disk.read((1 << 20) + (32 << 20) - 1, 5) == b"\0fat\0"
    assert disk.resized(2 << 30).size == 2 << 30
    assert concat(1 << 30, [(0, b"\x55" * 512), (1 << 20, part)]) == disk


def test_errors_name_the_extent():
    with pytest.raises(FormatError, match="overlaps") as e:
        SparseImage(100, [(10, b"abc"), (11, b"x")])
    assert e.value.offset == 11 and e.value.field == "extent"
    with pytest.raises(FormatError, match="past the image end"):
        SparseImage(10, [(8, b"abc")])
    with pytest.raises(FormatError, match="does not fit"):
        SparseImage(10).place(5, b"123456")
    with pytest.raises(FormatError, match="overlaps"):
        SparseImage(10, [(0, b"ab")]).place(1, SparseImage(4, [(0, b"x")]))
    with pytest.raises(FormatError, match="outside"):
        SparseImage(10).read(8, 3)
    with pytest.raises(FormatError, match="past the image end"):
        SparseImage(10, [(5, b"abc")]).resized(6)
    with pytest.raises(FormatError):
        reader(object())


def test_placing_keeps_holes_of_the_sub_image():
    disk = SparseImage(100, [(0, b"ab")]).place(2, SparseImage(50, [(40, b"z")]))
    assert disk.extents[1][0] == 42 and disk.data_size == 3


def test_bytearray_input_is_copied():
    buf = bytearray(b"abc")
    img = SparseImage(3, [(0, buf)])
    buf[0] = ord("x")
    assert img.to_bytes() == b"abc"


def test_write_sparse_atomic_leaves_holes(tmp_path):
    img = SparseImage(1 << 30, [(0, b"\xeb" * 512), (700 << 20, b"payload" * 1000)])
    seen = []
    out = tmp_path / "disk.raw"
    write_sparse_atomic(out, img, progress=lambda d, t: seen.append((d, t)))
    st = out.stat()
    assert st.st_size == 1 << 30
    assert st.st_blocks * 512 < 1 << 20  # holes, not 1 GiB of zeros
    assert seen[-1] == (img.data_size, img.data_size)
    with open(out, "rb") as f:
        assert f.read(512) == b"\xeb" * 512
        f.seek(700 << 20)
        assert f.read(7000) == b"payload" * 1000
    fd = os.open(out, os.O_RDONLY)
    try:
        assert os.lseek(fd, 1 << 20, os.SEEK_DATA) >= (699 << 20)
    finally:
        os.close(fd)
    assert [p.name for p in tmp_path.iterdir()] == ["disk.raw"]


def test_write_sparse_atomic_refuses_a_missing_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        write_sparse_atomic(tmp_path / "no" / "disk.raw", SparseImage(10))

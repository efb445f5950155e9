"""formats.tar: GNU tar and Python's tarfile read what the writer makes, byte for byte as GNU tar."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats import fat, gpt, tar
from formats.errors import FormatError
from formats.sparse import SparseImage
from tests.disk_helpers import FILE_SETS, need, pseudo, run, write

MIB, GIB = 1 << 20, 1 << 30
T0 = 1700000000
UTC = dict(os.environ, TZ="UTC", LC_ALL="C")

#: Images whose holes are whole file-system blocks, so GNU tar's own sparse test (fewer
#: allocated blocks than the size) agrees with ours (the map has a hole).
IMAGES = {
    "disk.raw": SparseImage(8 * MIB, [(0, b"A" * 100), (MIB, b"B" * 100), (3 * MIB, pseudo(5000, "c"))]),
    "many.raw": SparseImage(30 * 65536 + 700, [(i * 65536, bytes([65 + i % 26]) * 700) for i in range(31)]),
    "ext2.raw": SparseImage(60 * 65536, [(i * 65536, b"x" * (i + 1)) for i in range(0, 60, 2)]),
    "dense.bin": SparseImage.from_bytes(pseudo(3000, "d")),
    "zeros.raw": SparseImage(MIB),
    "zero-blocks-in-data.raw": SparseImage(256 * 1024, [(0, b"a" + bytes(20000) + b"b")]),
    "empty": SparseImage(0),
    "n" * 130: SparseImage.from_bytes(b"long name\n"),
}


def _gnu(tar_bin: str, folder: Path, names, extra, raw_scan: bool = True) -> bytes:
    """GNU tar's uncompressed oldgnu archive of ``names`` with the fields ``ours`` uses."""
    detect = ["--hole-detection=raw"] if raw_scan else []
    return subprocess.run([tar_bin, "--format=oldgnu", "-S", *detect, "-cf", "-", "-C", str(folder),
                           "--owner=builder:1000", "--group=staff:50", f"--mtime=@{T0}", "--mode=0640", *extra,
                           *names], capture_output=True, check=True, env=UTC).stdout


def ours(images: dict, **kw) -> bytes:
    members = [tar.TarMember(n, img, mode=0o640, mtime=T0, uid=1000, gid=50, uname="builder", gname="staff", **kw)
               for n, img in images.items()]
    return b"".join(bytes(c) for c in tar.stream(members))


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tarin")
    for name, img in IMAGES.items():
        write(img, d / name)
    return d


@pytest.mark.parametrize("name", list(IMAGES), ids=lambda n: n[:20])
def test_byte_identical_to_gnu_tar(image_dir, name):
    ref = _gnu(need("tar"), image_dir, [name], ())
    assert ours({name: IMAGES[name]}) == ref


def test_several_members_byte_identical(image_dir, tmp_path):
    names = ["disk.raw", "dense.bin", "many.raw"]
    archive = ours({n: IMAGES[n] for n in names})
    assert archive == _gnu(need("tar"), image_dir, names, ())
    (tmp_path / "a.tar").write_bytes(archive)
    listing = [ln.split() for ln in run(need("tar"), "-tvf", tmp_path / "a.tar", env=UTC).stdout.splitlines()]
    assert [(ln[0], ln[1], int(ln[2]), ln[5]) for ln in listing] == \
        [("-rw-r-----", "builder/staff", IMAGES[n].size, n) for n in names]


def test_sparse_headers():
    h, regions = tar.member_headers(tar.TarMember("ext2.raw", IMAGES["ext2.raw"]))
    assert len(h) == 3 * 512  # header (4 entries) + 21 + 5 in two extension blocks
    assert h[156:157] == b"S" and h[482] == 1 and h[512 + 504] == 1 and h[1024 + 504] == 0
    assert h[483:495] == b"%011o\0" % (60 * 65536)
    assert len(regions) == 30 and regions[0] == (0, 512)
    assert tar.sparse_map(IMAGES["zeros.raw"]) == [(MIB, 0)]
    assert tar.sparse_map(IMAGES["disk.raw"])[-1] == (8 * MIB, 0)
    assert tar.sparse_map(IMAGES["zero-blocks-in-data.raw"]) == [(0, 512), (19968, 512), (256 * 1024, 0)]


def test_large_numbers_are_base_256(tmp_path):
    """realsize and offsets of a 10 GiB disk do not fit 11 octal digits: GNU tar's base-256."""
    img = SparseImage(10 * GIB, [(0, b"X" * 4096), (9 * GIB, b"Y" * 4096)])
    write(img, tmp_path / "big.raw")
    # whole 4 KiB blocks of data: GNU tar's SEEK_DATA map (fast) equals the raw-scan one
    assert ours({"big.raw": img}) == _gnu(need("tar"), tmp_path, ["big.raw"], (), raw_scan=False)
    entry, = tar.parse(ours({"big.raw": img}))
    assert entry.size == 10 * GIB and entry.sparse_map == ((0, 4096), (9 * GIB, 4096), (10 * GIB, 0))


@pytest.fixture(scope="session")
def gce_disk():
    """A 1 GiB GPT disk with an ESP, as the GCE UEFI route makes it."""
    (a, b), = gpt.plan(GIB, [None])
    vol = fat.build(FILE_SETS["esp"], size=(b - a + 1) * 512, fat_type=32, hidden_sectors=a, timestamp=T0,
                    volume_id=0x5EED)
    return gpt.build(GIB, [gpt.GptPartition("esp", a, b, "EFI system partition")], seed=T0, contents=[vol])


@pytest.fixture(scope="session")
def gce_tarball(gce_disk, tmp_path_factory):
    d = tmp_path_factory.mktemp("gce")
    seen = []
    members = [tar.TarMember("disk.raw", gce_disk, mtime=T0)]
    data = b"".join(tar.build_gz(members, progress=lambda done, total: seen.append((done, total))))
    (d / "compressed-image.tar.gz").write_bytes(data)
    write(gce_disk, d / "disk.raw")
    return d, data, seen


def test_gnu_tar_lists_and_restores_the_disk(gce_disk, gce_tarball, tmp_path):
    tar_bin = need("tar")
    d, data, _ = gce_tarball
    listing = run(tar_bin, "-tvzf", d / "compressed-image.tar.gz", env=UTC).stdout.splitlines()
    assert [ln.split() for ln in listing] == [["-rw-r--r--", "0/0", str(GIB), "2023-11-14", "22:13", "disk.raw"]]
    run(tar_bin, "-xSzf", d / "compressed-image.tar.gz", "-C", tmp_path, env=UTC)
    out = tmp_path / "disk.raw"
    assert out.stat().st_size == GIB
    run("cmp", out, d / "disk.raw")
    # holes where the map says: allocated data lies inside the map's regions (rounded to fs blocks)
    smap = tar.sparse_map(gce_disk)
    blk = os.statvfs(tmp_path).f_bsize
    rounded: list[list[int]] = []
    for o, n in smap:
        if n:
            lo, hi = o // blk * blk, -(-(o + n) // blk) * blk
            if rounded and rounded[-1][1] >= lo:
                rounded[-1][1] = max(rounded[-1][1], hi)
            else:
                rounded.append([lo, hi])

    def covered(start: int, end: int) -> bool:
        return any(lo <= start and end <= hi for lo, hi in rounded)

    fd = os.open(out, os.O_RDONLY)
    try:
        pos = 0
        while True:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            assert covered(start, end), (start, end)
            pos = end
    finally:
        os.close(fd)
    assert out.stat().st_blocks * 512 < 16 * MIB


def test_gzip_is_deterministic_and_readable(gce_disk, gce_tarball):
    _, data, seen = gce_tarball
    assert data[:10] == bytes.fromhex("1f8b0800000000000003")
    members = [tar.TarMember("disk.raw", gce_disk, mtime=T0)]
    assert b"".join(tar.build_gz(members)) == data
    raw = gzip.decompress(data)
    assert len(raw) == tar.archive_size(members) == seen[-1][0] == seen[-1][1]
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    later = gzip.decompress(b"".join(tar.build_gz([tar.TarMember("disk.raw", gce_disk, mtime=T0 + 1)])))
    assert [i for i in range(len(raw)) if raw[i] != later[i]] and \
        all(136 <= i < 156 for i in range(len(raw)) if raw[i] != later[i])  # mtime and chksum only
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        m = t.getmember("disk.raw")
        assert m.size == GIB and m.issparse()
        f = t.extractfile(m)
        for offset, length in gce_disk.data_ranges():
            f.seek(offset)
            assert f.read(length) == gce_disk.read(offset, length)
    for level, xfl in ((1, 4), (9, 2)):
        assert b"".join(tar.build_gz(members[:0], level=level))[8] == xfl


def test_reader_lists_and_extracts(gce_disk, gce_tarball, image_dir):
    _, data, _ = gce_tarball
    entry, = tar.parse(data)
    assert (entry.name, entry.typeflag, entry.size, entry.mode, entry.mtime) == ("disk.raw", "S", GIB, 0o644, T0)
    assert entry.sparse_map == tuple(tar.sparse_map(gce_disk))
    assert tar.extract(data, "disk.raw") == gce_disk
    # archives GNU tar wrote itself, seek-based hole detection, gzip
    ref = _gnu(need("tar"), image_dir, ["disk.raw", "dense.bin", "n" * 130], ("-z",))
    ref = ref if ref[:2] == b"\x1f\x8b" else gzip.compress(ref)
    assert [e.name for e in tar.parse(ref)] == ["disk.raw", "dense.bin", "n" * 130]
    for n in ("disk.raw", "dense.bin", "n" * 130):
        assert tar.extract(ref, n) == IMAGES[n]
    with pytest.raises(FormatError, match="no member"):
        tar.extract(ref, "nope")


def test_dense_member_when_asked():
    img = IMAGES["disk.raw"]
    raw = ours({"disk.raw": img}, sparse=False)
    entry, = tar.parse(raw)
    assert entry.typeflag == "0" and entry.stored_size == img.size and entry.sparse_map is None
    assert tar.extract(raw, "disk.raw") == img
    with tarfile.open(fileobj=io.BytesIO(raw)) as t:
        assert t.extractfile("disk.raw").read() == img.to_bytes()


def test_writer_errors():
    with pytest.raises(FormatError, match="uname"):
        tar.member_headers(tar.TarMember("a", b"", uname="u" * 33))
    with pytest.raises(FormatError, match="empty"):
        tar.member_headers(tar.TarMember("", b""))
    with pytest.raises(FormatError, match="level"):
        next(tar.gzip_stream([], level=0))


SAMPLE = ours({"many.raw": IMAGES["many.raw"], "dense.bin": IMAGES["dense.bin"], "n" * 130: IMAGES["n" * 130]})
SAMPLE_GZ = gzip.compress(SAMPLE, mtime=0)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_reader_on_mutated_archives_raises_only_format_errors(data):
    raw = bytearray(SAMPLE)
    for _ in range(data.draw(st.integers(1, 6))):
        off = data.draw(st.sampled_from([0, 100, 124, 148, 156, 386, 482, 483, 512, 1016, 1536, 2048, 2560]))
        off += data.draw(st.integers(0, 40))
        raw[off] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):  # fix the first header's checksum to get past it
        raw[148:156] = b" " * 8
        raw[148:156] = b"%06o\0 " % sum(raw[:512])
    cut = data.draw(st.integers(0, len(raw)))
    blob = bytes(raw[:cut]) if data.draw(st.booleans()) else bytes(raw)
    try:
        for e in tar.parse(blob):
            tar.extract(blob, e.name)
    except FormatError as exc:
        assert exc.field


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=3000), st.booleans())
def test_reader_on_random_bytes_raises_only_format_errors(blob, gz):
    if gz:
        blob = b"\x1f\x8b" + blob
    try:
        tar.parse(blob)
    except FormatError as exc:
        assert exc.field


def test_parallel_gzip_is_one_valid_stream_whatever_the_workers():
    data = pseudo(3 * tar.GZIP_PIECE + 12345, "gz") + bytes(2 * tar.GZIP_PIECE) + b"tail" * 9000
    outs = {w: b"".join(tar.gzip_stream([data[i:i + 70001] for i in range(0, len(data), 70001)], workers=w))
            for w in (1, 2, 5)}
    assert outs[1] == outs[2] == outs[5]
    assert gzip.decompress(outs[1]) == data
    assert b"".join(tar.gzip_stream([data], workers=3)) == outs[1]  # chunking does not matter either
    gz = need("gzip")
    assert subprocess.run([gz, "-t"], input=outs[1]).returncode == 0
    # pieces cost almost nothing in size against one serial zlib stream
    assert len(outs[1]) <= len(gzip.compress(data, 6)) * 1.01


def test_sparseness_follows_the_content_not_the_file_system(tmp_path):
    """GNU tar stores this 5000-byte file with a 3.5 KiB hole densely ('0'), because the file
    system allocated its only block; we store it sparse ('S') from the content. GNU tar
    extracts ours to the same bytes."""
    tar_bin = need("tar")
    img = SparseImage(5000, [(4000, b"x" * 1000)])
    write(img, tmp_path / "tail.raw")
    ref = _gnu(tar_bin, tmp_path, ["tail.raw"], ())
    assert ref[156:157] == b"0"
    mine = ours({"tail.raw": img})
    assert mine[156:157] == b"S" and tar.parse(mine)[0].sparse_map == ((3584, 1416),)
    (tmp_path / "x").mkdir()
    subprocess.run([tar_bin, "-xSf", "-", "-C", str(tmp_path / "x")], input=mine, check=True)
    assert (tmp_path / "x" / "tail.raw").read_bytes() == img.to_bytes()

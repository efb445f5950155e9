"""formats.crc: catalogue check values, every tier against the pure twin and against
independent implementations (crcmod, zlib, binascii, google-crc32c), incremental update,
combine, repeat, buffer handling, errors, environment overrides, and an ASan/UBSan build
of the C core."""

from __future__ import annotations

import array
import binascii
import hashlib
import io
import mmap
import os
import random
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest

from formats import crc
from sanitize_helpers import run_sanitized
from formats.errors import FormatError

from hypothesis import given, settings, strategies as st  # a test dependency: missing, collection fails

REPO = Path(__file__).resolve().parents[1]
TIERS = crc.available_tiers()
C_TIERS = [t for t in TIERS if t != "python"]
FAST_TIERS = [t for t in TIERS if t not in ("python", "bitwise")]

REQUIRED = {
    "CRC-32/ISO-HDLC": 0xCBF43926,
    "CRC-32/JAMCRC": 0x340BC6D9,
    "CRC-32/MPEG-2": 0x0376E6E7,
    "CRC-32/ISCSI": 0xE3069283,
    "CRC-32/BZIP2": 0xFC891918,
    "CRC-16/XMODEM": 0x31C3,
    "CRC-16/IBM-3740": 0x29B1,
    "CRC-16/KERMIT": 0x2189,
    "CRC-16/ARC": 0xBB3D,
    "CRC-8/SMBUS": 0xF4,
    "CRC-64/XZ": 0x995DC9BBDF1939FA,
    "CRC-64/ECMA-182": 0x6C40DF5F0B497347,
}

# models exercised with long random inputs: every bit order, odd widths, 8..64
HEAVY = [
    "CRC-32/ISO-HDLC", "CRC-32/MPEG-2", "CRC-32/ISCSI", "CRC-16/XMODEM", "CRC-16/KERMIT",
    "CRC-16/ARC", "CRC-8/SMBUS", "CRC-64/XZ", "CRC-64/ECMA-182", "CRC-12/UMTS", "CRC-3/GSM",
    "CRC-5/USB", "CRC-24/OPENPGP", "CRC-31/PHILIPS", "CRC-40/GSM", "CRC-10/ATM",
]

RNG = random.Random(0x1D0F)
BIG = bytes(RNG.getrandbits(8) for _ in range(1 << 17))


def _reflect(v, w):
    return int(format(v, f"0{w}b")[::-1], 2)


def crcmod_fun(m: crc.CrcModel):
    """crcmod's function for m, or None where crcmod cannot express it."""
    import crcmod  # a test dependency (pyproject [test])
    if m.width not in (8, 16, 24, 32, 64) or m.refin != m.refout:
        return None
    # crcmod's initCrc is the start register (reflected for reflected models) XOR xorOut
    init = (_reflect(m.init, m.width) if m.refin else m.init) ^ m.xorout
    return crcmod.mkCrcFun((1 << m.width) | m.poly, initCrc=init, rev=m.refin, xorOut=m.xorout)


def other_refs(m: crc.CrcModel):
    """Independent C implementations from the standard library and PyPI."""
    refs = {}
    if m.name == "CRC-32/ISO-HDLC":
        refs["zlib"] = zlib.crc32
    if m.name == "CRC-32/JAMCRC":
        refs["zlib"] = lambda d: zlib.crc32(d) ^ 0xFFFFFFFF
    if m.name == "CRC-16/XMODEM":
        refs["binascii"] = lambda d: binascii.crc_hqx(d, 0)
    if m.name == "CRC-32/ISCSI":
        try:
            import google_crc32c

            refs["google_crc32c"] = lambda d: google_crc32c.value(bytes(d))
        except ImportError:
            pass
    fun = crcmod_fun(m)
    if fun is not None:
        refs["crcmod"] = fun
    return refs


# -- the catalogue --------------------------------------------------------------------------


def test_required_models_present():
    for name, check in REQUIRED.items():
        m = crc.get(name)
        assert m.name == name
        assert m.check == check


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("model", crc.models(), ids=lambda m: m.name)
def test_check_value(model, tier):
    m = model.using(tier)
    assert m.tier == tier
    assert m.compute(b"123456789") == model.check
    assert m.compute(bytearray(b"123456789")) == model.check


@pytest.mark.parametrize("model", crc.models(), ids=lambda m: m.name)
def test_residue_and_codeword(model):
    # residue is derived from the parameters; a codeword (data + CRC in the model's byte
    # order) leaves the register at the residue (for whole-byte widths)
    fresh = crc.CrcModel(*model.params)
    assert fresh.check == model.check and fresh.residue == model.residue
    if model.width % 8 == 0 and model.refin == model.refout:
        data = b"123456789"
        word = data + model.digest_bytes(model.compute(data))
        tail = model.compute(word) ^ model.xorout
        assert tail == model.residue


def test_catalogue_names_unique_and_lookup():
    seen = {}
    for m in crc.models():
        for n in (m.name, *m.aliases):
            key = crc._norm(n)
            assert seen.setdefault(key, m) is m, n
            assert crc.get(n) is m
            assert crc.get(n.lower()) is m
    assert crc.get("crc32") is crc.get("CRC-32/ISO-HDLC")
    assert crc.get("crc32c") is crc.get("CRC-32/ISCSI")
    assert crc.get("CCITT-FALSE".join(["CRC-16/", ""])) is crc.get("CRC-16/IBM-3740")
    assert crc.get("crc_32_mpeg_2") is crc.get("CRC-32/MPEG-2")
    assert crc.get("CRC-64/GO-ECMA") is crc.get("CRC-64/XZ")
    assert crc.get_model("xmodem") is crc.get("CRC-16/XMODEM")
    assert len(crc.models()) >= 100


def test_reveng_round_trip():
    for m in crc.models():
        again = crc.CrcModel.from_reveng(m.reveng())
        assert again == m and again.name == m.name and again.check == m.check
    line = ('width=16 poly=0x1021 init=0x0000 refin=false refout=false xorout=0x0000 '
            'check=0x31c3 residue=0x0000 name="CRC-16/XMODEM"')
    assert crc.get(line).check == 0x31C3


# -- errors --------------------------------------------------------------------------------


def test_unknown_model():
    with pytest.raises(FormatError, match="unknown CRC model 'CRC-33/NOPE'"):
        crc.get("CRC-33/NOPE")
    with pytest.raises(FormatError, match="did you mean"):
        crc.get("CRC-32/MPEG2X")
    with pytest.raises(ValueError):  # FormatError is a ValueError
        crc.crc("nope", b"")


@pytest.mark.parametrize("width", [0, 65, -1, 1.5, True])
def test_bad_width(width):
    with pytest.raises(FormatError, match="width must be 1..64"):
        crc.CrcModel(width, 0x7)


def test_bad_parameters():
    with pytest.raises(FormatError, match="poly 0x10000 does not fit in a 16-bit CRC"):
        crc.CrcModel(16, 0x10000)
    with pytest.raises(FormatError, match="init"):
        crc.CrcModel(8, 0x07, init=-1)
    with pytest.raises(FormatError, match="check 0x1234 does not match"):
        crc.CrcModel(16, 0x1021, check=0x1234)
    with pytest.raises(FormatError, match="residue"):
        crc.CrcModel(32, 0x04C11DB7, 0xFFFFFFFF, True, True, 0xFFFFFFFF, residue=1)
    with pytest.raises(FormatError, match="missing the field 'poly'"):
        crc.CrcModel.from_reveng("width=16 init=0")
    with pytest.raises(FormatError, match="unknown CRC tier 'turbo'"):
        crc.get("CRC-32").using("turbo").compute(b"")


@pytest.mark.parametrize("tier", TIERS)
def test_bad_call_arguments(tier):
    m = crc.get("CRC-16/XMODEM").using(tier)
    with pytest.raises(TypeError, match="strings are not accepted"):
        m.compute("123456789")
    with pytest.raises(ValueError, match="does not fit in a 16-bit CRC"):
        m.compute(b"", 0x10000)
    with pytest.raises(ValueError, match="does not fit in a 16-bit CRC"):
        m.combine(0x10000, 0, 1)
    with pytest.raises(ValueError):
        m.combine(0, 0, -1)
    with pytest.raises(ValueError, match="byte must be in range"):
        m.repeat(256, 1)
    with pytest.raises(ValueError):
        m.repeat(0, -5)
    with pytest.raises(ValueError, match="block_size must be positive"):
        m.compute_blocks(b"abc", 0)
    with pytest.raises(BufferError):
        m.compute(memoryview(b"abcdef")[::2])


def test_offset_past_end():
    with pytest.raises(FormatError, match="offset 10 is past the end of the data"):
        crc.crc("CRC-32", b"123456789", offset=10)
    with pytest.raises(FormatError, match="length 5 at offset 6 runs past the end"):
        crc.crc("CRC-32", b"123456789", offset=6, length=5)
    assert crc.crc("CRC-32", b"xx123456789yy", offset=2, length=9) == 0xCBF43926


def test_digest_bytes():
    m = crc.get("CRC-32/ISO-HDLC")
    assert m.digest_bytes(0xCBF43926) == bytes.fromhex("2639f4cb")  # refout: little
    assert m.digest_bytes(0xCBF43926, "big") == bytes.fromhex("cbf43926")
    assert crc.get("CRC-32/MPEG-2").digest_bytes(0x0376E6E7) == bytes.fromhex("0376e6e7")
    assert crc.get("CRC-3/GSM").digest_bytes(4) == b"\x04"
    assert crc.get("CRC-40/GSM").digest_size == 5
    with pytest.raises(ValueError, match="does not fit in 32 bits"):
        m.digest_bytes(1 << 32)
    with pytest.raises(ValueError, match="byteorder"):
        m.digest_bytes(1, "middle")


# -- every tier against the references -----------------------------------------------------


@pytest.mark.parametrize("tier", C_TIERS)
@pytest.mark.parametrize("name", HEAVY)
def test_random_lengths_and_splits(name, tier):
    """Random lengths 0..100,000 with random split points: tier == pure twin == crcmod/zlib."""
    base = crc.get(name)
    m, py = base.using(tier), base.using("python")
    refs = other_refs(base)
    rng = random.Random(hash((name, tier)) & 0xFFFF)
    lengths = [0, 1, 15, 16, 17, 127, 128, 129, 255, 256, 511, 512, 513, 1023, 100_000]
    lengths += [rng.randrange(0, 100_001) for _ in range(6)]
    if tier == "bitwise":
        lengths = [n for n in lengths if n <= 20_000]
    for n in lengths:
        start = rng.randrange(0, 64)
        data = memoryview(BIG)[start : start + n]
        want = py.compute(data)
        assert m.compute(data) == want, (name, tier, n)
        for ref_name, ref in refs.items():
            assert ref(data) == want, (name, ref_name, n)
        k = rng.randrange(0, n + 1)
        a, b = m.compute(data[:k]), m.compute(data[k:])
        assert m.compute(data[k:], a) == want
        assert m.combine(a, b, n - k) == want
        assert py.combine(a, b, n - k) == want
        h = m.new()
        for piece in (data[:k // 2], data[k // 2 : k], data[k:]):
            h.update(piece)
        assert h.crcvalue == want and h.length == n


@pytest.mark.parametrize("tier", FAST_TIERS)
@pytest.mark.parametrize("name", ["CRC-32/ISO-HDLC", "CRC-32/MPEG-2", "CRC-64/ECMA-182", "CRC-64/XZ",
                                  "CRC-16/XMODEM", "CRC-5/USB", "CRC-12/UMTS", "CRC-7/MMC"])
def test_every_length_and_alignment(name, tier):
    """Lengths 0..700 at misalignments 0..63 against the bitwise reference: heads and tails
    are where SIMD bugs live."""
    m, ref = crc.get(name).using(tier), crc.get(name).using("bitwise" if "bitwise" in TIERS else "python")
    mv = memoryview(BIG)
    for n in range(0, 701):
        for off in (0, 1, 3, 7, 8, 15, 31, 63) if n > 64 else range(64):
            d = mv[off : off + n]
            assert m.compute(d) == ref.compute(d), (name, tier, n, off)


@pytest.mark.parametrize("tier", FAST_TIERS)
def test_long_input_and_start_value(tier):
    """A few MiB through the SIMD main loops, with and without a start value."""
    data = memoryview(BIG * 24)
    for name in ("CRC-32/ISO-HDLC", "CRC-32/MPEG-2", "CRC-64/XZ", "CRC-16/XMODEM", "CRC-24/OPENPGP"):
        m, s16 = crc.get(name).using(tier), crc.get(name).using("slice16")
        assert m.compute(data) == s16.compute(data)
        assert m.compute(data[5:], 0x5) == s16.compute(data[5:], 0x5)
    assert crc.get("CRC-32").using(tier).compute(data) == zlib.crc32(data)


@settings(max_examples=150, deadline=None)
@given(
    width=st.integers(1, 64),
    data=st.data(),
    refin=st.booleans(),
    refout=st.booleans(),
    payload=st.binary(min_size=0, max_size=1500),
    split=st.integers(0, 1500),
)
def test_random_models(width, data, refin, refout, payload, split):
    """Random models (the SIMD constants are generated per model) agree across tiers."""
    mask = (1 << width) - 1
    poly = data.draw(st.integers(0, mask)) | 1
    init = data.draw(st.integers(0, mask))
    xorout = data.draw(st.integers(0, mask))
    base = crc.CrcModel(width, poly, init, refin, refout, xorout)
    want = base.using("python").compute(payload)
    k = min(split, len(payload))
    for tier in C_TIERS:
        m = base.using(tier)
        assert m.compute(payload) == want, tier
        assert m.compute(payload[k:], m.compute(payload[:k])) == want
        assert m.combine(m.compute(payload[:k]), m.compute(payload[k:]), len(payload) - k) == want
    fun = crcmod_fun(base)
    if fun is not None:
        assert fun(payload) == want


# -- combine, repeat, blocks ---------------------------------------------------------------


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("name", ["CRC-32/ISO-HDLC", "CRC-32/MPEG-2", "CRC-16/IBM-3740", "CRC-64/XZ",
                                  "CRC-12/UMTS", "CRC-5/USB", "CRC-16/DECT-R"])
def test_repeat_and_combine(name, tier):
    m = crc.get(name).using(tier)
    for byte in (0x00, 0xFF, 0x5A):
        for n in (0, 1, 2, 3, 7, 64, 1000, 4097):
            assert m.repeat(byte, n) == m.compute(bytes([byte]) * n)
            assert m.repeat(byte, n, m.compute(b"head")) == m.compute(b"head" + bytes([byte]) * n)
    # huge counts: consistency of the O(log n) paths with each other
    a, b = 3 << 40, (1 << 45) + 12345
    whole = m.repeat(0xFF, a + b)
    assert m.repeat(0xFF, b, m.repeat(0xFF, a)) == whole
    assert m.combine(m.repeat(0xFF, a), m.repeat(0xFF, b), b) == whole
    assert m.combine(m.compute(b"abc"), m.compute(b""), 0) == m.compute(b"abc")
    assert m.combine(m.compute(b""), m.compute(b"abc"), 3) == m.compute(b"abc")


def test_repeat_matches_zlib_for_padding():
    m = crc.get("CRC-32")
    head = b"firmware"
    assert m.repeat(0xFF, 1 << 20, m.compute(head)) == zlib.crc32(b"\xff" * (1 << 20), zlib.crc32(head))


@pytest.mark.parametrize("tier", TIERS)
def test_compute_blocks(tier):
    m = crc.get("CRC-32/MPEG-2").using(tier)
    data = BIG[:10_000]
    want = [m.compute(data[i : i + 512]) for i in range(0, len(data), 512)]
    assert m.compute_blocks(data, 512) == want
    assert m.compute_blocks(b"", 512) == []


# -- hashlib-style object -----------------------------------------------------------------


def test_hash_object():
    h = crc.new("CRC-32/MPEG-2", b"1234")
    c = h.copy()
    h.update(b"56789")
    assert h.crcvalue == 0x0376E6E7 and int(h) == 0x0376E6E7
    assert h.hexdigest() == "0376e6e7"
    assert h.digest() == bytes.fromhex("0376e6e7")
    assert h.digest_size == 4 and h.name == "CRC-32/MPEG-2" and h.length == 9
    assert c.crcvalue == crc.crc("CRC-32/MPEG-2", b"1234") and c.length == 4
    c.update_repeat(0xFF, 100)
    assert c.crcvalue == crc.crc("CRC-32/MPEG-2", b"1234" + b"\xff" * 100)
    assert crc.get("CRC-64/XZ").new(b"123456789").hexdigest() == "995dc9bbdf1939fa"
    assert crc.get("CRC-3/GSM").new(b"123456789").hexdigest() == "04"


@pytest.mark.allow_skip(reason="Python 3.10 has no hashlib.file_digest", when=sys.version_info < (3, 11))
def test_hashlib_file_digest():
    if not hasattr(hashlib, "file_digest"):
        pytest.skip("hashlib.file_digest is new in Python 3.11")
    f = io.BytesIO(BIG)
    h = hashlib.file_digest(f, lambda: crc.new("CRC-16/XMODEM"))
    assert h.crcvalue == binascii.crc_hqx(BIG, 0)


# -- buffers, threads, pickling ------------------------------------------------------------


@pytest.mark.parametrize("tier", TIERS)
def test_buffer_types(tier, tmp_path):
    m = crc.get("CRC-32/ISO-HDLC").using(tier)
    data = BIG[:70_000]
    want = zlib.crc32(data)
    p = tmp_path / "f.bin"
    p.write_bytes(data)
    with open(p, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        assert m.compute(mm) == want
    assert m.compute(bytearray(data)) == want
    assert m.compute(memoryview(b"\0" + data)[1:]) == want
    assert m.compute(array.array("I", data[:69_996])) == zlib.crc32(data[:69_996])
    ba = bytearray(data)
    m.compute(ba)
    ba.append(1)  # the view was released: the bytearray can be resized again


@pytest.mark.allow_skip(reason="the C core is switched off (IMGTOOL_PURE_PYTHON=1)",
                        when=os.environ.get("IMGTOOL_PURE_PYTHON") == "1")
def test_gil_released_for_large_inputs():
    """A long CRC in a thread lets the main thread run (C tiers release the GIL)."""
    if not FAST_TIERS:
        pytest.skip("no C tier")
    m = crc.get("CRC-32/MPEG-2").using("slice16")
    data = bytes(64 << 20)
    done = threading.Event()
    ticks = 0

    def work():
        m.compute(data)
        done.set()

    t = threading.Thread(target=work)
    t.start()
    while not done.is_set():
        ticks += 1
    t.join()
    assert ticks > 1000


def test_pickle_and_equality():
    import pickle

    m = crc.get("CRC-16/KERMIT")
    m2 = pickle.loads(pickle.dumps(m))
    assert m2 == m and m2.name == m.name and hash(m2) == hash(m)
    with pytest.raises(AttributeError):
        m.width = 3


def test_stm32_word_order():
    # the STM32 CRC unit over bytes 00..0F (words read little-endian, fed MSB first)
    assert crc.crc("CRC-32/MPEG-2", crc.word_swapped(bytes(range(16)))) == 0x081B46CA
    with pytest.raises(FormatError, match="not a multiple of the 4-byte word size"):
        crc.word_swapped(b"abc")


# -- environment overrides -----------------------------------------------------------------


def _run_py(code, **env):
    full = dict(os.environ, **env)
    full.pop("IMGTOOL_CRC_TIER", None) if "IMGTOOL_CRC_TIER" not in env else None
    full.pop("IMGTOOL_PURE_PYTHON", None) if "IMGTOOL_PURE_PYTHON" not in env else None
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=full, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_env_pure_python():
    out = _run_py("from formats import crc, checksum; m = crc.get('CRC-32');"
                  "print(m.tier, hex(m.compute(b'123456789')), checksum.IMPLEMENTATION)",
                  IMGTOOL_PURE_PYTHON="1")
    assert out == "python 0xcbf43926 python"


@pytest.mark.parametrize("tier", TIERS)
def test_env_force_tier(tier):
    out = _run_py("from formats import crc; m = crc.get('CRC-64/XZ');"
                  "print(m.tier, hex(m.compute(b'123456789')))", IMGTOOL_CRC_TIER=tier)
    assert out == f"{tier} 0x995dc9bbdf1939fa"


@pytest.mark.allow_skip(reason="the environment forces a CRC tier, so the default cannot be seen",
                        when=bool(os.environ.get("IMGTOOL_CRC_TIER") or os.environ.get("IMGTOOL_PURE_PYTHON")))
def test_default_tier_is_fastest():
    if os.environ.get("IMGTOOL_CRC_TIER") or os.environ.get("IMGTOOL_PURE_PYTHON"):
        pytest.skip("tier forced by the environment")
    assert crc.get("CRC-32").tier == TIERS[-1]


# -- sanitizers ------------------------------------------------------------------------------

SANITIZER_SCRIPT = r'''
import random, zlib
from formats import crc, checksum
from formats import _crc_py
assert crc._accel is mod and checksum._accel is mod
rng = random.Random(7)
buf = bytes(rng.getrandbits(8) for _ in range(70000))
tiers = [t for t in crc.available_tiers() if t != "python"]
for m in crc.models():
    for t in tiers:
        assert m.using(t).compute(b"123456789") == m.check, (m.name, t)
for name in ("CRC-32/ISO-HDLC", "CRC-32/MPEG-2", "CRC-64/XZ", "CRC-16/XMODEM", "CRC-5/USB"):
    ref = crc.get(name).using("python")
    for t in tiers:
        m = crc.get(name).using(t)
        for n in list(range(0, 300)) + [511, 512, 513, 1024, 4095, 65536, 69000]:
            off = rng.randrange(0, 64)
            d = memoryview(buf)[off:off + n]
            if n < 2000 or name != "CRC-5/USB":
                assert m.compute(d) == ref.compute(d), (name, t, n)
            k = rng.randrange(0, len(d) + 1)
            assert m.combine(m.compute(d[:k]), m.compute(d[k:]), len(d) - k) == m.compute(d)
        assert m.repeat(0xFF, 12345, 1) == ref.repeat(0xFF, 12345, 1)
        assert m.compute_blocks(buf[:5000], 333) == ref.compute_blocks(buf[:5000], 333)
        for bad in (lambda: m.compute("x"), lambda: m.compute(b"", -1), lambda: m.repeat(300, 1),
                    lambda: m.compute_blocks(b"", 0), lambda: m.combine(0, 0, -1)):
            try:
                bad()
            except (TypeError, ValueError, OverflowError):
                pass
            else:
                raise AssertionError("no error")
for n in range(4, 300):
    for off in {0, 1, 2, 3, n - 4} & set(range(n - 3)):
        d = buf[:n]
        assert checksum.pe_checksum(d, off) == checksum._pe_checksum_py(d, off)
try:
    mod.CrcEngine(65, 1, 0, False, False, 0)
except ValueError:
    pass
print("sanitized OK", tiers)
'''


def test_c_core_clean_under_asan_ubsan(tmp_path):
    run_sanitized(tmp_path, SANITIZER_SCRIPT)


# -- the catalogue data file ---------------------------------------------------------------


def test_catalogue_file_is_reveng_lines_with_aliases():
    """formats/crc_catalogue.txt holds each model as `reveng -D` prints it plus its
    aliases; parsing a line (with verification) and printing it again gives the line."""
    text = (REPO / "formats" / "crc_catalogue.txt").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(lines) == len(crc.models())
    for line, m in zip(lines, crc.models()):
        parsed = crc.CrcModel.from_reveng(line, tier="python")  # check and residue verified
        assert parsed == m and parsed.name == m.name and parsed.aliases == m.aliases
        assert m.reveng() + "".join(f' alias="{a}"' for a in m.aliases) == line


def test_catalogue_read_on_first_use():
    code = ("import formats.crc as c; assert c._catalogue_models is None; "
            "assert c.get('crc32').name == 'CRC-32/ISO-HDLC' and c._catalogue_models; print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr

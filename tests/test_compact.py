"""Compact images (docs/compact.md): the stored/zeroed split against objcopy, the compact
.imx against mkimage plus the stub reassembled by binutils, signing and verification
(imgtool and openssl), every stub byte tampered, the Go ELF size ratio, the large-BSS
warning, ``imgtool bin --compact``, ``info`` and ``size``. The boots are in
test_compact_boot.py."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from formats.boot import arm
from formats.compact import compact_image
from formats.elf import ElfFile
from formats.errors import FormatError
from formats.imx.cfg import parse_cfg
from formats.imx.compact import build_compact_imx, find_stub, stub_offset
from formats.imx.image import parse_imx
from formats.loadimage import LoadImage, Region, flatten, split_bss, stored_part
from conftest import build_go
from hab_helpers import SIGNING_TIME, need, openssl_verify_csf, pki
from imx_helpers import run_mkimage, tamago_entry_patch
from payload_helpers import STUBS, assemble_arm, build_payload
from signing import hab
from signing.errors import SigningError
from signing.pki import load_hab_keys

GO_BSS = 32 * 1024 * 1024 + 1  # crypto/internal/fips140/drbg.memory of a Go 1.26 program, + 1 byte
MK2_CFG = Path(__file__).resolve().parent.parent / "imgtool" / "boards" / "usbarmory-mk2.cfg"
EPOCH = str(int(SIGNING_TIME.timestamp()))


def imgtool(*args, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "imgtool", *map(str, args)], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"imgtool {' '.join(map(str, args))} exited {r.returncode}:\n{r.stderr}")
    return r


def reassembled_stub(entry: int, ranges) -> bytes:
    """The stub as Debian's binutils assemble formats/boot/arm_bsszero.S for these values."""
    syms = {"ENTRY": entry, "XP": 0, "NRANGES": len(ranges)}
    for i, (s, e) in enumerate(ranges):
        syms[f"START{i}"], syms[f"END{i}"] = s, e
    return assemble_arm(STUBS / "arm_bsszero.S", syms)


@pytest.fixture(scope="module")
def payload():
    return build_payload("imx6ul", bss_size=GO_BSS)


@pytest.fixture(scope="module")
def built(payload, tmp_path_factory):
    """``imgtool imx build --compact`` and ``imgtool imx sign --compact`` of the payload."""
    d = tmp_path_factory.mktemp("compact")
    imx, signed = d / "c.imx", d / "c-signed.imx"
    r = imgtool("imx", "build", payload.elf, "--board", "usbarmory-mk2", "--dcd", MK2_CFG, "--compact", "-o", imx)
    assert r.stderr == ""  # no large-BSS warning when --compact was asked for
    imgtool("imx", "sign", payload.elf, "--board", "usbarmory-mk2", "--dcd", MK2_CFG, "--compact", "--keys", pki(),
            "--signing-time", EPOCH, "-o", signed)
    return imx.read_bytes(), signed.read_bytes(), d


def test_split_matches_objcopy_without_bss(payload):
    """The stored part is byte for byte what objcopy -O binary writes when BSS stays NOBITS."""
    stored, split = stored_part(flatten(ElfFile.parse(payload.elf.read_bytes())))
    assert stored.data == payload.flat()
    assert split.zeroed == payload.bss_ranges and split.stored_end == stored.end
    assert split.zeroed_size == sum(e - s for s, e in payload.bss_ranges)


def test_compact_imx_is_mkimage_plus_the_assembled_stub(payload, built, tmp_path):
    """The compact .imx = mkimage of the stored part, IVT.entry on the stub, and the stub
    (as binutils assembles it) right after the DCD; nothing else differs."""
    need("mkimage")
    imx = built[0]
    ref = run_mkimage(MK2_CFG.read_text(), payload.flat(), payload.text_start, tmp_path)
    img = parse_imx(imx)
    off = stub_offset(img.dcd.length)
    assert off == 0x2C + img.dcd.length
    ref = tamago_entry_patch(ref, img.ivt.self_addr + off)
    stub = reassembled_stub(payload.entry, payload.bss_ranges)
    assert len(imx) == len(ref)
    assert imx[:off] == ref[:off] and imx[off + len(stub):] == ref[off + len(stub):]
    assert ref[off:off + len(stub)] == bytes(len(stub)) and imx[off:off + len(stub)] == stub
    found = find_stub(img, imx)
    assert (found.address, found.stub.entry, found.stub.ranges) == (img.ivt.entry, payload.entry, payload.bss_ranges)


def test_signed_compact_verifies_with_imgtool_and_openssl(built, tmp_path):
    imx, signed, d = built
    r = imgtool("imx", "verify", d / "c-signed.imx", "--srk-table", pki() / "SRK_1_2_3_4_table.bin", "--json")
    checks = {c["name"]: c["status"] for c in json.loads(r.stdout)["checks"]}
    for name in ("entry is the BSS-zeroing stub", "stub words are imgtool's for its ranges and entry",
                 "blocks cover the stub", "blocks cover the stub's branch target"):
        assert checks[name] == "pass", checks
    img = parse_imx(signed)
    assert signed[:img.csf_offset] == imx  # signing adds the CSF and changes nothing before it
    assert openssl_verify_csf(tmp_path, signed[img.csf_offset:], signed[:img.csf_offset], img.ivt.self_addr) == 2


def test_compact_sdp_flavour_verifies(payload, tmp_path):
    """Serial download keeps the stub: the loader sends the whole .imx to IVT.self."""
    out = tmp_path / "s.imx"
    imgtool("imx", "sign", payload.elf, "--board", "usbarmory-mk2", "--dcd", MK2_CFG, "--compact", "--sdp",
            "--keys", pki(), "--signing-time", EPOCH, "-o", out)
    for f in (out, tmp_path / "s-sdp.imx"):
        report = hab.verify_imx(f.read_bytes(), srk_hash=load_hab_keys(pki(), 1).srk_hash)
        assert report.ok and "blocks cover the stub's branch target" in [c.name for c in report.checks], f


def test_every_stub_byte_changed_fails_verification(built):
    signed = built[1]
    img = parse_imx(signed)
    found = find_stub(img, signed)
    keys_hash = load_hab_keys(pki(), 1).srk_hash
    assert hab.verify_imx(signed, srk_hash=keys_hash).ok
    for pos in range(found.offset, found.offset + found.stub.size):
        bad = bytearray(signed)
        bad[pos] ^= 0x01 << (pos % 8)
        assert not hab.verify_imx(bytes(bad), srk_hash=keys_hash).ok, hex(pos)


def _resign(imx: bytes) -> bytes:
    """Sign ``imx`` as sign_imx does, without its verify-after-sign (to see what verify says)."""
    keys = load_hab_keys(pki(), 1)
    img = parse_imx(imx)
    block = (img.ivt.self_addr, img.image_length)
    csf = hab.assemble_csf(keys, [hab.AuthBlock((block,), imx[:img.image_length])], engine=0,
                           signing_time=SIGNING_TIME)
    return imx[:img.csf_offset] + csf + bytes(img.csf_size - len(csf))


def _patched(imx: bytes, offset: int, word: int) -> bytes:
    out = bytearray(imx)
    struct.pack_into("<I", out, offset, word)
    return bytes(out)


@pytest.mark.parametrize("change, failing", [
    ("code word", "entry is the BSS-zeroing stub"),
    ("save area", "stub words are imgtool's for its ranges and entry"),
    ("reversed range", "stub words are imgtool's for its ranges and entry"),
    ("range over the stub", "stub words are imgtool's for its ranges and entry"),
    ("entry outside", "blocks cover the stub's branch target"),
])
def test_a_resigned_altered_stub_fails_the_stub_checks(built, change, failing):
    """Signatures alone do not make a stub imgtool's: altered and re-signed, the image
    passes every signature check and fails the stub check (and sign refuses to write it)."""
    imx = built[0]
    img = parse_imx(imx)
    found = find_stub(img, imx)
    off, s = found.offset, found.stub
    altered = {
        "code word": lambda: _patched(imx, off + 0x14, 0xE3A00001),  # mov r0, #1: would fill with ones
        "save area": lambda: _patched(imx, off + s.save_offset, 0xDEADBEEF),
        "reversed range": lambda: _patched(imx, off + s.table_offset + 8, s.ranges[0][0] - 4),
        "range over the stub": lambda: _patched(imx, off + s.table_offset + 4, found.address),
        "entry outside": lambda: _patched(imx, off + s.save_offset - 4, 0x90000000),
    }[change]()
    report = hab.verify_imx(_resign(altered))
    status = {c.name: c.status for c in report.checks}
    assert status["image signature 1"] == "pass" and status["CSF signature"] == "pass"
    assert status[failing] == "fail", report.to_dict()
    with pytest.raises(SigningError, match="verify-after-sign"):
        hab.sign_imx(altered, load_hab_keys(pki(), 1), engine=0, csf_size=None, signing_time=SIGNING_TIME)


@pytest.fixture(scope="module")
def crypto_board_elf():
    """A small USB armory program (fmt and the board package) that also imports
    crypto/rand, as every TamaGo program does through its runtime: Go 1.26 links the
    32 MiB drbg.memory into it (tests/goboard/crypto.go)."""
    return build_go(Path(__file__).resolve().parent / "goboard", "boardprog-crypto-arm7", {"GOARCH": "arm", "GOARM": "7"},
                    "-T 0x80010000 -R 0x1000", ("-tags", "withcrypto"))


@pytest.mark.parametrize("which, ratio", [("crypto board program", 10), ("go_elf arm7", 6)])
def test_go_elf_compact_imx_size(go_elf, crypto_board_elf, tmp_path, which, ratio):
    """Go ARM ELFs with the 32 MiB BSS of Go 1.26: the compact .imx of a small board
    program (1.6 MB of code and data) is under a tenth of the plain one; the suite's
    go_elf("arm7") links net/http (6 MB), so there it is under a sixth. The plain build
    warns once, with the compact size; the compact payload is the stored part exactly."""
    elf = crypto_board_elf if which == "crypto board program" else go_elf("arm7")
    plain, compact = tmp_path / "plain.imx", tmp_path / "compact.imx"
    r = imgtool("imx", "build", elf, "--board", "usbarmory-mk2", "-o", plain)
    rc = imgtool("imx", "build", elf, "--board", "usbarmory-mk2", "--compact", "-o", compact)
    p, c = plain.stat().st_size, compact.stat().st_size
    assert c * ratio < p, (c, p)
    warning = r.stderr.strip().splitlines()
    assert len(warning) == 1 and "crypto/internal/fips140/drbg.memory, 33,554,432 bytes" in warning[0], r.stderr
    assert f"with --compact it would be {c:,} bytes instead of {p:,}" in warning[0]
    assert rc.stderr == ""
    e = ElfFile.parse(elf.read_bytes())
    stored, _ = stored_part(flatten(e))
    data = compact.read_bytes()
    img = parse_imx(data)
    assert img.payload_length == (len(stored.data) + 0xFFF) & ~0xFFF
    assert data[img.payload_offset:img.payload_offset + len(stored.data)] == stored.data
    assert find_stub(img, data).stub.entry == e.entry


def test_bin_compact_below_the_image(payload, tmp_path):
    size = arm.bss_zero_stub_size(len(payload.bss_ranges))
    at = (payload.text_start - size) & ~7
    out = tmp_path / "c.bin"
    r = imgtool("bin", payload.elf, "-o", out, "--compact", "--stub-at", hex(at))
    stub = reassembled_stub(payload.entry, payload.bss_ranges)
    assert out.read_bytes() == stub + bytes(payload.text_start - at - size) + payload.flat()
    assert r.stdout.startswith(f"entry 0x{at:x}: the {size}-byte stub zeroes ") and f"loads at 0x{at:x}" in r.stdout
    # at file offset 0 the stub reads as a kernel.img's (the same shape: stub, then the image)
    stub_desc = json.loads(imgtool("info", out, "--json").stdout)["stub"]
    assert stub_desc["kind"] == "bss-zero" and stub_desc["ranges"] == [list(r) for r in payload.bss_ranges]
    # Intel HEX: the same bytes at the same addresses, the stub as the start address
    hexfile = tmp_path / "c.hex"
    imgtool("bin", payload.elf, "-o", hexfile, "-f", "hex", "--compact", "--stub-at", hex(at))
    from formats import ihex

    parsed = ihex.parse(hexfile.read_bytes())
    assert parsed.start == at
    ref = tmp_path / "from-hex.bin"
    subprocess.run([need("arm-none-eabi-objcopy"), "-I", "ihex", "-O", "binary", hexfile, ref], check=True)
    assert ref.read_bytes() == stub + bytes(payload.text_start - at - size) + payload.flat()


def test_bin_compact_in_a_hole_of_the_image(payload, tmp_path):
    """The stub in the hole between .text and the page-aligned .rodata: the file is the
    stored image with the stub's bytes there, and info finds it by its code words."""
    e = ElfFile.parse(payload.elf.read_bytes())
    text = e.section(".text")
    at = (text.addr + text.size + 7) & ~7
    out = tmp_path / "hole.bin"
    imgtool("bin", payload.elf, "-o", out, "--compact", "--stub-at", hex(at))
    data, flat, off = out.read_bytes(), payload.flat(), at - payload.text_start
    stub = reassembled_stub(payload.entry, payload.bss_ranges)
    assert data == flat[:off] + stub + flat[off + len(stub):] and flat[off:off + len(stub)] == bytes(len(stub))
    desc = json.loads(imgtool("info", out, "--json").stdout)
    assert desc["type"] == "flat" and desc["compact"]["stub_offset"] == off
    assert desc["compact"]["entry"] == payload.entry and desc["compact"]["bss_ranges"] == [list(r) for r in payload.bss_ranges]
    assert f"compact flat image, {len(data)} bytes" in imgtool("info", out).stdout


def test_rpi_kernel_warns_once_about_a_large_bss(tmp_path):
    p = build_payload("raspi2b", bss_size=GO_BSS)
    r = imgtool("rpi", "kernel", p.elf, "--board", "pi2", "-o", tmp_path / "plain.img", "--no-config")
    imgtool("rpi", "kernel", p.elf, "--board", "pi2", "--compact", "-o", tmp_path / "compact.img", "--no-config")
    size, plain = (tmp_path / "compact.img").stat().st_size, (tmp_path / "plain.img").stat().st_size
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "largest: section .noptrbss, 33,554,433 bytes" in lines[0]  # no symbol holds it
    assert f"with --compact it would be {size:,} bytes instead of {plain:,}" in lines[0]


def test_rpi_sdcard_compact_holds_the_compact_kernel(tmp_path):
    """``rpi sdcard --compact``: the card's kernel7.img (extracted with mtools) is the
    compact kernel.img, byte for byte."""
    from formats import mbr
    from rpi_helpers import fake_firmware

    p = build_payload("raspi2b", bss_size=GO_BSS)
    fake_firmware(tmp_path / "fw")
    imgtool("rpi", "kernel", p.elf, "--board", "pi2", "--compact", "-o", tmp_path / "kernel7.img", "--no-config")
    card = tmp_path / "sd.img"
    imgtool("rpi", "sdcard", p.elf, "--board", "pi2", "--compact", "--firmware", tmp_path / "fw", "-o", card)
    (part,) = mbr.parse(card.read_bytes()).partitions
    out = tmp_path / "extracted.img"
    subprocess.run([need("mcopy"), "-i", f"{card}@@{part.lba_start * 512}", "::/kernel7.img", str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes() == (tmp_path / "kernel7.img").read_bytes() and out.stat().st_size < 2 << 20


def test_bin_compact_refusals(payload, go_elf, tmp_path):
    out = tmp_path / "x.bin"
    r = imgtool("bin", payload.elf, "-o", out, "--compact", check=False)
    assert r.returncode == 2 and "--stub-at" in r.stderr and "just below the image" in r.stderr
    r = imgtool("bin", payload.elf, "-o", out, "--compact", "--stub-at", hex(payload.entry), check=False)
    assert r.returncode == 2 and "no room for the" in r.stderr and ".text" in r.stderr
    r = imgtool("bin", payload.elf, "-o", out, "--compact", "--stub-at", hex(payload.bss_start + 64), check=False)
    assert r.returncode == 2 and "overlaps the stub" in r.stderr
    r = imgtool("bin", payload.elf, "-o", out, "--compact", "--no-bss", "--stub-at", "0x80000000", check=False)
    assert r.returncode == 2 and "--no-bss" in r.stderr
    r = imgtool("bin", go_elf("amd64"), "-o", out, "--compact", "--stub-at", "0x10000000", check=False)
    assert r.returncode == 2 and "32-bit ARM" in r.stderr
    r = imgtool("bin", payload.elf, "-o", out, "--compact", "--stub-at", hex(payload.entry - 0x1002), check=False)
    assert r.returncode == 2 and "--stub-at" in r.stderr and "not 4-byte aligned" in r.stderr
    assert not out.exists()


def test_bin_warns_once_about_a_large_bss(go_elf, tmp_path):
    r = imgtool("bin", go_elf("arm7"), "-o", tmp_path / "a.bin")
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "drbg.memory" in lines[0] and "with --compact it would be about" in lines[0]
    assert imgtool("bin", go_elf("arm7"), "-o", tmp_path / "b.bin", "--no-bss").stderr == ""
    assert imgtool("bin", go_elf("amd64"), "-o", tmp_path / "c.bin").stderr == ""  # no A32 stub for amd64


def test_imx_sign_compact_needs_the_elf(built, tmp_path):
    r = imgtool("imx", "sign", built[2] / "c.imx", "--compact", "--keys", pki(), "-o", tmp_path / "x.imx", check=False)
    assert r.returncode == 2 and "--compact" in r.stderr and not (tmp_path / "x.imx").exists()
    # --dcd, like --compact, applies to an ELF: an .imx carries its DCD (it was ignored)
    cfg = Path(__file__).resolve().parents[1] / "imgtool" / "boards" / "usbarmory-mk2.cfg"
    r = imgtool("imx", "sign", built[2] / "c.imx", "--dcd", cfg, "--keys", pki(), "-o", tmp_path / "x.imx", check=False)
    assert r.returncode == 2 and "--dcd" in r.stderr and not (tmp_path / "x.imx").exists()


def test_no_room_for_the_stub_after_the_dcd(payload, tmp_path):
    """NOR boot: the header area is mkimage's 0x718 bytes; a DCD near its 1,768-byte limit
    leaves no room for the stub."""
    lines = ["IMAGE_VERSION 2", "BOOT_FROM nor", "CSF 0x4000"]
    lines += [f"DATA 4 0x{0x020C4000 + 4 * i:08x} 0x1" for i in range(210)]
    cfg = tmp_path / "nor.cfg"
    cfg.write_text("\n".join(lines) + "\n")
    r = imgtool("imx", "build", payload.elf, "--dcd", cfg, "--compact", "-o", tmp_path / "x.imx", check=False)
    assert r.returncode == 2 and "no room for the" in r.stderr and "header area" in r.stderr


def test_info_shows_a_compact_imx(payload, built):
    d = built[2]
    desc = json.loads(imgtool("info", d / "c-signed.imx", "--json").stdout)
    c = desc["compact"]
    assert c["entry"] == payload.entry and c["bss_ranges"] == [list(r) for r in payload.bss_ranges]
    assert c["stub_address"] == desc["ivt"]["entry"] and c["zeroed"] == sum(e - s for s, e in payload.bss_ranges)
    text = imgtool("info", d / "c.imx").stdout
    assert f"entry is the {c['stub_size']}-byte BSS-zeroing stub at 0x{c['stub_address']:x}" in text
    assert f"then jumps to 0x{payload.entry:x}" in text


def test_size_reports_both_ways(payload, go_elf):
    doc = json.loads(imgtool("size", go_elf("arm7"), "--format", "json").stdout)
    z = doc["image_sizes"]
    e = ElfFile.parse(go_elf("arm7").read_bytes())
    stored, split = stored_part(flatten(e))
    assert z["stored"] == doc["totals"]["flash_image"] == len(flatten(e).data)
    assert z["compact"] == len(stored.data) + z["stub"] and z["bss_zeroed"] == split.zeroed_size > 32 << 20
    other = json.loads(imgtool("size", go_elf("amd64"), "--format", "json").stdout)["image_sizes"]
    assert other["compact"] is None and other["stub"] is None and other["bss_zeroed"] > 32 << 20
    last = imgtool("size", go_elf("arm7")).stdout.splitlines()[-1]
    assert last == (f"image: stored {z['stored']}, compact {z['compact']} bytes (--compact: {z['bss_zeroed']} bytes "
                    f"of BSS zeroed at boot by a {z['stub']}-byte stub)")


# --- properties -------------------------------------------------------------------------

_regions = st.lists(st.tuples(st.sampled_from(["section", "bss", "gap"]), st.integers(1, 64)), min_size=1, max_size=8)


@settings(max_examples=80, deadline=None)
@given(_regions)
def test_split_bss_properties(kinds):
    regions, pos = [], 0x1000
    for kind, size in kinds:
        regions.append(Region(pos, size, kind))
        pos += size
    if not any(r.kind == "section" for r in regions):
        with pytest.raises(FormatError):
            split_bss(regions)
        return
    split = split_bss(regions)
    assert split.stored_end == max(r.end for r in regions if r.kind == "section")
    assert split.zeroed == tuple((r.address, r.end) for r in regions if r.kind == "bss" and r.address >= split.stored_end)
    image = LoadImage(0x1000, bytes(pos - 0x1000), 0x1000, tuple(regions))
    stored, same = stored_part(image)
    assert same == split and stored.end == split.stored_end and sum(r.size for r in stored.regions) == len(stored.data)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 0x2000), st.integers(1, 0x3000), st.integers(0, 0x200), st.booleans())
def test_compact_flat_labels_every_byte(text, hole, at, below):
    """For a stub below the image or in its hole: the flat form holds the stub at its
    address and every byte of the stored image where it was; regions cover it once."""
    base = 0x80010000
    regions = (Region(base, text, "section", ".text"), Region(base + text, hole, "gap"),
               Region(base + text + hole, 8, "section", ".data"), Region(base + text + hole + 8, 0x100000, "bss", ".bss"))
    regions = tuple(r for r in regions if r.size)
    data = bytes(range(256)) * ((text + hole + 8) // 256 + 1)
    image = LoadImage(base, data[:text + hole + 8] + bytes(0x100000), base + text + hole, regions)
    size = arm.bss_zero_stub_size(1)
    address = (base - size - at) & ~3 if below else (base + text + at + 3) & ~3  # A32: word-aligned
    if not below and address + size > base + text + hole:
        with pytest.raises(FormatError, match="no room|overlaps the stub"):
            compact_image(image, address)
        return
    plan = compact_image(image, address)
    flat = plan.flat()
    assert flat.entry == address and plan.program_entry == image.entry
    assert flat.data[address - flat.base:address - flat.base + size] == plan.stub
    for r in plan.image.regions:
        if r.kind == "section":
            assert flat.data[r.address - flat.base:r.end - flat.base] == image.data[r.address - base:r.end - base]
    assert sum(r.size for r in flat.regions) == len(flat.data)
    assert all(a.end == b.address for a, b in zip(flat.regions, flat.regions[1:]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0x80100000, 0x8FFFFFFF), st.integers(0, 0x10000)), max_size=5),
       st.integers(0x80010000, 0x800FFFFF))
def test_compact_imx_stub_reads_back(ranges, entry):
    cfg = parse_cfg("IMAGE_VERSION 2\nBOOT_FROM sd\nCSF 0x4000\nDATA 4 0x020c4068 0xffffffff\n")
    pairs = [(s, s + n) for s, n in ranges]
    imx = build_compact_imx(bytes(0x100000), text_start=0x80010000, entry=entry, ranges=pairs, cfg=cfg)
    found = find_stub(parse_imx(imx), imx)
    assert found.stub.entry == entry and found.stub.ranges == arm.merge_ranges(pairs)
    assert found.address == parse_imx(imx).ivt.entry == 0x8000F400 + 0x2C + 16  # DCD: header + one write

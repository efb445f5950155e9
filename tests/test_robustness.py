"""The error contract through the CLI, one test per case of issue 15: every error a user or
an input can cause is one line naming the file (and the offset or field), exit 2 (1 for a
failed check), no traceback, nothing written; no artifact larger than the input and the
target justify; no output replaces an input; multi-file outputs are all or nothing."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys

import pytest

from formats.elf import ElfFile
from hab_helpers import pki_copy
from payload_helpers import build_payload


def _fails(r: subprocess.CompletedProcess, code: int = 2, *names) -> str:
    """Assert the one-line error contract; return the message."""
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imgtool: error: "), r.stderr
    for name in names:
        assert str(name) in lines[0], (name, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("robust")


@pytest.fixture(scope="module")
def keys(work):
    return pki_copy(work)


@pytest.fixture(scope="module")
def arm_elf(work):
    p = work / "payload.elf"
    shutil.copy(build_payload("imx6ul").elf, p)
    return p


@pytest.fixture(scope="module")
def signed(work, keys, arm_elf):
    out = work / "signed.imx"
    r = subprocess.run([sys.executable, "-m", "imgtool", "imx", "sign", str(arm_elf), "--keys", str(keys),
                        "--board", "usbarmory-mk2", "-o", str(out)], capture_output=True, text=True,
                       env=dict(os.environ, SOURCE_DATE_EPOCH="1714564800"))
    assert r.returncode == 0, r.stderr
    return out


def _csf(data: bytes) -> int:
    from formats.imx.image import parse_imx

    return parse_imx(data).csf_offset


def _cert_offsets(data: bytes) -> list[int]:
    """File offsets of the X.509 certificates (DER SEQUENCE) in the CSF of a signed image."""
    from formats.imx import csf as C

    base = _csf(data)
    out = []
    for cmd in C.Csf.parse(data[base:]).commands:
        if isinstance(cmd, C.InstallKey) and cmd.pcl == C.HAB_PCL_X509:
            out.append(base + cmd.key_dat + 4)  # after the 4-byte HAB header of the certificate blob
    return out


# ------------------------------------------------------------------- certificates
def test_malformed_certificate_in_the_csf_is_a_failed_check_not_a_traceback(signed, tmp_path, run_imgtool):
    data = bytearray(signed.read_bytes())
    cert = _cert_offsets(bytes(data))[0]
    assert data[cert] == 0x30 and data[cert + 8:cert + 13] == bytes.fromhex("a003020102")
    data[cert + 12] = 0x05  # X.509 version 6: cryptography raises InvalidVersion when it is read
    bad = tmp_path / "badcert.imx"
    bad.write_bytes(data)
    r = run_imgtool("imx", "verify", bad)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "version" in r.stdout
    r = run_imgtool("info", bad)
    assert "Traceback" not in r.stderr and r.returncode in (0, 2), r.stderr
    if r.returncode == 2:
        _fails(r, 2, bad)


@pytest.mark.parametrize("damage", ["version", "extension", "truncated"])
def test_hab_srk_refuses_a_malformed_certificate(keys, tmp_path, run_imgtool, damage):
    from cryptography.hazmat.primitives.serialization import Encoding

    from signing.keys import load_certificate

    der = bytearray(load_certificate(keys / "SRK_1_crt.pem").public_bytes(Encoding.DER))
    if damage == "version":
        der[12] = 0x07
    elif damage == "extension":  # the first extension's OID repeated as the second: DuplicateExtension
        ext = der.find(bytes.fromhex("0603551d"))
        nxt = der.find(bytes.fromhex("0603551d"), ext + 1)
        der[nxt:nxt + 5] = der[ext:ext + 5]
    else:
        der = der[:200]
    crt = tmp_path / "bad_crt.der"
    crt.write_bytes(der)
    out = tmp_path / "table.bin"
    _fails(run_imgtool("hab", "srk", crt, "-o", out), 2, crt)
    assert not out.exists()


def test_srk_table_with_a_key_that_is_no_key_fails_the_check(signed, tmp_path, run_imgtool):
    from formats.imx import csf as C

    data = bytearray(signed.read_bytes())
    base = _csf(bytes(data))
    srk = next(c for c in C.Csf.parse(bytes(data[base:])).commands if isinstance(c, C.InstallKey) and c.pcl == C.HAB_PCL_SRK)
    entry = base + srk.key_dat + 4  # the first RSA entry: header, 4 reserved bytes, modulus/exponent lengths
    n_len, e_len = struct.unpack_from(">HH", data, entry + 8)
    data[entry + 12 + n_len + e_len - 1] &= 0xFE  # an even public exponent
    bad = tmp_path / "badsrk.imx"
    bad.write_bytes(data)
    r = run_imgtool("imx", "verify", bad)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    r = run_imgtool("info", bad)
    assert "Traceback" not in r.stderr, r.stderr


def test_info_on_a_damaged_srk_table_names_the_file(signed, tmp_path, run_imgtool):
    from formats.imx import csf as C

    data = bytearray(signed.read_bytes())
    base = _csf(bytes(data))
    srk = next(c for c in C.Csf.parse(bytes(data[base:])).commands if isinstance(c, C.InstallKey) and c.pcl == C.HAB_PCL_SRK)
    data[base + srk.key_dat + 4 + 1] = 0xFF  # the first entry's length: past the table
    bad = tmp_path / "badtable.imx"
    bad.write_bytes(data)
    msg = _fails(run_imgtool("info", bad), 2, bad)
    assert "SRK" in msg
    r = run_imgtool("imx", "verify", bad)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr


def test_errors_about_a_signed_image_name_it(signed, tmp_path, run_imgtool):
    data = bytearray(signed.read_bytes())
    base = _csf(bytes(data))
    data[base] = 0x00  # no CSF header where IVT.csf points
    bad = tmp_path / "nocsf.imx"
    bad.write_bytes(data)
    r = run_imgtool("info", bad)
    _fails(r, 2, bad)


# ------------------------------------------------------------------- size --diff
@pytest.mark.parametrize("shape,field", [
    ({"totals": [1]}, "totals"),
    ({"packages": [{"name": "fmt", "mem": "12"}]}, "packages[0].mem"),
    ({"symbols": 5}, "symbols"),
    ({"sections": [{"size": 3}]}, "sections[0].name"),
])
def test_size_diff_base_of_the_wrong_shape(arm_elf, tmp_path, run_imgtool, shape, field):
    import json

    base = tmp_path / "base.json"
    run_imgtool("size", arm_elf, "--format", "json", "-o", base, check=True)
    doc = json.loads(base.read_text())
    doc.update(shape)
    base.write_text(json.dumps(doc))
    _fails(run_imgtool("size", arm_elf, "--diff", base), 2, base, field)
    del doc["totals"]
    base.write_text(json.dumps(doc))
    _fails(run_imgtool("size", arm_elf, "--diff", base), 2, base, "totals")


# ------------------------------------------------------------------- ELF sizes
def _set_shdr(data: bytearray, elf: ElfFile, name: str, size: int) -> None:
    sec = elf.section(name)
    shoff = struct.unpack_from("<I", data, 32)[0]
    struct.pack_into("<I", data, shoff + sec.index * 40 + 20, size)


def test_changed_noptrbss_size_is_refused_not_a_gigabyte(go_elf, tmp_path, run_imgtool):
    path = go_elf("arm7")
    data = bytearray(path.read_bytes())
    _set_shdr(data, ElfFile.parse(bytes(data)), ".noptrbss", 0x40000000)
    bad = tmp_path / "bss.elf"
    bad.write_bytes(data)
    for fmt in ("bin", "hex"):
        out = tmp_path / f"o.{fmt}"
        _fails(run_imgtool("bin", bad, "-o", out, "--format", fmt), 2, bad, ".noptrbss", "sh_size")
        assert not out.exists()
    _fails(run_imgtool("imx", "build", bad, "-b", "usbarmory-mk2", "-o", tmp_path / "o.imx"), 2, bad)


def test_bss_larger_than_max_size(arm_elf, tmp_path, run_imgtool):
    """BSS inside its PT_LOAD but bigger than --max-size (default 256 MiB): refused before allocation."""
    elf = ElfFile.parse(arm_elf.read_bytes())
    ok = run_imgtool("bin", arm_elf, "-o", tmp_path / "a.bin", "--max-size", "1M")
    assert ok.returncode == 0, ok.stderr
    msg = _fails(run_imgtool("bin", arm_elf, "-o", tmp_path / "b.bin", "--max-size", "0x100"), 2, arm_elf, "--max-size")
    assert "0x100 bytes" in msg and not (tmp_path / "b.bin").exists()
    assert elf.section(".noptrbss") is not None


def test_huge_program_header_sizes(tmp_path, run_imgtool):
    """p_memsz of 2**40 in a position-independent ELF: relocate and bin stop with one line."""
    from uefi_helpers import build_payload as uefi_payload

    elf_path = uefi_payload("pie", tmp_path)
    data = bytearray(elf_path.read_bytes())
    elf = ElfFile.parse(bytes(data))
    phoff = struct.unpack_from("<Q", data, 32)[0]
    last = max((s for s in elf.loads), key=lambda s: s.vaddr)
    struct.pack_into("<Q", data, phoff + last.index * 56 + 40, 1 << 40)  # p_memsz
    bad = tmp_path / "huge.elf"
    bad.write_bytes(data)
    _fails(run_imgtool("relocate", bad, "--base", "0x40000000", "-o", tmp_path / "r.bin"), 2, bad, "--max-size")
    r = run_imgtool("bin", bad, "-o", tmp_path / "b.bin", "--max-gap", "any")
    assert "Traceback" not in r.stderr and r.returncode in (0, 2), r.stderr
    assert not (tmp_path / "r.bin").exists()


# ------------------------------------------------------------------- i.MX boot data
def test_damaged_boot_data_length_is_refused_not_a_gigabyte(work, keys, arm_elf, tmp_path, run_imgtool):
    imx = tmp_path / "a.imx"
    run_imgtool("imx", "build", arm_elf, "-b", "usbarmory-mk2", "-o", imx, check=True)
    data = bytearray(imx.read_bytes())
    ivt_self, boot_data = struct.unpack_from("<I", data, 20)[0], struct.unpack_from("<I", data, 16)[0]
    struct.pack_into("<I", data, boot_data - ivt_self + 4, 0x40000000)  # boot data length: 1 GiB
    imx.write_bytes(data)
    out = tmp_path / "s.imx"
    msg = _fails(run_imgtool("imx", "sign", imx, "--keys", keys, "-o", out), 2, imx, "boot data length")
    assert "0x24" in msg and not out.exists()


def test_damaged_boot_data_pointer_is_refused(work, keys, arm_elf, tmp_path, run_imgtool):
    """IVT.boot_data moved to other bytes of the header that read as a 1 GiB boot data."""
    from formats.imx.image import parse_imx

    imx = tmp_path / "p.imx"
    run_imgtool("imx", "build", arm_elf, "-b", "usbarmory-mk2", "-o", imx, check=True)
    data = bytearray(imx.read_bytes())
    img = parse_imx(bytes(data))
    off = (img.dcd_offset + img.dcd.length + 3) & ~3
    assert data[off:off + 12] == bytes(12)  # padding up to the payload
    struct.pack_into("<III", data, off, img.boot_data.start, 0x40000000, 0)
    struct.pack_into("<I", data, 16, img.ivt.self_addr + off)
    imx.write_bytes(data)
    out = tmp_path / "s.imx"
    _fails(run_imgtool("imx", "sign", imx, "--keys", keys, "-o", out), 2, imx, "boot data length")
    assert not out.exists()


# ------------------------------------------------------------------- outputs
def test_output_that_is_an_input_is_refused_everywhere(work, keys, arm_elf, signed, tmp_path, run_imgtool):
    elf = tmp_path / "in.elf"
    shutil.copy(arm_elf, elf)
    before = elf.read_bytes()
    cfg = tmp_path / "board.cfg"
    cfg.write_text("IMAGE_VERSION 2\nBOOT_FROM sd\nCSF 0x4000\nDATA 4 0x020c4068 0xffffffff\n")
    imx = tmp_path / "in.imx"
    shutil.copy(signed, imx)
    crt = tmp_path / "SRK_1_crt.pem"
    shutil.copy(keys / "SRK_1_crt.pem", crt)
    base = tmp_path / "base.json"
    run_imgtool("size", elf, "--format", "json", "-o", base, check=True)
    cases = [
        (("bin", elf, "-o", elf), elf),
        (("imx", "build", elf, "-b", "usbarmory-mk2", "-o", elf), elf),
        (("imx", "build", elf, "-b", "usbarmory-mk2", "-o", tmp_path / "x.imx", "--sd-image", elf), elf),
        (("imx", "build", elf, "--dcd", cfg, "-o", cfg), cfg),
        (("imx", "sign", imx, "--keys", keys, "-o", imx), imx),
        (("hab", "srk", crt, "-o", crt), crt),
        (("hab", "srk", crt, "-o", tmp_path / "t.bin", "--fuse-out", crt), crt),
        (("size", elf, "-o", elf), elf),
        (("size", elf, "--diff", base, "--format", "json", "-o", base), base),
    ]
    for args, victim in cases:
        content = victim.read_bytes()
        _fails(run_imgtool(*args), 2, victim, "input")
        assert victim.read_bytes() == content, args
    link = tmp_path / "link.elf"
    link.symlink_to(elf)
    _fails(run_imgtool("bin", elf, "-o", link), 2, link, elf)
    hard = tmp_path / "hard.elf"
    os.link(elf, hard)
    _fails(run_imgtool("bin", elf, "-o", hard), 2, hard)
    assert elf.read_bytes() == before and not (tmp_path / "x.imx").exists() and not (tmp_path / "t.bin").exists()


def test_relocate_and_uefi_outputs_that_are_inputs(tmp_path, run_imgtool):
    from uefi_helpers import build_payload as uefi_payload

    pie = uefi_payload("pie", tmp_path)
    content = pie.read_bytes()
    _fails(run_imgtool("relocate", pie, "--base", "0x40000000", "-o", pie), 2, pie)
    _fails(run_imgtool("relocate", pie, "--base", "0x40000000", "-o", tmp_path / "r.bin", "--pe-relocs", pie), 2, pie)
    _fails(run_imgtool("uefi", "app", pie, "-o", pie), 2, pie)
    assert pie.read_bytes() == content and not (tmp_path / "r.bin").exists()


def test_output_that_is_a_folder(work, keys, arm_elf, signed, tmp_path, run_imgtool):
    folder = tmp_path / "out"
    folder.mkdir()
    for args in (("bin", arm_elf, "-o", folder), ("imx", "build", arm_elf, "-b", "usbarmory-mk2", "-o", folder),
                 ("imx", "sign", signed, "--keys", keys, "-o", folder), ("hab", "srk", keys / "SRK_1_crt.pem", "-o", folder),
                 ("size", arm_elf, "-o", folder)):
        _fails(run_imgtool(*args), 2, folder, "folder")
    assert list(folder.iterdir()) == []


def test_two_new_outputs_that_are_one_file_through_a_link(tmp_path):
    """Two outputs that do not exist yet but name one file (``a/x`` and ``b/x`` with
    ``b -> a``) are refused before anything is written: the second rename would replace
    the first."""
    from imgtool.errors import InputError
    from imgtool.output import write_all_atomic

    (tmp_path / "a").mkdir()
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(InputError, match="given for two outputs"):
        write_all_atomic([(tmp_path / "a" / "x", b"first"), (tmp_path / "b" / "x", b"second")])
    assert list((tmp_path / "a").iterdir()) == []


def test_output_named_by_a_folder_path(work, keys, arm_elf, signed, go_elf, tmp_path, run_imgtool):
    """``-o .`` and ``-o /``: the commands that derive a second name from the output (the
    SDP flavour, config.txt) refuse the folder too, instead of failing on its empty name."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    for out in (".", "/"):
        for args in (("imx", "build", arm_elf, "-b", "usbarmory-mk2", "--sdp", "-o", out),
                     ("imx", "sign", signed, "--keys", keys, "--sdp", "-o", out),
                     ("rpi", "kernel", go_elf("arm7-pi"), "--board", "pi2", "-o", out)):
            _fails(run_imgtool(*args, cwd=folder), 2, out, "folder")
    assert list(folder.iterdir()) == []


def test_fifo_inputs_are_refused_without_blocking(tmp_path, run_imgtool):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for args in (("info", fifo), ("crc", fifo, "--model", "CRC-32/ISO-HDLC")):
        r = run_imgtool(*args, timeout=60)  # no writer: a blocking open would hang here
        _fails(r, 2, fifo, "FIFO")


def test_empty_pin_file(keys, signed, tmp_path, run_imgtool):
    pin = tmp_path / "pin"
    pin.write_bytes(b"")
    _fails(run_imgtool("imx", "sign", signed, "--keys", keys, "--pkcs11", "/nonexistent.so", "--token", "t",
                       "--pin-file", pin, "-o", tmp_path / "o.imx"), 2, pin)
    _fails(run_imgtool("uefi", "sign", signed, "--pkcs11", "/nonexistent.so", "--token", "t", "--key-label", "k",
                       "--pin-file", pin, "-o", tmp_path / "o.efi"), 2, pin)


def test_multi_file_outputs_are_all_or_nothing(work, keys, arm_elf, signed, tmp_path, run_imgtool):
    out = tmp_path / "a.imx"
    _fails(run_imgtool("imx", "build", arm_elf, "-b", "usbarmory-mk2", "-o", out, "--sd-image", tmp_path / "no" / "sd.img"),
           2, "no")
    assert not out.exists()
    (tmp_path / "s-sdp.imx").mkdir()  # the SDP flavour's name is taken by a folder
    _fails(run_imgtool("imx", "sign", signed, "--keys", keys, "--sdp", "-o", tmp_path / "s.imx"), 2, "s-sdp.imx")
    assert not (tmp_path / "s.imx").exists()
    table = tmp_path / "t.bin"
    _fails(run_imgtool("hab", "srk", keys / "SRK_1_crt.pem", "-o", table, "--fuse-out", tmp_path / "no" / "f.bin"), 2)
    assert not table.exists()


def test_keygen_folders(tmp_path, run_imgtool):
    _fails(run_imgtool("hab", "keygen", tmp_path / "missing" / "keys"), 2, "missing")
    assert not (tmp_path / "missing").exists()
    r = run_imgtool("hab", "keygen", tmp_path / "keys", "--srks", "1")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "keys" / "SRK_1_table.bin").is_file()
    taken = tmp_path / "taken"
    (taken / "SRK_1_fuse.bin").mkdir(parents=True)
    _fails(run_imgtool("hab", "keygen", taken, "--srks", "1"), 2, "SRK_1_fuse.bin")
    assert [p.name for p in taken.iterdir()] == ["SRK_1_fuse.bin"]


def test_hab_events_on_a_large_log_decodes_every_event(tmp_path, run_imgtool):
    """A multi-megabyte U-Boot log (speed: bench/bench_habevents.py); every event is found."""
    from formats.imx.habevents import HAB_CTX_ASSERT, HabEvent

    raw = HabEvent(0x33, 0x0C, HAB_CTX_ASSERT, 0, struct.pack(">III", 0, 0x80000000, 0x1000)).build()
    block = ["event data:"] + ["\t" + " ".join(f"0x{b:02x}" for b in raw[j:j + 8]) for j in range(0, len(raw), 8)]
    lines = ["HAB Configuration: 0xf0, HAB State: 0x66"]
    n = 20000
    for i in range(n):
        lines += [f"--------- HAB Event {i + 1} -----------------", *block, ""]
    log = tmp_path / "hab.log"
    log.write_text("\n".join(lines) + "\n")
    r = run_imgtool("hab", "events", log, "--json", check=True)
    import json

    assert len(json.loads(r.stdout)["events"]) == n


def test_ctrl_c_is_one_line_and_exit_130():
    """Ctrl-C during a command: ``imgtool: error: interrupted``, exit 130, and the warnings
    held so far are dropped (typer turns the KeyboardInterrupt into status 130)."""
    code = ("import sys, imgtool.cli as c\nfrom imgtool.cli.app import app, warn\n"
            "@app.command('boom-test')\ndef boom():\n    warn('half done')\n    raise KeyboardInterrupt\n"
            "sys.exit(c.main(['boom-test']))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 130 and r.stderr.strip().splitlines()[-1] == "imgtool: error: interrupted", r.stderr
    assert "half done" not in r.stderr and "Traceback" not in r.stderr

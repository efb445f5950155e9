"""``imgtool gce disk``: the disks and tarballs checked with the reference tools (GNU tar,
sfdisk, sgdisk, mtools, objcopy), reproducibility, ``imgtool info`` on them, and bad input.
The boots are in test_gce_boot.py and test_uefi_boot.py."""

from __future__ import annotations

import json
import os
import pty
import struct
import subprocess
import sys

import pytest

from disk_helpers import need, run
from formats import tar
from formats.boot import bios
from gce_helpers import UTC, differing_blocks, gce_disk, imgtool, untar_disk
from payload_helpers import build_payload

GIB = 1 << 30
BIG_BSS = 4 * 1024 * 1024 + 3


@pytest.fixture(scope="module")
def x86():
    """The 32-bit payload with a 4 MiB BSS (as ELF32 and ELF64) and the tail-marker one."""
    return {"big": build_payload("x86", bss_size=BIG_BSS), "tail": build_payload("x86", bss_size=0x1000,
                                                                                tail_end=0x10000 + 100)}


@pytest.fixture(scope="module")
def built(x86, uefi_payloads, tmp_path_factory):
    """name -> (tarball, raw, stdout) made by the CLI: bios (ELF64), bios-tail (ELF32), uefi (ELF)."""
    d = tmp_path_factory.mktemp("gce")
    return {"bios": gce_disk(x86["big"].elf64(), d / "bios"), "bios-tail": gce_disk(x86["tail"].elf, d / "tail"),
            "uefi": gce_disk(uefi_payloads["fixed"], d / "uefi", "--boot", "uefi")}


@pytest.mark.parametrize("name", ["bios", "bios-tail", "uefi"])
def test_gnu_tar_lists_exactly_disk_raw_with_the_rounded_size(built, name):
    tarball, raw, _ = built[name]
    lines = run(need("tar"), "-tvf", tarball, env=UTC).stdout.splitlines()
    assert len(lines) == 1
    mode, owner, size, date, time, member = lines[0].split()
    assert (mode, owner, int(size), member) == ("-rw-r--r--", "0/0", GIB, "disk.raw")
    assert raw.stat().st_size == GIB
    entry, = tar.parse(tarball.read_bytes())
    assert entry.typeflag == "S"  # GNU sparse, as tar --format=oldgnu -S writes
    assert tarball.read_bytes()[:2] == b"\x1f\x8b" and tarball.stat().st_size < 64 * 1024


@pytest.mark.parametrize("name", ["bios", "uefi"])
def test_gnu_tar_restores_a_disk_identical_to_raw(built, name, tmp_path):
    tarball, raw, _ = built[name]
    restored = untar_disk(tarball, tmp_path)
    assert differing_blocks(restored, raw) == []
    if name == "bios":  # once with cmp itself (it reads the gigabyte of holes)
        run(need("cmp"), restored, raw)
    assert os.stat(raw).st_blocks * 512 < 16 << 20  # --raw is sparse too


def test_bios_disk_partition_entry_as_sfdisk_dumps_it(built, x86):
    _, raw, _ = built["bios"]
    dump = run(need("sfdisk"), "--dump", raw).stdout
    flat = x86["big"].flat()
    sectors = -(-len(flat) // 512)
    line = next(ln for ln in dump.splitlines() if ln.startswith(str(raw)))
    fields = {k.strip(): v.strip() for k, v in (f.split("=") for f in line.split(":", 1)[1].split(",") if "=" in f)}
    assert fields == {"start": "2048", "size": str(sectors), "type": "da"}
    assert line.rstrip().endswith("bootable") and "label: dos" in dump


def test_bios_disk_holds_objcopys_flat_image_without_bss(built, x86):
    """The payload at LBA 2048 is objcopy -O binary of the ELF (no BSS stored), then zeros."""
    _, raw, _ = built["bios"]
    flat = x86["big"].flat()
    with open(raw, "rb") as fh:
        fh.seek(2048 * 512)
        stored = fh.read(len(flat) + 4096)
    assert stored[:len(flat)] == flat and not any(stored[len(flat):])


@pytest.mark.parametrize("name,payload", [("bios", "big"), ("bios-tail", "tail")])
def test_info_reads_the_boot_sector_parameters_back(built, x86, name, payload):
    p = x86[payload]
    tarball, raw, _ = built[name]
    flat = p.flat()
    for path in (raw, tarball):
        d = json.loads(imgtool("info", "--json", path).stdout)
        disk = d["disk"] if d["type"] == "tar" else d
        b = disk["bios_boot"]
        assert (b["lba"], b["sectors"], b["load"], b["entry"]) == (2048, bios.sectors_for(len(flat)), p.text_start,
                                                                   p.entry)
        assert (b["bss_start"], b["bss_end"]) == (p.text_start + len(flat), p.bss_end)
        assert b["partition"] == 1 and b["problems"] == [] and disk["problems"] == []
    text = imgtool("info", raw).stdout
    assert f"entry 0x{p.entry:x}" in text and "type 0xda Non-FS data, bootable" in text


def test_uefi_disk_is_clean_for_sgdisk_and_holds_the_converted_application(built, uefi_payloads, tmp_path):
    _, raw, _ = built["uefi"]
    v = run(need("sgdisk"), "-v", raw).stdout
    assert "No problems found" in v
    imgtool("uefi", "app", uefi_payloads["fixed"], "-o", tmp_path / "app.efi")
    run(need("mcopy"), "-i", f"{raw}@@1M", "::/EFI/BOOT/BOOTX64.EFI", tmp_path / "got.efi")
    assert (tmp_path / "got.efi").read_bytes() == (tmp_path / "app.efi").read_bytes()
    d = json.loads(imgtool("info", "--json", raw).stdout)
    assert d["table"] == "gpt" and d["problems"] == []
    part, = d["partitions"]
    assert part["type_name"] == "EFI system partition" and part["filesystem"]["fat_bits"] == 32
    assert [f["path"] for f in part["filesystem"]["files"] if not f["dir"]] == ["EFI/BOOT/BOOTX64.EFI"]


def test_a_given_efi_takes_the_uefi_route(built, tmp_path, uefi_payloads):
    efi = tmp_path / "app.efi"
    imgtool("uefi", "app", uefi_payloads["fixed"], "-o", efi)
    tarball, raw, out = gce_disk(efi, tmp_path / "efi")
    assert differing_blocks(raw, built["uefi"][1]) == []  # same application, same disk
    assert "--guest-os-features=UEFI_COMPATIBLE" in out


def test_prints_the_gcloud_commands(built):
    bios_out, uefi_out = built["bios"][2], built["uefi"][2]
    create = next(ln for ln in bios_out.splitlines() if ln.startswith("gcloud compute images create"))
    assert create == ("gcloud compute images create payload64 --source-uri gs://BUCKET/compressed-image.tar.gz "
                      "--architecture=X86_64")
    assert "gcloud storage cp" in bios_out and "UEFI_COMPATIBLE" not in bios_out
    assert uefi_out.splitlines()[-1].endswith("--architecture=X86_64 --guest-os-features=UEFI_COMPATIBLE")


@pytest.mark.parametrize("name", ["bios", "uefi"])
def test_two_builds_are_byte_identical_and_the_epoch_moves_only_times_and_ids(built, name, tmp_path, x86,
                                                                             uefi_payloads):
    src = x86["big"].elf64() if name == "bios" else uefi_payloads["fixed"]
    extra = ("--boot", "uefi") if name == "uefi" else ()
    tarball, raw, _ = gce_disk(src, tmp_path / "again", *extra)
    assert tarball.read_bytes() == built[name][0].read_bytes()
    assert differing_blocks(raw, built[name][1]) == []
    t2, r2, _ = gce_disk(src, tmp_path / "epoch", *extra, env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert tar.parse(t2.read_bytes())[0].mtime == 1700000000
    differ = differing_blocks(raw, r2)
    if name == "bios":  # the disk signature only
        a, b = raw.open("rb").read(512), r2.open("rb").read(512)
        assert differ == [0] and [i for i in range(512) if a[i] != b[i]] and a[:440] == b[:440] and a[444:] == b[444:]
    else:  # GPT headers (disk GUID, CRCs), entry arrays (partition GUID), FAT boot sectors and directories
        assert 0 < len(differ) <= 12 and 0 not in differ


def test_size_option_whole_gib(x86, tmp_path):
    tarball, raw, _ = gce_disk(x86["tail"].elf, tmp_path / "two", "--size", "2G", "-q")
    assert raw.stat().st_size == 2 * GIB
    assert json.loads(imgtool("info", "--json", raw).stdout)["bios_boot"]["problems"] == []
    r = imgtool("gce", "disk", x86["tail"].elf, "-o", tmp_path / "x.tar.gz", "--size", "1.5G", check=False)
    assert r.returncode == 2 and "--size" in r.stderr and "whole number of GiB" in r.stderr
    assert not (tmp_path / "x.tar.gz").exists()


def _patched_elf64(src, tmp_path, *, entry=None, load_high=False):
    """The ELF64 payload with e_entry replaced, or its last PT_LOAD moved above 4 GiB."""
    data = bytearray(src.read_bytes())
    if entry is not None:
        struct.pack_into("<Q", data, 24, entry)
    if load_high:
        phoff, = struct.unpack_from("<Q", data, 32)
        phnum, = struct.unpack_from("<H", data, 56)
        last = max(i for i in range(phnum) if struct.unpack_from("<I", data, phoff + 56 * i)[0] == 1)
        struct.pack_into("<QQ", data, phoff + 56 * last + 16, 0x1_0000_0000, 0x1_0000_0000)
    out = tmp_path / "patched.elf"
    out.write_bytes(bytes(data))
    return out


def _refused(args, tmp_path, *expect):
    out, raw = tmp_path / "out.tar.gz", tmp_path / "out.raw"
    r = imgtool("gce", "disk", *args, "-o", out, "--raw", raw, check=False)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imgtool: error: ") and "Traceback" not in r.stderr
    for e in expect:
        assert e in lines[0]
    assert r.stdout == "" and sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("out", ".out"))) == []


def test_bad_input_exits_2_with_one_line_and_writes_nothing(go_elf, x86, tmp_path, uefi_payloads):
    big = x86["big"].elf64()
    _refused([go_elf("arm7")], tmp_path, "arm7", "e_machine", "x86-64")
    _refused([go_elf("arm64"), "--boot", "uefi"], tmp_path, "Machine", "x86-64")
    _refused([_patched_elf64(big, tmp_path, entry=0x1_0000_1000)], tmp_path, "e_entry", "above 4 GiB")
    _refused([_patched_elf64(big, tmp_path, load_high=True)], tmp_path, "program headers", "above 4 GiB")
    low = build_payload("x86", text_start=0x8000, bss_size=0x100)
    _refused([low.elf], tmp_path, "load address", "below 1 MiB")
    (tmp_path / "junk.bin").write_bytes(b"\0" * 1024)
    _refused([tmp_path / "junk.bin"], tmp_path, "junk.bin", "not an ELF or a UEFI PE image")
    efi = tmp_path / "app.efi"
    imgtool("uefi", "app", uefi_payloads["fixed"], "-o", efi)
    _refused([efi, "--boot", "bios"], tmp_path, "--boot", "PE image")
    _refused([big, "--boot", "floppy"], tmp_path, "--boot", "unknown boot route")


def test_payload_larger_than_the_disk_exits_2(x86, tmp_path, monkeypatch, capsys):
    """The GiB unit made 4 KiB in-process: the 5.5 KiB payload from LBA 2048 overflows a
    2 MiB --size, and the CLI refuses with one line, nothing written."""
    import imgtool.gce
    from imgtool.cli import main

    monkeypatch.setattr(imgtool.gce, "GIB", 4096)
    out = tmp_path / "o.tar.gz"
    assert main(["gce", "disk", str(x86["big"].elf64()), "-o", str(out), "--size", "1M"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--size" in err[0] and "more than" in err[0]
    assert list(tmp_path.iterdir()) == []


def test_quiet_in_a_pipe_and_a_progress_bar_on_a_terminal(x86, tmp_path):
    _, _, out = gce_disk(x86["tail"].elf, tmp_path / "q", "-q")
    assert out == ""
    r = imgtool("gce", "disk", x86["tail"].elf, "-o", tmp_path / "p.tar.gz")
    assert r.stderr == "" and "gcloud compute images create" in r.stdout  # piped: no bar
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "SOURCE_DATE_EPOCH")}
    proc = subprocess.run([sys.executable, "-m", "imgtool", "gce", "disk", str(x86["big"].elf64()), "-o",
                           str(tmp_path / "t.tar.gz"), "--raw", str(tmp_path / "t.raw")], stdout=subprocess.PIPE,
                          stderr=slave, env={**env, "TERM": "xterm", "COLUMNS": "100"}, timeout=60)
    os.close(slave)
    shown = b""
    try:
        while chunk := os.read(master, 65536):
            shown += chunk
    except OSError:
        pass
    os.close(master)
    assert proc.returncode == 0
    assert "t.tar.gz".encode() in shown and "\u2501".encode() in shown  # rich's bar, on the terminal only


def test_the_two_outputs_are_all_or_nothing(x86, tmp_path):
    """The tarball into a missing folder: exit 2, and the raw disk (written first, to a
    temporary file) is not left behind either (write_all_atomic)."""
    out = tmp_path / "c.tar.gz"
    r = imgtool("gce", "disk", x86["tail"].elf, "-o", tmp_path / "missing" / "c.tar.gz", "--raw",
                tmp_path / "disk.raw", check=False)
    assert r.returncode == 2 and "does not exist" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
    r = imgtool("gce", "disk", x86["tail"].elf, "-o", out, "--raw", out, check=False)
    assert r.returncode == 2 and "--raw" in r.stderr and list(tmp_path.iterdir()) == []


def test_examples_makefile_gce_and_esp_targets(x86, uefi_payloads, tmp_path):
    """The gce, gce_uefi and esp steps of examples/Makefile, as a project would run them."""
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    make = [need("make"), "-f", str(root / "examples" / "Makefile"), f"IMGTOOL={sys.executable} -m imgtool"]
    bios_dir, uefi_dir = tmp_path / "bios", tmp_path / "uefi"
    bios_dir.mkdir()
    uefi_dir.mkdir()
    shutil.copyfile(x86["tail"].elf, bios_dir / "gcp.elf")
    shutil.copyfile(uefi_payloads["fixed"], uefi_dir / "app.elf")
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    r = subprocess.run([*make, "APP=gcp.elf", "gce"], capture_output=True, text=True, cwd=bios_dir, env=env)
    assert r.returncode == 0 and "gcloud compute images create gcp " in r.stdout, r.stdout + r.stderr
    assert json.loads(imgtool("info", "--json", bios_dir / "disk.raw").stdout)["bios_boot"]["problems"] == []
    assert tar.parse((bios_dir / "compressed-image.tar.gz").read_bytes())[0].name == "disk.raw"
    r = subprocess.run([*make, "APP=app.elf", "gce_uefi", "esp"], capture_output=True, text=True, cwd=uefi_dir, env=env)
    assert r.returncode == 0 and "UEFI_COMPATIBLE" in r.stdout, r.stdout + r.stderr
    assert "No problems found" in run(need("sgdisk"), "-v", uefi_dir / "app-esp.img").stdout


@pytest.mark.parametrize("path,name", [("out/main.elf", "main"), ("Go_Boot.EFI", "go-boot"), ("2024-app.elf", "img-2024-app"),
                                       ("x" * 80 + ".elf", "x" * 63), ("__.elf", "img")])
def test_image_names_follow_the_compute_engine_rule(path, name):
    import re

    from imgtool.gce import image_name

    assert image_name(path) == name and re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 63


def test_disk_size_rounds_up_to_whole_gib():
    from formats.errors import FormatError
    from imgtool.gce import disk_size

    assert [disk_size(n, None) for n in (1, GIB, GIB + 1, 5 * GIB - 1)] == [GIB, GIB, 2 * GIB, 5 * GIB]
    assert disk_size(GIB + 1, 3 * GIB) == 3 * GIB
    for need, size in ((1, GIB + 512), (2 * GIB, GIB), (1, 0)):
        with pytest.raises(FormatError) as e:
            disk_size(need, size)
        assert e.value.field == "disk size"

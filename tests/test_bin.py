"""``imgtool bin`` against the TamaGo objcopy recipe, byte for byte, on real Go ELFs."""

from __future__ import annotations

import subprocess

import pytest

from conftest import GO_TARGET_NAMES, objcopy
from formats.elf import ElfFile

#: The section list of the TamaGo Makefiles (tamago-example, armory-boot, GoKey ...).
TAMAGO_RECIPE = [".text", ".rodata", ".shstrtab", ".typelink", ".itablink", ".gopclntab", ".go.buildinfo",
                 ".go.module", ".noptrdata", ".data", ".bss", ".noptrbss"]


def recipe(elf, out, *, extra_sections=(), extra_args=()):
    args = [objcopy()]
    for s in TAMAGO_RECIPE + list(extra_sections):
        args += ["-j", s]
    args += ["--set-section-flags", ".bss=alloc,load,contents", "--set-section-flags", ".noptrbss=alloc,load,contents"]
    args += [*extra_args, str(elf), "-O", "binary", str(out)]
    subprocess.run(args, check=True)
    return out.read_bytes()


@pytest.mark.parametrize("name", GO_TARGET_NAMES)
def test_bin_equals_objcopy_recipe(name, go_elf, tmp_path, run_imgtool):
    elf = go_elf(name)
    ours = tmp_path / "ours.bin"
    run_imgtool("bin", elf, "-o", ours, check=True)
    ref = recipe(elf, tmp_path / "ref.bin", extra_sections=[".go.fipsinfo"])
    assert ours.read_bytes() == ref


@pytest.mark.parametrize("name", ["arm7", "amd64"])
def test_recipe_drops_go_fipsinfo(name, go_elf, tmp_path, run_imgtool):
    """The TamaGo recipe's fixed -j list leaves zeros where .go.fipsinfo belongs; ours keeps it."""
    path = go_elf(name)
    elf = ElfFile.parse(path.read_bytes())
    fips = elf.section(".go.fipsinfo")
    assert fips is not None and fips.size > 0
    ours = tmp_path / "ours.bin"
    run_imgtool("bin", path, "-o", ours, check=True)
    ours_b = ours.read_bytes()
    ref = recipe(path, tmp_path / "ref.bin")
    assert len(ref) == len(ours_b)
    off = fips.addr - elf.text_start
    content = bytes(elf.section_data(fips))
    assert ours_b[off:off + fips.size] == content and any(content)
    assert ref[off:off + fips.size] == bytes(fips.size)
    assert ours_b[:off] == ref[:off] and ours_b[off + fips.size:] == ref[off + fips.size:]


def test_pad_to_and_fill_match_objcopy(go_elf, tmp_path, run_imgtool):
    path = go_elf("arm7")
    elf = ElfFile.parse(path.read_bytes())
    end = elf.section(".noptrbss").addr + elf.section(".noptrbss").size
    pad = (end + 0x10000) & ~0xFFF
    ours = tmp_path / "ours.bin"
    run_imgtool("bin", path, "-o", ours, "--pad-to", hex(pad), "--fill", "0xff", check=True)
    ref = recipe(path, tmp_path / "ref.bin", extra_sections=[".go.fipsinfo"],
                 extra_args=["--pad-to", hex(pad), "--gap-fill", "0xff"])
    assert ours.read_bytes() == ref
    assert len(ref) == pad - elf.text_start


def test_no_bss_stops_before_bss(go_elf, tmp_path, run_imgtool):
    path = go_elf("arm7")
    elf = ElfFile.parse(path.read_bytes())
    ours = tmp_path / "ours.bin"
    run_imgtool("bin", path, "-o", ours, "--no-bss", check=True)
    data = elf.section(".data")
    assert len(ours.read_bytes()) == data.addr + data.size - elf.text_start


def test_far_section_is_refused_without_max_gap(go_elf, tmp_path, run_imgtool):
    """RAM data far from flash: objcopy writes a huge file silently; imgtool refuses, then obeys --max-gap."""
    moved = go_elf("arm7-fardata")  # linked with -D 0x90000000
    out = tmp_path / "far.bin"
    r = run_imgtool("bin", moved, "-o", out)
    assert r.returncode == 2, r.stderr
    assert "hole of 0x" in r.stderr and ".go.buildinfo at 0x90000000" in r.stderr and "--max-gap" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not out.exists()
    # The sparse formats need no fill and work as they are.
    r = run_imgtool("bin", moved, "-o", tmp_path / "far.hex", "--format", "hex")
    assert r.returncode == 0, r.stderr
    from formats import ihex

    img = ihex.parse((tmp_path / "far.hex").read_bytes())
    assert min(a for a, _ in img.segments) == 0x80010000
    assert max(a + len(d) for a, d in img.segments) > 0x90000000
    assert sum(len(d) for _, d in img.segments) < 64 << 20


def test_hex_and_srec_match_objcopy(go_elf, tmp_path, run_imgtool):
    path = go_elf("arm5")
    for fmt, bfd in (("hex", "ihex"), ("srec", "srec")):
        ours = tmp_path / f"ours.{fmt}"
        run_imgtool("bin", path, "-o", ours, "--format", fmt, check=True)
        ref = tmp_path / f"ref.{fmt}"
        flat = tmp_path / "flat.bin"
        run_imgtool("bin", path, "-o", flat, check=True)
        # objcopy over the flat image at TEXT_START with the ELF entry: the reference for
        # the same bytes at the same addresses.
        elf = ElfFile.parse(path.read_bytes())
        subprocess.run([objcopy(), "-I", "binary", "-O", bfd, "--change-section-address", f".data+{elf.text_start:#x}",
                        "--set-start", hex(elf.entry), str(flat), str(ref)], check=True)
        from formats import ihex, srec

        mod = ihex if fmt == "hex" else srec
        assert _flatten_parsed(mod.parse(ours.read_bytes())) == _flatten_parsed(mod.parse(ref.read_bytes()))


def _flatten_parsed(img):
    segs = sorted(img.segments)
    base = segs[0][0]
    out = bytearray()
    for addr, data in segs:
        if addr - base > len(out):
            out += bytes(addr - base - len(out))  # holes read as zeros, as in the flat image
        out[addr - base:addr - base + len(data)] = data
    return base, bytes(out), img.start


def test_uf2_with_family(go_elf, tmp_path, run_imgtool):
    from formats import uf2

    path = go_elf("arm7")
    out = tmp_path / "app.uf2"
    run_imgtool("bin", path, "-o", out, "--format", "uf2", "--uf2-family", "STM32F4", "--no-bss", check=True)
    img = uf2.parse(out.read_bytes())
    assert img.family_id == uf2.FAMILIES["STM32F4"] == 0x57755A57
    flat = tmp_path / "app.bin"
    run_imgtool("bin", path, "-o", flat, "--no-bss", check=True)
    elf = ElfFile.parse(path.read_bytes())
    ref = flat.read_bytes()
    laid = bytearray(len(ref) + 256)  # blocks cover 256-byte windows, padded with zeros
    for addr, data in img.segments:
        off = addr - (elf.text_start & ~0xFF)
        laid[off:off + len(data)] = data
    start = elf.text_start & 0xFF
    assert bytes(laid[start:start + len(ref)]) == ref and not any(laid[start + len(ref):])
    r = run_imgtool("bin", path, "-o", out, "--format", "uf2", "--uf2-family", "NOPE")
    assert r.returncode == 2 and "STM32F4" in r.stderr


def test_append_crc(go_elf, tmp_path, run_imgtool):
    """--append-crc adds the model's CRC of the image; the result checks to the model's residue."""
    import zlib

    from formats import crc

    path = go_elf("arm7")
    plain, with_crc = tmp_path / "a.bin", tmp_path / "b.bin"
    run_imgtool("bin", path, "-o", plain, "--no-bss", check=True)
    run_imgtool("bin", path, "-o", with_crc, "--no-bss", "--append-crc", "CRC-32/ISO-HDLC", check=True)
    data = plain.read_bytes()
    assert with_crc.read_bytes() == data + zlib.crc32(data).to_bytes(4, "little")
    m = crc.get("CRC-32/ISO-HDLC")
    assert m.compute(with_crc.read_bytes()) ^ m.xorout == m.residue  # the whole image checks
    run_imgtool("bin", path, "-o", with_crc, "--no-bss", "--append-crc", "CRC-32/MPEG-2", "--crc-byteorder", "big",
                check=True)
    assert with_crc.read_bytes()[-4:] == crc.crc("CRC-32/MPEG-2", data).to_bytes(4, "big")
    r = run_imgtool("bin", path, "-o", tmp_path / "c.bin", "--append-crc", "CRC-99")
    assert r.returncode == 2 and "CRC-99" in r.stderr and not (tmp_path / "c.bin").exists()

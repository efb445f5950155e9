"""Microcontroller flat images as objcopy makes them: on a Cortex-M layout ELF built in the
test run (``.data`` loaded in flash, run in RAM; a ``.bss``; a Thumb entry), ``imgtool bin``
equals ``arm-none-eabi-objcopy -O binary`` and ``--format hex``/``srec`` equal objcopy's
``ihex``/``srec`` byte for byte: the BSS of a PT_LOAD with p_paddr != p_vaddr is never
stored, and the start records carry e_entry with its Thumb bit."""

from __future__ import annotations

import subprocess

import pytest

from cortexm_helpers import cortex_m_elf
from formats import ihex, srec
from formats.elf import ElfFile
from hab_helpers import need


@pytest.fixture(scope="module")
def cm_elf():
    return cortex_m_elf()


def test_the_fixture_has_the_microcontroller_layout(cm_elf):
    elf = ElfFile.parse(cm_elf.read_bytes())
    data = elf.section(".data")
    seg = elf.segment_of(data)
    assert seg.paddr != seg.vaddr and seg.memsz > seg.filesz  # .data copied from flash, .bss after it
    assert elf.section(".bss").is_nobits and elf.segment_of(elf.section(".bss")) is seg
    assert elf.entry_thumb


@pytest.mark.parametrize("fmt,bfd", [("bin", "binary"), ("hex", "ihex"), ("srec", "srec")])
def test_imgtool_bin_equals_objcopy(cm_elf, tmp_path, run_imgtool, fmt, bfd):
    objcopy = need("arm-none-eabi-objcopy")
    subprocess.run([objcopy, "-O", bfd, str(cm_elf), f"ref.{fmt}"], cwd=tmp_path, check=True)
    run_imgtool("bin", cm_elf, "-o", f"ours.{fmt}", "--format", fmt, check=True, cwd=tmp_path)
    ref = (tmp_path / f"ref.{fmt}").read_bytes()
    ours = (tmp_path / f"ours.{fmt}").read_bytes()
    if fmt == "srec":  # objcopy's S0 record holds the output file name it was given
        ref = ref.replace(srec.build([], header=b"ref.srec").split(b"\r\n")[0],
                          srec.build([], header=b"ours.srec").split(b"\r\n")[0])
    assert ours == ref


def test_srec_header_is_the_output_name_given(cm_elf, tmp_path, run_imgtool):
    objcopy = need("arm-none-eabi-objcopy")
    (tmp_path / "out").mkdir()
    subprocess.run([objcopy, "-O", "srec", str(cm_elf), "out/fw.srec"], cwd=tmp_path, check=True)
    ref = (tmp_path / "out" / "fw.srec").read_bytes()
    (tmp_path / "out" / "fw.srec").unlink()
    run_imgtool("bin", cm_elf, "-o", "out/fw.srec", "--format", "srec", check=True, cwd=tmp_path)
    assert (tmp_path / "out" / "fw.srec").read_bytes() == ref


def test_start_records_keep_the_thumb_bit(cm_elf, tmp_path, run_imgtool):
    e_entry = ElfFile.parse(cm_elf.read_bytes()).entry | 1
    for fmt, mod in (("hex", ihex), ("srec", srec)):
        run_imgtool("bin", cm_elf, "-o", tmp_path / f"o.{fmt}", "--format", fmt, check=True)
        assert mod.parse((tmp_path / f"o.{fmt}").read_bytes()).start == e_entry


def test_uf2_leaves_the_bss_out_too(cm_elf, tmp_path, run_imgtool):
    from formats import uf2

    run_imgtool("bin", cm_elf, "-o", tmp_path / "o.uf2", "--format", "uf2", check=True)
    img = uf2.parse((tmp_path / "o.uf2").read_bytes())
    elf = ElfFile.parse(cm_elf.read_bytes())
    flash_end = max(elf.lma(s) + s.size for s in elf.sections if s.is_alloc and not s.is_nobits and s.size)
    assert max(a + len(d) for a, d in img.segments) <= (flash_end + 255) // 256 * 256
    assert all(a < 0x20000000 for a, _ in img.segments)  # nothing at the RAM addresses of .bss


def test_tamago_images_keep_their_bss(go_elf, tmp_path, run_imgtool):
    """LMA = VMA (TamaGo): the runtime does not clear BSS, so the flat image stores it."""
    path = go_elf("arm7")
    elf = ElfFile.parse(path.read_bytes())
    bss = elf.section(".noptrbss")
    run_imgtool("bin", path, "-o", tmp_path / "o.bin", check=True)
    size = (tmp_path / "o.bin").stat().st_size
    assert size == bss.addr + bss.size - elf.text_start

"""Helpers for the i.MX tests: run the real ``mkimage``, fetch TamaGo's cfgs through the
Go module proxy, generate random imximage.cfg files."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

MKIMAGE = shutil.which("mkimage")
GO = shutil.which("go")

TAMAGO_MODULE = "github.com/usbarmory/tamago"
#: tried after @latest (the proxy may refuse the version list but serve a version)
TAMAGO_PINNED = "v1.26.0"
TAMAGO_CFGS = {
    "usbarmory-mk2": "board/usbarmory/mk2/imximage.cfg",
    "usbarmory-mk2-1gb": "board/usbarmory/mk2/imximage-1gb.cfg",
    "mx6ullevk": "board/nxp/mx6ullevk/imximage.cfg",
}


def run_mkimage(cfg_text: str, payload: bytes, text_start: int, workdir: Path) -> bytes:
    """``mkimage -n CFG -T imximage -e TEXT_START -d payload.bin out.imx``; return out.imx."""
    cfg = workdir / "imximage.cfg"
    cfg.write_text(cfg_text)
    data = workdir / "payload.bin"
    data.write_bytes(payload)
    out = workdir / "out.imx"
    proc = subprocess.run(
        [MKIMAGE, "-n", str(cfg), "-T", "imximage", "-e", f"0x{text_start:x}", "-d", str(data), str(out)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise AssertionError(f"mkimage failed: {proc.stderr}\n--- cfg ---\n{cfg_text}")
    return out.read_bytes()


def tamago_entry_patch(imx: bytes, entry: int) -> bytes:
    """The TamaGo ``dd ... bs=1 count=4 skip=24 seek=4 conv=notrunc`` entry patch."""
    return imx[:4] + entry.to_bytes(4, "little") + imx[8:]


def mkimage_list(imx: bytes, workdir: Path) -> dict[str, tuple[int, int, int]]:
    """Run ``mkimage -l`` and return its "HAB Blocks" / "DCD Blocks" lines as tuples."""
    path = workdir / "list.imx"
    path.write_bytes(imx)
    proc = subprocess.run([MKIMAGE, "-l", str(path)], capture_output=True, text=True, check=True)
    found = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"(HAB|DCD) Blocks:\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)", line)
        if m:
            found[m.group(1)] = tuple(int(x, 16) for x in m.groups()[1:])
    return found


_tamago_dir: Path | None | str = "unset"


def tamago_module_dir() -> Path | None:
    """The directory of ``github.com/usbarmory/tamago@TAMAGO_PINNED`` (``go mod download``),
    or None if ``go`` or the module is unavailable.

    The pinned version only (never ``latest``: that asks the proxy every time and changes
    the test with each release). It is the version ``tests/goprog`` requires, so the Go
    module cache the test ELF builds fill holds it: the cache is asked first
    (``GOPROXY=off``), the module proxy only when the cache lacks it.
    """
    global _tamago_dir
    if _tamago_dir != "unset":
        return _tamago_dir  # type: ignore[return-value]
    _tamago_dir = None
    if GO is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        for proxy in ({"GOPROXY": "off"}, {}):
            proc = subprocess.run(
                [GO, "mod", "download", "-json", f"{TAMAGO_MODULE}@{TAMAGO_PINNED}"],
                cwd=tmp,
                capture_output=True,
                text=True,
                env={**os.environ, "GOFLAGS": "-mod=mod", **proxy},
            )
            try:
                info = json.loads(proc.stdout)
            except json.JSONDecodeError:
                continue
            if info.get("Dir") and not info.get("Error"):
                _tamago_dir = Path(info["Dir"])
                break
    return _tamago_dir  # type: ignore[return-value]


# --- random cfgs --------------------------------------------------------------------

#: commands Debian's mkimage 2023.01 understands
MKIMAGE_DCD_COMMANDS = ("DATA", "CLR_BIT", "SET_BIT", "CHECK_BITS_SET", "CHECK_BITS_CLR")
#: commands mkimage does not know; the tests build them through a twin (see test)
ANY_COMMANDS = {"CHECK_ANY_BIT_SET": "CHECK_BITS_SET", "CHECK_ANY_BIT_CLR": "CHECK_BITS_CLR"}
BOOT_DEVICES = ("sd", "nand", "spi", "sata", "nor", "onenand", "qspi")


def _hexs(rng: random.Random, value: int) -> str:
    """mkimage reads every number as hex; vary the spelling."""
    return rng.choice([f"0x{value:08x}", f"0x{value:X}", f"{value:x}", f"0X{value:x}"])


def random_cfg(rng: random.Random, *, with_any: bool = False) -> tuple[str, str, int]:
    """Return ``(cfg_text, mkimage_twin_text, csf_size)``.

    The twin replaces CHECK_ANY_BIT_* by CHECK_BITS_* so mkimage can build it; without
    ``with_any`` both texts are the same. DCDs stay under 1,768 bytes.
    """
    lines = ["# generated", "IMAGE_VERSION 2"]
    dev = rng.choice(BOOT_DEVICES + ("sd", "sd", "sd"))
    lines.append(f"{rng.choice(['BOOT_FROM', 'boot_from'])} {dev}")
    if rng.random() < 0.15:
        lines.append(f"BOOT_OFFSET 0x{rng.choice([0, 0x100, 0x400, 0x404, 0x1000, 0x2000]):x}")
    csf = rng.choice([0, 0x4000, 0x2000, rng.randrange(0, 0x4001), rng.randrange(0, 0x4001) & ~3])
    if csf or rng.random() < 0.3:
        lines.append(f"CSF {_hexs(rng, csf)}")
    commands = list(MKIMAGE_DCD_COMMANDS) + (list(ANY_COMMANDS) if with_any else [])
    size = 4
    prev = None
    for _ in range(rng.randrange(0, 90)):
        # runs of the same command exercise mkimage's merging
        cmd = prev if prev and rng.random() < 0.6 else rng.choice(commands)
        grow = 12 if cmd.startswith("CHECK") else (8 if cmd == prev else 12)
        if size + grow > 1768:
            break
        size += grow
        prev = cmd
        addr = rng.randrange(0, 1 << 30) * 4
        value = rng.choice([0, 0xFFFFFFFF, rng.randrange(1 << 32)])
        sep = rng.choice([" ", "\t", "  "])
        text = sep.join([cmd if rng.random() < 0.9 else cmd.lower(), "4", _hexs(rng, addr), _hexs(rng, value)])
        if rng.random() < 0.2:
            text += "  # comment"
        lines.append(text)
        if rng.random() < 0.05:
            lines.append("")
        if rng.random() < 0.05:
            lines.append("# a comment line")
    text = "\n".join(lines) + "\n"
    twin = text
    for any_cmd, plain in ANY_COMMANDS.items():
        twin = re.sub(rf"(?i)\b{any_cmd}\b", plain, twin)
    return text, twin, csf


# --- the flat binary of a real Go ELF (conftest.py's go_elf builds the ELF) -------------

TAMAGO_SECTIONS = (
    ".text .rodata .typelink .itablink .gopclntab .go.buildinfo .go.module "
    ".noptrdata .data .bss .noptrbss"
).split()

def objcopy_flat(elf: Path, workdir: Path) -> bytes | None:
    """TamaGo's ``objcopy -O binary`` recipe (BSS forced to contents)."""
    tool = shutil.which("arm-none-eabi-objcopy") or shutil.which("objcopy")
    if tool is None:
        return None
    out = workdir / "app.bin"
    args = [tool]
    for sec in TAMAGO_SECTIONS:
        args += ["-j", sec]
    args += [
        "--set-section-flags", ".bss=alloc,load,contents",
        "--set-section-flags", ".noptrbss=alloc,load,contents",
        str(elf), "-O", "binary", str(out),
    ]
    proc = subprocess.run(args, capture_output=True, text=True)
    return out.read_bytes() if proc.returncode == 0 else None

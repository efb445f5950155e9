"""The Cortex-M test ELF: ``tests/cortexm`` built with Debian's arm-none-eabi-gcc in the
test run (cached by content, like the other fixtures).

The layout is a microcontroller's (STM32F4-like): vectors and code in flash at 0x08000000,
``.data`` linked in RAM at 0x20000000 and loaded in flash after the code (LMA != VMA, so
one PT_LOAD with ``p_paddr != p_vaddr``), a ``.bss`` the start-up code clears, and a Thumb
entry (``e_entry`` odd).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

SRC = Path(__file__).resolve().parent / "cortexm"
FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-O1", "-nostdlib", "-ffreestanding", "-Wl,--build-id=none", "-T", "cortexm.ld"]


def cortex_m_elf() -> Path:
    """Build (or fetch from the cache) the Cortex-M ELF; a missing compiler fails the test."""
    from hab_helpers import need

    h = hashlib.sha256(repr(FLAGS).encode())
    for f in sorted(SRC.iterdir()):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    cache = Path(os.environ.get("IMGTOOL_TEST_CACHE", Path.home() / ".cache" / "imgtool-tests"))
    cache.mkdir(parents=True, exist_ok=True)
    out = cache / f"cortexm-{h.hexdigest()[:16]}.elf"
    if not out.exists():
        gcc = need("arm-none-eabi-gcc")
        tmp = out.with_suffix(".tmp")
        subprocess.run([gcc, *FLAGS, "-o", str(tmp), "start.c"], cwd=SRC, check=True, capture_output=True)
        tmp.replace(out)
    return out

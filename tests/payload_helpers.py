"""Freestanding test payloads and stub sources, built with Debian's cross toolchains in the
test run and cached by content (sources, flags, compiler version) under the test cache
(``$IMGTOOL_TEST_CACHE``, default ``~/.cache/imgtool-tests``), like ``build_go``.

Payloads (``tests/payloads/``, see the header of ``payload.c`` for the lines they print):

===========  ==============================  =====================================
machine      CPU / toolchain                 console
===========  ==============================  =====================================
``raspi2b``  ARMv7-A, arm-none-eabi-gcc      mini UART, AUX at 0x3F215000 (BCM2836)
``raspi0``   ARM1176 (ARMv6), same           mini UART, AUX at 0x20215000 (BCM2835)
``imx6ul``   ARMv7-A, same                   UART1 at 0x02020000 (QEMU imx_serial)
``x86``      i686, ``gcc -m32``              COM1 (port 0x3F8)
===========  ==============================  =====================================

Layout (``arm.ld``/``x86.ld``): ``.text`` at ``text_start``, entry ``_start`` inside
it (after ``text_first``), ``.rodata``, ``.data`` (with the payload's stack), then two NOBITS
sections with a 64-byte gap: ``.bss`` and ``.noptrbss`` of ``bss_size`` bytes (odd sizes
allowed). ARM: three page-aligned PT_LOADs like a TamaGo ELF.

Fixtures/functions other tests use:

- ``build_payload(machine, text_start=..., bss_size=..., regcheck=False, tail_end=None)
  -> Payload`` (session-cached); ``Payload.flat(with_bss=...)`` is ``objcopy -O binary``
  of it (with ``with_bss`` the TamaGo recipe's ``--set-section-flags .bss=...,contents``);
  ``Payload.elf64()`` (x86) is the same program as an ELF64/EM_X86_64 file, like a TamaGo
  amd64 ELF.
- ``park_blob() -> bytes``: the raspi2b secondary-core park blob (``arm_park.S``).
- ``regset_blob(stub, address) -> bytes``: the "ROM" that sets known registers and jumps
  to ``stub`` (``arm_regset.S``, linked at ``address``).
- ``assemble_arm(source, defsyms, march=...)`` / ``assemble_bios(source, defsyms)``:
  a stub source as Debian's binutils assemble it, as flat bytes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from conftest import _cache_dir
from hab_helpers import need

PAYLOADS = Path(__file__).resolve().parent / "payloads"
STUBS = Path(__file__).resolve().parent.parent / "formats" / "boot"

#: machine -> (compiler, CPU flags, UART define)
MACHINES = {
    "raspi2b": ("arm-none-eabi-gcc", ["-march=armv7-a", "-marm", "-mfloat-abi=soft"], "-DMINI_UART=0x3F215000"),
    "raspi0": ("arm-none-eabi-gcc", ["-mcpu=arm1176jzf-s", "-marm", "-mfloat-abi=soft"], "-DMINI_UART=0x20215000"),
    "imx6ul": ("arm-none-eabi-gcc", ["-march=armv7-a", "-marm", "-mfloat-abi=soft"], "-DIMX_UART=0x02020000"),
    "x86": ("gcc", ["-m32", "-march=i686", "-fno-pic", "-fno-pie", "-no-pie", "-static"], "-DCOM1"),
}
#: TamaGo link addresses: Raspberry Pi (RamStart 0x100000 + 64 KiB), i.MX6UL, amd64.
DEFAULT_TEXT_START = {"raspi2b": 0x110000, "raspi0": 0x110000, "imx6ul": 0x80010000, "x86": 0x10010000}
_CFLAGS = ["-O2", "-ffreestanding", "-nostdlib", "-nostartfiles", "-fno-builtin", "-fno-stack-protector",
           "-fno-asynchronous-unwind-tables", "-Wall", "-Werror", "-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments"]


def _run(args: list, cwd: Path | None = None) -> str:
    r = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed:\n{r.stdout}{r.stderr}")
    return r.stdout


def _cached(kind: str, inputs: list[Path], flags: list[str], tool: str, build) -> Path:
    """Directory for one build, made by ``build(dir)`` unless the content hash exists."""
    version = _run([tool, "--version"]).splitlines()[0]
    h = hashlib.sha256(version.encode() + repr(flags).encode())
    for f in inputs:
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    out = _cache_dir() / f"payload-{kind}-{h.hexdigest()[:16]}"
    if not out.exists():
        tmp = out.with_name(out.name + f".tmp{os.getpid()}")
        tmp.mkdir(parents=True, exist_ok=True)
        build(tmp)
        try:
            tmp.replace(out)
        except OSError:  # another test process built it meanwhile
            if not out.exists():
                raise
            shutil.rmtree(tmp)
    return out


def _symbols(nm: str, elf: Path) -> dict[str, int]:
    syms = {}
    for line in _run([nm, elf]).splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms[parts[2]] = int(parts[0], 16)
    return syms


@dataclass(frozen=True)
class Payload:
    """A built test payload: the ELF, its machine, link address, entry and NOBITS ranges
    (``(start, end)`` byte ranges, end exclusive: ``.bss`` then ``.noptrbss``)."""

    elf: Path
    machine: str
    text_start: int
    entry: int
    bss_ranges: tuple[tuple[int, int], ...]
    symbols: dict[str, int] = field(repr=False)

    @property
    def bss_start(self) -> int:
        return self.bss_ranges[0][0]

    @property
    def bss_end(self) -> int:
        return self.bss_ranges[-1][1]

    @property
    def objcopy(self) -> str:
        return need("objcopy" if self.machine == "x86" else "arm-none-eabi-objcopy")

    def flat(self, *, with_bss: bool = False) -> bytes:
        """``objcopy -O binary`` of the ELF from ``.text``: without ``with_bss`` it ends at
        the last initialised byte; with it, ``.bss``/``.noptrbss`` are stored as zeros (the
        TamaGo recipe's ``--set-section-flags``)."""
        name = "flat-bss.bin" if with_bss else "flat.bin"
        out = self.elf.parent / name
        if not out.exists():
            extra = []
            if with_bss:
                for s in (".bss", ".noptrbss"):
                    extra += ["--set-section-flags", f"{s}=alloc,load,contents"]
            tmp = out.with_name(name + f".tmp{os.getpid()}")
            _run([self.objcopy, "-O", "binary", *extra, self.elf, tmp])
            tmp.replace(out)
        return out.read_bytes()

    def elf64(self) -> Path:
        """(x86) The same program as an ELF64/EM_X86_64 file (``objcopy -O elf64-x86-64``):
        the class and machine of a TamaGo amd64 ELF, for builders that refuse ELF32."""
        assert self.machine == "x86"
        out = self.elf.parent / "payload64.elf"
        if not out.exists():
            tmp = out.with_name(out.name + f".tmp{os.getpid()}")
            _run([self.objcopy, "-O", "elf64-x86-64", self.elf, tmp])
            tmp.replace(out)
        return out


_BUILT: dict[tuple, Payload] = {}


def build_payload(machine: str, *, text_start: int | None = None, bss_size: int = 0x1000, regcheck: bool = False,
                  tail_end: int | None = None) -> Payload:
    """Build (or fetch from the cache) the test payload for ``machine`` (a key of
    :data:`MACHINES`), linked at ``text_start`` (default: the TamaGo address for it) with a
    ``.noptrbss`` of ``bss_size`` bytes. ``regcheck`` (ARM): print "REGS OK" only if the
    entry registers are those of ``arm_regset.S``. ``tail_end`` (x86): the file ends exactly
    ``tail_end`` bytes after ``text_start`` with the code and data printing "TAIL OK"."""
    text_start = DEFAULT_TEXT_START[machine] if text_start is None else text_start
    key = (machine, text_start, bss_size, regcheck, tail_end)
    if key in _BUILT:
        return _BUILT[key]
    cc, cpu, uart = MACHINES[machine]
    cc = need(cc)
    x86 = machine == "x86"
    sources = [PAYLOADS / ("x86_start.S" if x86 else "arm_start.S"), PAYLOADS / "payload.c"]
    if tail_end is not None:
        sources.append(PAYLOADS / "x86_tail.c")
    script = PAYLOADS / ("x86.ld" if x86 else "arm.ld")
    flags = [*cpu, *_CFLAGS, uart, "-T", script.name, f"-Wl,--defsym=TEXT_START=0x{text_start:x}",
             f"-Wl,--defsym=BSS_SIZE=0x{bss_size:x}"]
    if regcheck:
        flags.append("-DREGCHECK")
    if tail_end is not None:
        flags += ["-DTAIL", f"-Wl,--defsym=TAIL_END=0x{tail_end:x}"]
    libs = [] if x86 else ["-lgcc"]

    def build(d: Path) -> None:
        _run([cc, *flags, *[s.name for s in sources], *libs, "-o", d / "payload.elf"], cwd=PAYLOADS)

    out = _cached(machine, [*sources, script], flags, cc, build)
    elf = out / "payload.elf"
    syms = _symbols(need("nm" if x86 else "arm-none-eabi-nm"), elf)
    p = Payload(elf, machine, text_start, syms["_start"],
                ((syms["__bss_start"], syms["__bss_end"]), (syms["__noptrbss_start"], syms["__noptrbss_end"])), syms)
    assert syms["text_first"] == text_start and p.entry > text_start, "entry must be inside .text, not its first byte"
    _BUILT[key] = p
    return p


def _defsym_args(defsyms: dict[str, int]) -> list[str]:
    args = []
    for k, v in defsyms.items():
        args += ["--defsym", f"{k}={v}"]
    return args


def assemble_arm(source: Path, defsyms: dict[str, int], *, march: str = "armv6", ttext: int | None = None) -> bytes:
    """``arm-none-eabi-as -march=MARCH --defsym ...`` then ``objcopy -O binary`` (linked
    at ``ttext`` with ``arm-none-eabi-ld`` when given, for sources with absolute literals)."""
    flags = [f"-march={march}", *_defsym_args(defsyms)]
    asm, ld, objcopy = need("arm-none-eabi-as"), need("arm-none-eabi-ld"), need("arm-none-eabi-objcopy")

    def build(d: Path) -> None:
        _run([asm, *flags, source, "-o", d / "stub.o"])
        obj = d / "stub.o"
        if ttext is not None:
            _run([ld, f"-Ttext=0x{ttext:x}", obj, "-o", d / "stub.elf"])
            obj = d / "stub.elf"
        _run([objcopy, "-O", "binary", obj, d / "stub.bin"])

    return (_cached("arm-stub", [source], [*flags, f"-Ttext={ttext}"], asm, build) / "stub.bin").read_bytes()


def assemble_bios(source: Path, defsyms: dict[str, int]) -> bytes:
    """``as --32 --defsym ...``, ``ld -m elf_i386 -Ttext=0x7c00``, ``objcopy -O binary -j
    .text``: the boot sector source as Debian's binutils build it."""
    flags = ["--32", *_defsym_args(defsyms)]
    asm = need("as")

    def build(d: Path) -> None:
        _run([asm, *flags, source, "-o", d / "b.o"])
        _run([need("ld"), "-m", "elf_i386", "-Ttext=0x7c00", d / "b.o", "-o", d / "b.elf"])
        _run([need("objcopy"), "-O", "binary", "-j", ".text", d / "b.elf", d / "b.bin"])

    return (_cached("bios-stub", [source], flags, asm, build) / "b.bin").read_bytes()


def park_blob() -> bytes:
    """The raspi2b park blob (``tests/payloads/arm_park.S``), 20 bytes, for address 0x0."""
    return assemble_arm(PAYLOADS / "arm_park.S", {}, march="armv7-a")


def regset_blob(stub: int, address: int) -> bytes:
    """``arm_regset.S`` linked at ``address``, jumping to ``stub`` with r0-r14 =
    0xC0DE0000 + n and N Z C V Q GE[3:0] set."""
    return assemble_arm(PAYLOADS / "arm_regset.S", {"STUB": stub}, march="armv6", ttext=address)

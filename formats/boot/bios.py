"""The x86 BIOS boot sector of GCE legacy-BIOS disks: emit and parse its first 440 bytes.

Source: ``formats/boot/bios_boot.S`` (one comment per instruction; what it does, the CPU
state at the jump and the parameter block are described in its header). The code bytes
below are what Debian's binutils (``as --32``, ``ld -m elf_i386 -Ttext=0x7c00``,
``objcopy -O binary``) make of it, checked by ``tests/test_boot_stubs.py``; the parameter
block is packed here. BIOS interfaces: INT 13h AH=42h "extended read" (Phoenix/IBM
"BIOS Enhanced Disk Drive Specification" 1.1, disk address packet), INT 15h AX=2401h
(A20 gate), INT 10h AH=0Eh (teletype); protected mode: Intel SDM vol. 3A, 9.9.

Only bytes 0-439 are this module's: the disk signature, the MBR partition table and
0x55AA (bytes 440-511) are the MBR writer's.

Parameter block (``PARAMS_OFFSET`` = 392, 48 bytes, little-endian):

======  ====  ==============================================================
offset  size  field
======  ====  ==============================================================
+0      4     magic ``b"imgB"``
+4      2     version (1)
+6      2     block size (48)
+8      16    INT 13h disk address packet: ``10 00``, count (0), buffer
              0000:1000 as offset ``0``, segment ``0x1000``, LBA (u64) of the
              payload's first sector
+24     4     sectors: payload size in 512-byte sectors, rounded up
+28     4     load address of the payload's first byte
+32     4     entry (32-bit protected mode, paging off)
+36     4     bss_start
+40     4     bss_end (exclusive)
+44     1     drive (0; the BIOS drive number at run time)
+45     3     reserved (0)
======  ====  ==============================================================

At run time the count, LBA, sectors, load and drive fields of the copy at 0x7C00 change;
the disk's copy never does, so :func:`parse` reads the values imgtool wrote.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Union

from formats.boot._words import Buffer, check_uint
from formats.errors import FormatError

__all__ = [
    "BUFFER_ADDRESS",
    "CHUNK_SECTORS",
    "CODE_SIZE",
    "MAGIC",
    "MIN_LOAD_ADDRESS",
    "PARAMS_OFFSET",
    "PARAMS_SIZE",
    "SECTOR_SIZE",
    "VERSION",
    "BiosBootParams",
    "boot_code",
    "identify",
    "parse",
    "sectors_for",
]

CODE_SIZE = 440
PARAMS_OFFSET = 392
PARAMS_SIZE = 48
MAGIC = b"imgB"
VERSION = 1
SECTOR_SIZE = 512
#: Sectors per INT 13h call (32 KiB) and the low buffer they go through.
CHUNK_SECTORS = 64
BUFFER_ADDRESS = 0x10000
#: Lowest load address accepted: below 1 MiB are the IVT, the BIOS data, this sector,
#: the low buffer and the BIOS itself.
MIN_LOAD_ADDRESS = 0x100000

# bios_boot.S, linked at 0x7C00: offset, then the source line.
_CODE_HEX = (
    "ea057c0000",       # 000: ljmp $0, $start
    "fa",               # 005: start: cli
    "31c0",             # 006: xor %ax, %ax
    "8ed8",             # 008: mov %ax, %ds
    "8ec0",             # 00a: mov %ax, %es
    "8ed0",             # 00c: mov %ax, %ss
    "66bc007c0000",     # 00e: mov $0x7c00, %esp
    "8816b47d",         # 014: mov %dl, drive
    "fb",               # 018: sti
    "fc",               # 019: cld
    "b80124",           # 01a: mov $0x2401, %ax
    "cd15",             # 01d: int $0x15
    "7308",             # 01f: jnc read
    "e492",             # 021: in $0x92, %al
    "0c02",             # 023: or $2, %al
    "24fe",             # 025: and $0xfe, %al
    "e692",             # 027: out %al, $0x92
    "66a1a07d",         # 029: read: mov sectors, %eax
    "6683f840",         # 02d: cmp $64, %eax
    "7603",             # 031: jbe 1f
    "b84000",           # 033: mov $64, %ax
    "a3927d",           # 036: 1: mov %ax, dap_count
    "85c0",             # 039: test %ax, %ax
    "740f",             # 03b: jz pm
    "be907d",           # 03d: mov $dap, %si
    "8a16b47d",         # 040: mov drive, %dl
    "b442",             # 044: mov $0x42, %ah
    "cd13",             # 046: int $0x13
    "0f82ba00",         # 048: jc error
    "fa",               # 04c: pm: cli
    "660f0116507d",     # 04d: lgdtl gdtr
    "0f20c0",           # 053: mov %cr0, %eax
    "0c01",             # 056: or $1, %al
    "0f22c0",           # 058: mov %eax, %cr0
    "66ea637c00000800", # 05b: ljmpl $0x08, $pm32
    "66b81000",         # 063: pm32: mov $0x10, %ax
    "8ed8",             # 067: mov %ax, %ds
    "8ec0",             # 069: mov %ax, %es
    "8ee0",             # 06b: mov %ax, %fs
    "8ee8",             # 06d: mov %ax, %gs
    "8ed0",             # 06f: mov %ax, %ss
    "0fb70d927d0000",   # 071: movzwl dap_count, %ecx
    "290da07d0000",     # 078: sub %ecx, sectors
    "010d987d0000",     # 07e: add %ecx, dap_lba
    "83159c7d000000",   # 084: adcl $0, dap_lba + 4
    "c1e107",           # 08b: shl $7, %ecx
    "be00000100",       # 08e: mov $0x10000, %esi
    "8b3da47d0000",     # 093: mov load, %edi
    "f3a5",             # 099: rep movsl
    "893da47d0000",     # 09b: mov %edi, load
    "833da07d000000",   # 0a1: cmpl $0, sectors
    "752b",             # 0a8: jne back
    "8b3dac7d0000",     # 0aa: mov bss_start, %edi
    "8b0db07d0000",     # 0b0: mov bss_end, %ecx
    "29f9",             # 0b6: sub %edi, %ecx
    "7610",             # 0b8: jbe go
    "31c0",             # 0ba: xor %eax, %eax
    "89ca",             # 0bc: mov %ecx, %edx
    "c1e902",           # 0be: shr $2, %ecx
    "f3ab",             # 0c1: rep stosl
    "89d1",             # 0c3: mov %edx, %ecx
    "83e103",           # 0c5: and $3, %ecx
    "f3aa",             # 0c8: rep stosb
    "bc007c0000",       # 0ca: go: mov $0x7c00, %esp
    "ff25a87d0000",     # 0cf: jmp *entry
    "eadc7c00001800",   # 0d5: back: ljmp $0x18, $pm16
    "b82000",           # 0dc: pm16: mov $0x20, %ax
    "8ed8",             # 0df: mov %ax, %ds
    "8ec0",             # 0e1: mov %ax, %es
    "8ee0",             # 0e3: mov %ax, %fs
    "8ee8",             # 0e5: mov %ax, %gs
    "8ed0",             # 0e7: mov %ax, %ss
    "0f20c0",           # 0e9: mov %cr0, %eax
    "24fe",             # 0ec: and $0xfe, %al
    "0f22c0",           # 0ee: mov %eax, %cr0
    "eaf67c0000",       # 0f1: ljmp $0, $rm
    "31c0",             # 0f6: rm: xor %ax, %ax
    "8ed8",             # 0f8: mov %ax, %ds
    "8ec0",             # 0fa: mov %ax, %es
    "8ee0",             # 0fc: mov %ax, %fs
    "8ee8",             # 0fe: mov %ax, %gs
    "8ed0",             # 100: mov %ax, %ss
    "fb",               # 102: sti
    "e923ff",           # 103: jmp read
    "be2b7d",           # 106: error: mov $msg, %si
    "ac",               # 109: putc: lodsb
    "84c0",             # 10a: test %al, %al
    "7419",             # 10c: jz halt
    "88c1",             # 10e: mov %al, %cl
    "bafd03",           # 110: mov $0x3fd, %dx
    "ec",               # 113: 1: in %dx, %al
    "a820",             # 114: test $0x20, %al
    "74fb",             # 116: jz 1b
    "baf803",           # 118: mov $0x3f8, %dx
    "88c8",             # 11b: mov %cl, %al
    "ee",               # 11d: out %al, %dx
    "b40e",             # 11e: mov $0x0e, %ah
    "bb0700",           # 120: mov $0x0007, %bx
    "cd10",             # 123: int $0x10
    "ebe2",             # 125: jmp putc
    "fa",               # 127: halt: cli
    "f4",               # 128: hlt
    "ebfc",             # 129: jmp halt
    b"imgtool boot: disk read error\r\n\0".hex(),  # 12b: msg: .asciz
    "0000000000",       # 14b: .balign 8, 0
    "2700",             # 150: gdtr: .word gdt_end - gdt - 1
    "507d0000",         # 152: .long gdt
    "0000",             # 156: .word 0
    "ffff0000009acf00", # 158: .quad 0x00cf9a000000ffff
    "ffff00000092cf00", # 160: .quad 0x00cf92000000ffff
    "ffff0000009a0000", # 168: .quad 0x00009a000000ffff
    "ffff000000920000", # 170: .quad 0x000092000000ffff
)
_CODE = bytes.fromhex("".join(_CODE_HEX))
_PARAMS = struct.Struct("<4sHH BBHHHQ IIIII B3s")


@dataclass(frozen=True)
class BiosBootParams:
    """The parameter block of an imgtool boot sector (addresses and sizes in bytes; the
    LBA and sector count in 512-byte sectors)."""

    lba: int
    sectors: int
    load: int
    entry: int
    bss_start: int
    bss_end: int
    version: int = VERSION

    @property
    def load_end(self) -> int:
        """First address after what the sector copies (``load + sectors * 512``)."""
        return self.load + self.sectors * SECTOR_SIZE

    @property
    def bss_size(self) -> int:
        """Bytes of BSS the sector zeroes."""
        return max(0, self.bss_end - self.bss_start)


def sectors_for(size: int) -> int:
    """512-byte sectors that hold ``size`` bytes, rounded up (the upstream tamago-example
    ``tools/mbr.s`` rounds down and loses a tail of 1-511 bytes)."""
    return -(-size // SECTOR_SIZE)


def boot_code(*, load: int, entry: int, lba: int, payload_size: int, bss_start: int = 0, bss_end: int = 0) -> bytes:
    """The first 440 bytes of the boot sector: code, then the parameter block at 392.

    Args:
        load: load address of the payload's first byte (>= 1 MiB, below 4 GiB).
        entry: 32-bit entry address (jumped to in protected mode, paging off).
        lba: first sector of the payload on the disk.
        payload_size: bytes stored on the disk from ``lba`` on; the sector count is
            :func:`sectors_for` of it, and the copy writes whole sectors (up to 511 bytes
            past the payload: the bytes the disk holds there, zeros as imgtool writes it).
        bss_start, bss_end: the byte range zeroed after loading, end exclusive (empty
            when equal); zeroed whole, gaps included.

    Raises:
        FormatError: a value does not fit its field, the load range is below 1 MiB or
            runs past 4 GiB, the BSS range is reversed or starts below 1 MiB.
    """
    check_uint(load, 32, "load address")
    check_uint(entry, 32, "entry")
    check_uint(lba, 64, "LBA")
    check_uint(payload_size, 64, "payload size")
    sectors = check_uint(sectors_for(payload_size), 32, "sector count")
    check_uint(bss_start, 32, "bss_start")
    check_uint(bss_end, 32, "bss_end")
    if load < MIN_LOAD_ADDRESS:
        raise FormatError(f"load address 0x{load:x} is below 1 MiB (expected >= 0x{MIN_LOAD_ADDRESS:x})", field="load address")
    if load + sectors * SECTOR_SIZE > 1 << 32:
        raise FormatError(f"payload at 0x{load:x} ({sectors} sectors) runs past 4 GiB", field="payload size")
    if bss_end < bss_start:
        raise FormatError(f"bss_end 0x{bss_end:x} is below bss_start 0x{bss_start:x}", field="bss_end")
    if bss_end > bss_start and bss_start < MIN_LOAD_ADDRESS:
        raise FormatError(f"BSS 0x{bss_start:x}-0x{bss_end:x} starts below 1 MiB (expected >= 0x{MIN_LOAD_ADDRESS:x})",
                          field="bss_start")
    block = _PARAMS.pack(MAGIC, VERSION, PARAMS_SIZE, 0x10, 0, 0, 0, BUFFER_ADDRESS >> 4, lba, sectors, load, entry,
                         bss_start, bss_end, 0, bytes(3))
    return _CODE + bytes(PARAMS_OFFSET - len(_CODE)) + block


def parse(sector: Buffer) -> BiosBootParams:
    """Read the parameters back from a boot sector (at least its first 440 bytes).

    Raises:
        FormatError: too short, no imgtool magic at 392, another version, a malformed
            block, or code bytes that are not this version's (offset of the first
            difference named).
    """
    if len(sector) < CODE_SIZE:
        raise FormatError(f"boot sector needs {CODE_SIZE} bytes, got {len(sector)}", field="boot sector")
    (magic, version, size, dap_size, _res, count, buf_off, buf_seg, lba, sectors, load, entry, bss_start, bss_end,
     drive, reserved) = _PARAMS.unpack_from(sector, PARAMS_OFFSET)
    if magic != MAGIC:
        raise FormatError(f"no imgtool boot parameters (magic {bytes(magic)!r}, expected {MAGIC!r})",
                          offset=PARAMS_OFFSET, field="boot parameters")
    if version != VERSION:
        raise FormatError(f"boot parameter version {version} (this imgtool knows {VERSION})",
                          offset=PARAMS_OFFSET + 4, field="version")
    if (size, dap_size, count, buf_off, buf_seg) != (PARAMS_SIZE, 0x10, 0, 0, BUFFER_ADDRESS >> 4):
        raise FormatError("malformed boot parameter block (size or disk address packet)", offset=PARAMS_OFFSET + 6,
                          field="boot parameters")
    code = bytes(sector[:PARAMS_OFFSET])
    expected = _CODE + bytes(PARAMS_OFFSET - len(_CODE))
    if code != expected:
        at = next(i for i in range(PARAMS_OFFSET) if code[i] != expected[i])
        raise FormatError(f"boot code differs from imgtool's version {VERSION}", offset=at, field="boot code")
    return BiosBootParams(lba, sectors, load, entry, bss_start, bss_end, version)


def identify(sector: Buffer) -> Union[BiosBootParams, None]:
    """:func:`parse`, or None when the sector is not an imgtool boot sector."""
    try:
        return parse(sector)
    except FormatError:
        return None

"""Machine code imgtool emits: boot stubs, each an assembly source beside its template.

- :mod:`formats.boot.arm` -- A32: the Raspberry Pi entry stub (plain, ARMv6 with
  SCTLR.XP) and the BSS-zeroing stub of compact images (``arm_entry.S``,
  ``arm_bsszero.S``).
- :mod:`formats.boot.bios` -- the x86 BIOS boot sector of GCE disks (``bios_boot.S``).

The product never assembles: each module holds the instruction words the Debian
binutils make of the ``.S`` source and patches the literal words (entry, ranges,
parameters) in; ``tests/test_boot_stubs.py`` reassembles every source for several
parameter values and compares bytes. ``docs/boot-stubs.md`` lists the words and the
contracts.
"""

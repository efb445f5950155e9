/*
 * Raspberry Pi entry stub (A32): the first bytes of kernel.img.
 *
 * The GPU firmware loads kernel.img raw at kernel_address (0x8000) and jumps to its
 * first byte in SVC (or HYP) mode, with r0 = 0, r1 = machine type, r2 = ATAG/DTB
 * address. TamaGo's entry (e_entry) is inside .text, not its first byte, so the stub
 * loads e_entry from its literal word and branches there.
 *
 * Contract:
 *   clobbers r1 (as upstream's boot.S: tamago-example-pizero, tamago board README);
 *   every other register, the CPSR flags and memory are left as the firmware set them.
 *   With XP=1 (the ARMv6 variant) SCTLR.XP (bit 23) is set first (ARMv6 "extended page
 *   table" format, the descriptors TamaGo writes; QEMU raspi0 resets with XP=0, ARMv7
 *   reads it as one, so the variant is harmless there). It also clobbers only r1.
 *
 * Parameters (assembler symbols, --defsym):
 *   ENTRY   e_entry of the ELF (bit 0 set would enter Thumb state through bx)
 *   XP      0: plain (12 bytes: E59F1000 E12FFF11 ENTRY)
 *           1: ARMv6 variant (24 bytes: mrc/orr/mcr, then the plain stub)
 *
 * Build:  arm-none-eabi-as -march=armv6 --defsym ENTRY=0x110000 --defsym XP=0
 *         then objcopy -O binary (formats/boot/arm.py emits the same bytes).
 */
        .syntax unified
        .arm
        .text
        .globl  _start
_start:
.if XP
        mrc     p15, 0, r1, c1, c0, 0   @ r1 = SCTLR
        orr     r1, r1, #(1 << 23)      @ set XP: ARMv6 page-table format (subpages off)
        mcr     p15, 0, r1, c1, c0, 0   @ SCTLR = r1
.endif
        ldr     r1, [pc, #0]            @ r1 = entry (the word 8 bytes ahead of this one)
        bx      r1                      @ jump to e_entry (ARM or Thumb by bit 0)
        .word   ENTRY                   @ literal: e_entry, little-endian

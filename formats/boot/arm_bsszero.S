/*
 * BSS-zeroing entry stub (A32; runs on ARMv6 and ARMv7-A, assembled for ARMv6).
 *
 * A compact boot image stores a program only up to its last initialised byte. The ROM
 * or firmware enters this stub instead of e_entry; the stub zeroes every [start, end)
 * range of the table that follows its code (the NOBITS ranges of the loaded image,
 * .bss and .noptrbss, with any gaps between them left alone) and then branches to
 * e_entry with the CPU as it found it.
 *
 * Contract (what the program at e_entry sees):
 *   - r0-r14 (sp and lr included) hold the values the ROM/firmware left;
 *   - CPSR is unchanged: the stub changes only the N Z C V Q flags (its compares) and
 *     restores them with msr cpsr_f before the jump; mode, A I F masks, T, E and GE
 *     bits are never written;
 *   - memory: only the table's ranges are written (zero, byte-exact ends: word stores
 *     while the cursor is word-aligned and a whole word is left, byte stores otherwise)
 *     and the stub's own 28-byte save area (registers r0-r5 and CPSR, in the stub's
 *     block, which is in RAM);
 *   - no stack: sp is neither used nor needed to be valid;
 *   - the jump is "ldr pc, entry" (interworking: bit 0 of the entry selects Thumb);
 *   - XP=1 (Raspberry Pi ARMv6 variant) also sets SCTLR.XP (bit 23) before zeroing,
 *     like arm_entry.S with XP=1; that is the one deliberate change of CPU state.
 *   The stub needs: MMU off or its own block and the ranges mapped writable; ranges
 *   that do not overlap the stub itself; end >= start (an empty range is skipped).
 *   Data written with the D-cache on stays in the cache: a program that invalidates
 *   the D-cache without cleaning it first would lose the zeros (TamaGo's
 *   arm/cache.s CacheFlushData cleans and invalidates by set/way, which keeps them;
 *   whether a given ROM enters images with the D-cache on is not confirmed here).
 *
 * Layout (offsets for XP=0; XP=1 inserts 12 bytes of code after the CPSR save):
 *   code, then  entry: .word ENTRY     the jump target
 *               save:  .space 28       run-time save area, zero in the image
 *               table: .word N         number of ranges
 *                      .word S0, E0    start, end of each range, N pairs
 *
 * Parameters (--defsym): ENTRY, XP (0 or 1), NRANGES, START0, END0, START1, END1, ...
 * Build:  arm-none-eabi-as -march=armv6 --defsym ENTRY=... --defsym XP=0 \
 *           --defsym NRANGES=1 --defsym START0=... --defsym END0=...
 *         then objcopy -O binary (formats/boot/arm.py emits the same bytes).
 */
        .syntax unified
        .arm
        .text
        .globl  _start
_start:
        str     r0, save                @ save r0 (PC-relative store: needs no free register)
        adr     r0, save                @ r0 = save area
        stmib   r0, {r1-r5}             @ save r1-r5 at save+4 .. save+20
        mrs     r1, cpsr                @ r1 = CPSR
        str     r1, [r0, #24]           @ save CPSR at save+24
.if XP
        mrc     p15, 0, r1, c1, c0, 0   @ r1 = SCTLR
        orr     r1, r1, #(1 << 23)      @ set XP: ARMv6 page-table format (subpages off)
        mcr     p15, 0, r1, c1, c0, 0   @ SCTLR = r1
.endif
        mov     r0, #0                  @ r0 = 0, the value stored
        adr     r1, table               @ r1 -> range count
        ldr     r4, [r1], #4            @ r4 = number of ranges, r1 -> first range
        add     r4, r1, r4, lsl #3      @ r4 = end of the table (8 bytes a range)
range:  cmp     r1, r4                  @ every range done?
        bhs     done                    @ yes: restore and jump
        ldmia   r1!, {r2, r3}           @ r2 = cursor (range start), r3 = range end
zero:   subs    r5, r3, r2              @ r5 = bytes left in this range
        bls     range                   @ none (end <= cursor): next range
        tst     r2, #3                  @ cursor word-aligned?
        bne     byte                    @ no: zero one byte
        cmp     r5, #4                  @ a whole word left?
        strhs   r0, [r2], #4            @ yes: zero a word, cursor += 4
        bhs     zero                    @ and go on
byte:   strb    r0, [r2], #1            @ zero a byte, cursor += 1
        b       zero                    @ and go on
done:   ldr     r1, save + 24           @ r1 = saved CPSR
        msr     cpsr_f, r1              @ restore N Z C V Q (the only bits the stub changed)
        adr     r0, save                @ r0 = save area
        ldmia   r0, {r0-r5}             @ restore r0-r5 (no writeback: base loaded last)
        ldr     pc, entry               @ jump to e_entry; every register as found
entry:  .word   ENTRY                   @ literal: e_entry
save:   .space  28                      @ r0-r5 and CPSR at run time (zeros in the image)
table:  .word   NRANGES                 @ number of [start, end) ranges
        .altmacro
        .macro  ranges i
        .if     \i < NRANGES
        .word   START\i, END\i          @ range \i: start, end
        ranges  %(\i + 1)              @ the next one (a recursive macro: any count)
        .endif
        .endm
        ranges  0                       @ the table: NRANGES pairs

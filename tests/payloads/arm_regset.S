/*
 * "ROM" for the register-contract test: loaded somewhere harmless and started by QEMU's
 * generic loader (-device loader,addr=REGSET,cpu-num=0). It sets r0-r14 and the CPSR
 * flags to known values (payload.c REGCHECK expects them) and jumps to STUB without
 * changing any of them.
 * Parameter (--defsym): STUB, the address of the code under test.
 */
        .syntax unified
        .arm
        .text
        .globl  _start
_start:
        msr     cpsr_f, #0xF8000000      @ N Z C V Q set
        msr     cpsr_s, #0x000F0000      @ GE[3:0] set
        ldr     r0, =0xC0DE0000          @ r0
        ldr     r1, =0xC0DE0001          @ r1
        ldr     r2, =0xC0DE0002          @ r2
        ldr     r3, =0xC0DE0003          @ r3
        ldr     r4, =0xC0DE0004          @ r4
        ldr     r5, =0xC0DE0005          @ r5
        ldr     r6, =0xC0DE0006          @ r6
        ldr     r7, =0xC0DE0007          @ r7
        ldr     r8, =0xC0DE0008          @ r8
        ldr     r9, =0xC0DE0009          @ r9
        ldr     r10, =0xC0DE000A         @ r10
        ldr     r11, =0xC0DE000B         @ r11
        ldr     r12, =0xC0DE000C         @ r12
        ldr     sp, =0xC0DE000D          @ sp (not a usable stack: the stub must not need one)
        ldr     lr, =0xC0DE000E          @ lr
        ldr     pc, =STUB                @ jump (no register or flag changed)
        .ltorg

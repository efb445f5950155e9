/*
 * Entry of the ARM test payload (ARMv6 and ARMv7-A). Linked like TamaGo: .text starts at
 * TEXT_START, the entry (_start) is inside .text, not its first byte.
 * The entry saves r0-r14 and the CPSR exactly as it found them (a PC-relative store
 * first, so no register is assumed free and sp is not used), sets its own stack in
 * .data and calls payload_main.
 */
        .syntax unified
        .arm
        .section .text.first, "ax"
        .globl  text_first
text_first:                             @ the first bytes of .text: never executed
        b       text_first              @ spin (a loader jumping here would hang visibly)
        .word   0xDEADC0DE              @ padding so the entry is well inside .text

        .text
        .globl  _start
_start:
        str     r0, entry_regs_lit      @ r0 first (PC-relative: no free register needed)
        ldr     r0, entry_regs_addr     @ r0 -> entry_regs
        stmib   r0, {r1-r14}            @ r1-r14 at entry_regs[1..14] (sp, lr included)
        mrs     r1, cpsr                @ r1 = CPSR
        str     r1, [r0, #60]           @ entry_regs[15] = CPSR
        ldr     r1, entry_regs_lit      @ r1 = saved r0
        str     r1, [r0]                @ entry_regs[0] = r0
        ldr     sp, stack_top_addr      @ own stack (in .data: the BSS stays untouched)
        bl      payload_main            @ check and print
hang:   wfe                             @ done: wait forever
        b       hang                    @ (spurious events)
entry_regs_lit:
        .word   0                       @ r0 parked here first (text is RAM)
entry_regs_addr:
        .word   entry_regs
stack_top_addr:
        .word   stack_top

        .section .data.stack, "aw"
        .balign 8
        .globl  entry_regs
entry_regs:
        .space  64                      @ r0-r14, CPSR
        .space  4096                    @ the stack
stack_top:

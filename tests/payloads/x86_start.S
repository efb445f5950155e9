/*
 * Entry of the x86 test payload: 32-bit protected mode, paging off, flat segments (what
 * formats/boot/bios_boot.S hands over, and TamaGo's amd64 cpuinit expects). The entry
 * (_start) is inside .text, not its first byte. Sets its own stack (in .data, so the BSS
 * stays untouched), calls payload_main, halts.
 */
        .code32
        .section .text.first, "ax"
        .globl  text_first
text_first:                             # the first bytes of .text: never executed
        jmp     text_first              # spin
        .long   0xDEADC0DE              # padding so the entry is well inside .text

        .text
        .globl  _start
_start:
        cli                             # no IDT: interrupts stay off
        mov     $stack_top, %esp        # own stack
        call    payload_main            # check and print
1:      hlt                             # done
        jmp     1b                      # forever

        .section .data.stack, "aw"
        .balign 16
        .space  4096                    # the stack
stack_top:
        .globl  entry_regs
entry_regs:
        .space  64                      # (ARM only; kept for the shared C source)

        .section .note.GNU-stack, "", @progbits

/*
 * The TamaGo recipe's Raspberry Pi boot stub, as tamago board/raspberrypi/README.md
 * ("The bootstrap code is something equivalent to this") and the example Makefiles
 * build it: arm-none-eabi-gcc -D ENTRY_POINT=<e_entry> -c boot.S, then objcopy -O binary.
 * The reference the tests compare `imgtool rpi kernel --stub plain` with.
 */
        .global _boot
        .text
_boot:
        LDR     r1, addr                @ r1 = ENTRY_POINT
        BX      r1                      @ jump to the Go entry
addr:
        .word   ENTRY_POINT

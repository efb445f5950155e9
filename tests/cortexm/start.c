/* A Cortex-M start-up in the shape of a microcontroller runtime (embeddedgo noos/thumb,
 * CMSIS startup files): .data is linked in RAM and loaded in flash (cortexm.ld: "> RAM AT >
 * FLASH"), so Reset_Handler copies it and clears .bss itself; the entry is Thumb code. */
extern unsigned int _sidata[], _sdata[], _edata[], _sbss[], _ebss[];

volatile int counter = 5;
int table[4] = {1, 2, 3, 4};
int zeroed[300];

void Reset_Handler(void) {
    unsigned int *s = _sidata, *d = _sdata;
    while (d < _edata)
        *d++ = *s++;
    for (d = _sbss; d < _ebss;)
        *d++ = 0;
    for (;;)
        counter += table[counter & 3] + zeroed[counter & 63];
}

/* The vector table: initial stack pointer, then the reset vector (Thumb bit set by the linker). */
__attribute__((section(".isr_vector"), used)) void (*const vectors[])(void) = {
    (void (*)(void))0x20020000, Reset_Handler};

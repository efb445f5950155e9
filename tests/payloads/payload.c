/*
 * Freestanding test payload for the boot-stub tests (built with Debian's cross gcc in
 * the test run, see tests/payload_helpers.py).
 *
 * It prints, on the board's UART:
 *   "BSS OK"    every byte of [__bss_start, __bss_end) and [__noptrbss_start,
 *               __noptrbss_end) is zero          (else "BSS DIRTY 0x<address>")
 *   "GAP KEPT"  the 64-byte gap between the two NOBITS sections is not all zero: the
 *               loader or stub left it alone (it is only meaningful when the test filled
 *               it with random bytes; else "GAP ZERO")
 *   "END KEPT"  the 16 bytes after __noptrbss_end are not all zero (same; else "END ZERO")
 *   "REGS OK"   (REGCHECK builds) r0-r14 and the CPSR flags at the entry are the values
 *               tests/payloads/arm_regset.S set (else "REGS BAD r<n>=<value>")
 *   "TAIL OK"   (TAIL builds) printed by code in the last bytes of the file; "TAIL MISSING"
 *               when the magic word there is absent (a truncated load)
 *   "R0=<hex> R1=<hex> R2=<hex>"  (ARM) the first three registers at the entry
 *   "SCTLR=<hex>"  (ARM) the system control register (bit 23 = XP) at the entry
 *   "PAYLOAD DONE"
 * UART (one of): MINI_UART=<AUX base> (BCM2835/6 mini UART), IMX_UART=<base> (i.MX
 * UART, QEMU imx_serial), COM1 (x86 port 0x3F8).
 */
#include <stdint.h>

extern volatile uint8_t __bss_start[], __bss_end[], __noptrbss_start[], __noptrbss_end[];
extern volatile uint32_t entry_regs[];   /* r0-r14, CPSR as the entry found them (ARM) */

/* Something in .data (initialised, stored in the image) and in .bss. */
volatile uint32_t data_word = 0x600DDA7A;
volatile uint32_t bss_word;

#if defined(MINI_UART)
#define REG(off) (*(volatile uint32_t *)(MINI_UART + (off)))
static void uart_init(void) {
    *(volatile uint32_t *)(MINI_UART + 0x04) |= 1;   /* AUX_ENABLES: mini UART on */
    REG(0x60) = 3;                                    /* AUX_MU_CNTL: TX and RX on */
}
static void uart_putc(char c) {
    while (!(REG(0x54) & 0x20)) {}                    /* AUX_MU_LSR: TX empty */
    REG(0x40) = (uint32_t)c;                          /* AUX_MU_IO */
}
#elif defined(IMX_UART)
#define REG(off) (*(volatile uint32_t *)(IMX_UART + (off)))
static void uart_init(void) {
    REG(0x80) |= 1;                                   /* UCR1: UARTEN */
    REG(0x84) |= 0x4027;                              /* UCR2: IRTS WS TXEN RXEN SRST */
}
static void uart_putc(char c) {
    while (REG(0xB4) & 0x10) {}                       /* UTS: TXFULL */
    REG(0x40) = (uint32_t)c;                          /* UTXD */
}
#elif defined(COM1)
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static void uart_init(void) {}
static void uart_putc(char c) {
    while (!(inb(0x3FD) & 0x20)) {}                   /* LSR: THR empty */
    outb(0x3F8, (uint8_t)c);
}
#else
#error "define MINI_UART, IMX_UART or COM1"
#endif

void puts_(const char *s) {
    while (*s) uart_putc(*s++);
    uart_putc('\r');
    uart_putc('\n');
}

static void puthex(uint32_t v) {
    for (int i = 7; i >= 0; i--) uart_putc("0123456789abcdef"[(v >> (4 * i)) & 15]);
}

static volatile uint8_t *first_nonzero(volatile uint8_t *p, volatile uint8_t *end) {
    while (p < end && ((uintptr_t)p & 3)) { if (*p) return p; p++; }
    while (p + 4 <= end) { if (*(volatile uint32_t *)p) break; p += 4; }
    while (p < end) { if (*p) return p; p++; }
    return 0;
}

static int all_zero(volatile uint8_t *p, volatile uint8_t *end) { return first_nonzero(p, end) == 0; }

#ifdef TAIL
extern volatile uint32_t tail_magic;
void tail_print(void);
#endif

#ifdef REGCHECK
static const uint32_t expected_regs[15] = {
    0xC0DE0000, 0xC0DE0001, 0xC0DE0002, 0xC0DE0003, 0xC0DE0004, 0xC0DE0005, 0xC0DE0006,
    0xC0DE0007, 0xC0DE0008, 0xC0DE0009, 0xC0DE000A, 0xC0DE000B, 0xC0DE000C,
    0xC0DE000D /* sp */, 0xC0DE000E /* lr */,
};
#define CPSR_MASK 0xF80F0000u /* N Z C V Q and GE[3:0], all set by arm_regset.S */
#endif

void payload_main(void) {
    uart_init();
    volatile uint8_t *bad = first_nonzero(__bss_start, __bss_end);
    if (!bad) bad = first_nonzero(__noptrbss_start, __noptrbss_end);
    if (!bad && bss_word == 0 && data_word == 0x600DDA7A) {
        puts_("BSS OK");
    } else {
        const char *m = "BSS DIRTY 0x";
        while (*m) uart_putc(*m++);
        puthex((uint32_t)(uintptr_t)bad);
        puts_("");
    }
    puts_(all_zero(__bss_end, __noptrbss_start) ? "GAP ZERO" : "GAP KEPT");
    puts_(all_zero(__noptrbss_end, __noptrbss_end + 16) ? "END ZERO" : "END KEPT");
#ifdef REGCHECK
    int ok = 1;
    for (int i = 0; i < 15; i++) {
        if (entry_regs[i] != expected_regs[i]) {
            const char *m = "REGS BAD r";
            while (*m) uart_putc(*m++);
            uart_putc('0' + i / 10);
            uart_putc('0' + i % 10);
            uart_putc('=');
            puthex(entry_regs[i]);
            puts_("");
            ok = 0;
        }
    }
    if ((entry_regs[15] & CPSR_MASK) != CPSR_MASK) {
        const char *m = "REGS BAD cpsr=";
        while (*m) uart_putc(*m++);
        puthex(entry_regs[15]);
        puts_("");
        ok = 0;
    }
    if (ok) puts_("REGS OK");
#endif
#if defined(MINI_UART) || defined(IMX_UART)
    {
        const char *names[3] = {"R0=", " R1=", " R2="};
        for (int i = 0; i < 3; i++) {
            const char *m = names[i];
            while (*m) uart_putc(*m++);
            puthex(entry_regs[i]);
        }
        puts_("");
        uint32_t sctlr;
        __asm__ volatile("mrc p15, 0, %0, c1, c0, 0" : "=r"(sctlr));
        const char *m = "SCTLR=";
        while (*m) uart_putc(*m++);
        puthex(sctlr);
        puts_("");
    }
#endif
#ifdef TAIL
    if (tail_magic == 0x7A11C0DE) tail_print();
    else puts_("TAIL MISSING");
#endif
    puts_("PAYLOAD DONE");
}

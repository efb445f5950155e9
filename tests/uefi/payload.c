/* A freestanding UEFI application for imgtool's boot tests (no gnu-efi, no libc).
 *
 * The types are written from the UEFI specification 2.10: §4.2 EFI_TABLE_HEADER, §4.3
 * EFI_SYSTEM_TABLE (only the members up to ConOut are declared), §12.4
 * EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL (Reset, OutputString). UEFI calls the entry point
 * with the Microsoft x64 convention (§2.3.4), hence ms_abi.
 *
 * It prints IMGTOOL-CONOUT-OK through ConOut, then on COM1 (16550 at 0x3f8) a line
 * with the run-time address of efi_main (RIP-relative, always right), the value of a
 * function pointer stored in .data (right only if the loader applied the base
 * relocation of a PIE, or loaded a fixed image at its ImageBase), whether .data kept
 * its initial value and whether the 16 KiB .bss reads as zeros; then it makes QEMU
 * exit through the isa-debug-exit device at port 0xf4.
 */
typedef unsigned short CHAR16;
typedef unsigned long long UINT64;
typedef unsigned int UINT32;
typedef struct { UINT64 Signature; UINT32 Revision, HeaderSize, CRC32, Reserved; } EFI_TABLE_HEADER;
struct OUT;
typedef UINT64 (__attribute__((ms_abi)) *EFI_TEXT_STRING)(struct OUT *, CHAR16 *);
struct OUT { void *Reset; EFI_TEXT_STRING OutputString; };
typedef struct {
  EFI_TABLE_HEADER Hdr;
  CHAR16 *FirmwareVendor;
  UINT32 FirmwareRevision;
  void *ConsoleInHandle;
  void *ConIn;
  void *ConsoleOutHandle;
  struct OUT *ConOut;
} EFI_SYSTEM_TABLE;

static inline void outb(unsigned short port, unsigned char v) { __asm__ volatile("outb %0,%1" :: "a"(v), "Nd"(port)); }
static inline unsigned char inb(unsigned short port) { unsigned char v; __asm__ volatile("inb %1,%0" : "=a"(v) : "Nd"(port)); return v; }

static void com1(const char *s) {
  for (; *s; s++) {
    while (!(inb(0x3fd) & 0x20)) ;  /* LSR.THRE: transmitter holding register empty */
    outb(0x3f8, *s);
  }
}

static void hex(UINT64 v) {
  char b[19];
  b[0] = '0'; b[1] = 'x';
  for (int i = 0; i < 16; i++) b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
  b[18] = 0;
  com1(b);
}

UINT64 efi_main(void *image, EFI_SYSTEM_TABLE *st) __attribute__((ms_abi));
/* absolute addresses in .data: R_X86_64_RELATIVE relocations in a PIE */
const char *messages[] = { MARKER, " at=", " ptr=", " data=", " bss=" };
UINT64 (*volatile self)(void *, EFI_SYSTEM_TABLE *) __attribute__((ms_abi)) = efi_main;
volatile UINT32 magic = 0x1234abcd;
static char bss[16384];

__attribute__((ms_abi)) UINT64 efi_main(void *image, EFI_SYSTEM_TABLE *st) {
  unsigned char acc = 0;
  for (unsigned i = 0; i < sizeof bss; i++) acc |= ((volatile char *)bss)[i];
  st->ConOut->OutputString(st->ConOut, L"IMGTOOL-CONOUT-OK\r\n");
  com1(messages[0]);
  com1(messages[1]); hex((UINT64)&efi_main);
  com1(messages[2]); hex((UINT64)self);
  com1(messages[3]); com1(magic == 0x1234abcd ? "ok" : "bad");
  com1(messages[4]); com1(acc ? "dirty" : "zero");
  com1(" END\r\n");
  outb(0xf4, 0x10);  /* isa-debug-exit: QEMU exits with status (0x10 << 1) | 1 */
  for (;;) __asm__ volatile("hlt");
}

/*
 * x86 BIOS boot sector for a flat 32-bit payload (the GCE legacy-BIOS route).
 *
 * The BIOS loads LBA 0 at 0000:7C00 and jumps to it in real mode with the boot drive
 * in DL. This code is the first 440 bytes of that sector: bytes 440-511 (disk
 * signature, MBR partition table, 0x55AA) belong to the MBR writer, never to this code.
 *
 * What it does:
 *   1. Normalises CS:IP to 0000:7Cxx, DS = ES = SS = 0, SP = 0x7C00 (stack below the
 *      sector), saves DL (the drive number as the BIOS passed it).
 *   2. Enables A20: INT 15h AX=2401h (the BIOS knows its chipset; SeaBIOS, the
 *      firmware behind QEMU and GCE, implements it), and only if the BIOS reports
 *      failure (CF set) the "fast A20" bit 1 of port 0x92 (read-modify-write, bit 0,
 *      the fast reset, always written 0). No 8042 keyboard-controller method: the
 *      machines this targets have port 0x92.
 *   3. Loop: INT 13h AH=42h extended read of up to 64 sectors (32 KiB) into the low
 *      buffer 1000:0000 (linear 0x10000; a 32 KiB transfer never crosses a 64 KiB
 *      DMA boundary and stays within the 127-sector limit of old BIOSes); on CF set
 *      print "disk read error" (INT 10h teletype and COM1) and halt. Then enter 32-bit
 *      protected mode (flat GDT, paging off, interrupts off), copy the sectors read
 *      (count x 512 bytes, so the last sector may write up to 511 bytes past the
 *      payload: the zeros the disk holds after it) to the load address, advance LBA,
 *      load address and count, and return to real mode through a 16-bit protected-mode
 *      segment for the next read.
 *   4. When no sector is left: zero [bss_start, bss_end) (dword stores then bytes;
 *      nothing if bss_end <= bss_start), load ESP = 0x7C00 and jump to the entry in
 *      32-bit protected mode, paging off, CS = 0x08 (flat code), DS = ES = FS = GS =
 *      SS = 0x10 (flat data), IF = 0, DF = 0, A20 on. That is what TamaGo's amd64
 *      cpuinit expects; it loads its own GDT, page tables and stack.
 *
 * Parameter block, at offset 392 (0x188) of the sector, 48 bytes, little-endian:
 *   +0   4  magic "imgB"
 *   +4   2  version (1)
 *   +6   2  block size (48)
 *   +8  16  INT 13h disk address packet: 10 00, count (0 in the image; run time),
 *           buffer 0000:1000 (offset 0, segment 0x1000), LBA (u64: the payload's
 *           first sector; advanced at run time)
 *   +24  4  sectors: the payload's size in 512-byte sectors, rounded up (remaining
 *           count at run time)
 *   +28  4  load address of the payload's first byte (advanced at run time)
 *   +32  4  entry (32-bit protected mode, paging off)
 *   +36  4  bss_start
 *   +40  4  bss_end (exclusive)
 *   +44  1  drive (0 in the image; DL at run time)
 *   +45  3  reserved (0)
 * The run-time fields change only the copy in RAM at 0x7C00, never the disk.
 *
 * Parameters (--defsym): LBA, SECTORS, LOAD, ENTRY, BSS_START, BSS_END (LBA < 2^32 here;
 * formats/boot/bios.py takes the full 64 bits).
 * Build:  as --32 --defsym ... bios_boot.S -o b.o; ld -m elf_i386 -Ttext=0x7c00 b.o -o b.elf;
 *         objcopy -O binary -j .text b.elf b.bin   (440 bytes; formats/boot/bios.py emits them)
 */
        .code16
        .text
        .globl  _start
_start:
        ljmp    $0, $start              # CS:IP = 0000:7Cxx (some BIOSes enter at 07C0:0000)
start:  cli                             # no interrupts while the stack moves
        xor     %ax, %ax                # ax = 0
        mov     %ax, %ds                # DS = 0: every address below is linear
        mov     %ax, %es                # ES = 0
        mov     %ax, %ss                # SS = 0
        mov     $0x7c00, %esp           # stack just below the sector (all of ESP)
        mov     %dl, drive              # keep the BIOS boot drive
        sti                             # BIOS services may need interrupts
        cld                             # string operations count up
        mov     $0x2401, %ax            # INT 15h AX=2401h: enable A20 gate
        int     $0x15                   # CF set: the BIOS could not
        jnc     read                    # done: start reading
        in      $0x92, %al              # system control port A
        or      $2, %al                 # bit 1: A20 on
        and     $0xfe, %al              # bit 0 (fast reset) must stay 0
        out     %al, $0x92              # write it back

read:   mov     sectors, %eax           # eax = sectors still to read
        cmp     $64, %eax               # more than one chunk?
        jbe     1f                      # no: read them all
        mov     $64, %ax                # yes: 64 sectors (32 KiB)
1:      mov     %ax, dap_count          # sectors for this call
        test    %ax, %ax                # anything to read?
        jz      pm                      # no: go zero the BSS and jump
        mov     $dap, %si               # DS:SI = disk address packet
        mov     drive, %dl              # DL = boot drive
        mov     $0x42, %ah              # AH = 42h: extended read
        int     $0x13                   # read into 1000:0000
        jc      error                   # CF set: read failed
pm:     cli                             # no interrupts in protected mode (no IDT)
        lgdtl   gdtr                    # flat GDT
        mov     %cr0, %eax              # eax = CR0
        or      $1, %al                 # PE = 1 (paging stays off)
        mov     %eax, %cr0              # enter protected mode
        ljmpl   $0x08, $pm32            # CS = flat 32-bit code

        .code32
pm32:   mov     $0x10, %ax              # flat 32-bit data selector
        mov     %ax, %ds                # DS = flat
        mov     %ax, %es                # ES = flat
        mov     %ax, %fs                # FS = flat
        mov     %ax, %gs                # GS = flat
        mov     %ax, %ss                # SS = flat
        movzwl  dap_count, %ecx         # ecx = sectors read by the last call (0 if none)
        sub     %ecx, sectors           # fewer left
        add     %ecx, dap_lba           # next LBA (low word)
        adcl    $0, dap_lba + 4         # next LBA (high word)
        shl     $7, %ecx                # ecx = dwords read (128 a sector)
        mov     $0x10000, %esi          # from the low buffer
        mov     load, %edi              # to the load address
        rep movsl                       # copy
        mov     %edi, load              # next load address
        cmpl    $0, sectors             # sectors left?
        jne     back                    # yes: back to real mode for the next read
        mov     bss_start, %edi         # edi = BSS start
        mov     bss_end, %ecx           # ecx = BSS end
        sub     %edi, %ecx              # ecx = BSS size
        jbe     go                      # end <= start: no BSS
        xor     %eax, %eax              # eax = 0
        mov     %ecx, %edx              # edx = size in bytes
        shr     $2, %ecx                # dwords
        rep stosl                       # zero them
        mov     %edx, %ecx              # ecx = size again
        and     $3, %ecx                # the last 0-3 bytes
        rep stosb                       # zero them
go:     mov     $0x7c00, %esp           # a defined stack pointer
        jmp     *entry                  # enter the payload: 32-bit PM, paging off
back:   ljmp    $0x18, $pm16            # CS = 16-bit code, to leave protected mode

        .code16
pm16:   mov     $0x20, %ax              # 16-bit data selector (64 KiB limits)
        mov     %ax, %ds                # DS limit back to 64 KiB
        mov     %ax, %es                # ES
        mov     %ax, %fs                # FS
        mov     %ax, %gs                # GS
        mov     %ax, %ss                # SS
        mov     %cr0, %eax              # eax = CR0
        and     $0xfe, %al              # PE = 0
        mov     %eax, %cr0              # back to real mode
        ljmp    $0, $rm                 # CS = 0, real-mode code
rm:     xor     %ax, %ax                # ax = 0
        mov     %ax, %ds                # DS = 0
        mov     %ax, %es                # ES = 0
        mov     %ax, %fs                # FS = 0
        mov     %ax, %gs                # GS = 0
        mov     %ax, %ss                # SS = 0
        sti                             # interrupts on for the BIOS
        jmp     read                    # next chunk

error:  mov     $msg, %si               # SI = message
putc:   lodsb                           # al = next character
        test    %al, %al                # end of message?
        jz      halt                    # yes: stop
        mov     %al, %cl                # keep the character
        mov     $0x3fd, %dx             # COM1 line status register
1:      in      %dx, %al                # al = LSR
        test    $0x20, %al              # transmitter holding register empty?
        jz      1b                      # not yet (a missing UART reads 0xFF)
        mov     $0x3f8, %dx             # COM1 data register
        mov     %cl, %al                # al = character
        out     %al, %dx                # send it on COM1
        mov     $0x0e, %ah              # INT 10h AH=0Eh: teletype output of AL
        mov     $0x0007, %bx            # page 0, grey
        int     $0x10                   # print it on the screen
        jmp     putc                    # next character
halt:   cli                             # nothing can wake us
        hlt                             # stop
        jmp     halt                    # (after an NMI) stop again

msg:    .asciz  "imgtool boot: disk read error\r\n"

        .balign 8, 0                    # GDT aligned (zero fill)
gdt:                                    # null descriptor, holding the GDTR operand
gdtr:   .word   gdt_end - gdt - 1       # GDT limit
        .long   gdt                     # GDT base (linear)
        .word   0                       # rest of the null descriptor
        .quad   0x00cf9a000000ffff      # 0x08: code, base 0, 4 GiB, 32-bit
        .quad   0x00cf92000000ffff      # 0x10: data, base 0, 4 GiB, 32-bit
        .quad   0x00009a000000ffff      # 0x18: code, base 0, 64 KiB, 16-bit
        .quad   0x000092000000ffff      # 0x20: data, base 0, 64 KiB, 16-bit
gdt_end:

        .org    392                     # the parameter block (fixed offset)
params: .ascii  "imgB"                  # magic
        .word   1                       # version
        .word   48                      # block size
dap:    .byte   0x10, 0                 # DAP: size 16, reserved
dap_count:
        .word   0                       # DAP: sectors for this call (run time)
        .word   0, 0x1000               # DAP: buffer offset 0, segment 0x1000
dap_lba:
        .quad   LBA                     # DAP: LBA of the next sector to read
sectors:
        .long   SECTORS                 # sectors left to read
load:   .long   LOAD                    # where the next sector goes
entry:  .long   ENTRY                   # the payload's entry
bss_start:
        .long   BSS_START               # first BSS byte
bss_end:
        .long   BSS_END                 # first byte after the BSS
drive:  .byte   0                       # the BIOS drive number (run time)
        .byte   0, 0, 0                 # reserved
        .org    440                     # bytes 440-511 belong to the MBR

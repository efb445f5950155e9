/*
 * Secondary-core park blob for QEMU raspi2b with -bios (QEMU installs no SMP holding
 * pen then; every core starts at 0x0). Loaded at 0x0 with
 * -device loader,file=park.bin,addr=0x0,force-raw=on. Cores with MPIDR.Aff0 != 0 wait in
 * wfe forever; core 0 jumps to 0x8000 (kernel.img), as the firmware's armstub does.
 * Clobbers r0 on core 0 (the firmware's armstub sets r0-r2 itself).
 */
        .syntax unified
        .arm
        .text
        .globl  _start
_start:
        mrc     p15, 0, r0, c0, c0, 5   @ r0 = MPIDR
        ands    r0, r0, #3              @ r0 = core number (Aff0)
        moveq   pc, #0x8000             @ core 0: go to kernel.img
park:   wfe                             @ other cores: wait
        b       park                    @ forever

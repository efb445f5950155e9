/*
 * pe_checksum -- the PE/COFF image checksum (imagehlp CheckSumMappedFile) in plain C11
 * (no Python.h), for formats._accel (binding: _accel.c) and C tests.
 *
 * Source: the PE/COFF specification, optional header field CheckSum, computed as
 * imagehlp's CheckSumMappedFile does: the file as little-endian 16-bit words (an odd
 * final byte is a word with a zero high byte) summed with end-around carry into 16
 * bits, the 4-byte CheckSum field taken as zero, plus the file length in bytes.
 * Pure-Python twin: formats/checksum.py (_pe_checksum_py).
 */
#ifndef IMGTOOL_PE_CHECKSUM_H
#define IMGTOOL_PE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Checksum of the n bytes at p with the CheckSum field at p[off..off+4) taken as zero.
 * The caller ensures off + 4 <= n. */
uint32_t pe_checksum(const unsigned char *p, size_t n, size_t off);

#endif

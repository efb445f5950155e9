/*
 * Unaligned little- and big-endian 64-bit loads and stores, for the plain C engines of
 * formats._accel (crc_engine.c, pe_checksum.c, reloc_walk.c).  No Python.h.
 */
#ifndef IMGTOOL_BYTEORDER_H
#define IMGTOOL_BYTEORDER_H

#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define IMGTOOL_HOST_BIG 1
#else
#define IMGTOOL_HOST_BIG 0
#endif

/* The 8 bytes at p as a little-endian (big = 0) or big-endian (big = 1) integer. */
static inline uint64_t load64(const unsigned char *p, int big)
{
    uint64_t v;
    memcpy(&v, p, 8);
    if (big != IMGTOOL_HOST_BIG)
        v = __builtin_bswap64(v);
    return v;
}

/* Store v at p as 8 little-endian (big = 0) or big-endian (big = 1) bytes. */
static inline void store64(unsigned char *p, uint64_t v, int big)
{
    if (big != IMGTOOL_HOST_BIG)
        v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
}

static inline uint64_t load_le64(const unsigned char *p) { return load64(p, 0); }
static inline uint64_t load_be64(const unsigned char *p) { return load64(p, 1); }

#endif

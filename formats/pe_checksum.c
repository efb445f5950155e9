/*
 * pe_checksum.c -- the PE/COFF image checksum in plain C11; interface and sources in
 * pe_checksum.h, the CPython binding in _accel.c.
 */
#include "pe_checksum.h"

#include "byteorder.h"

/*
 * Ones-complement style sum of little-endian 16-bit words with end-around carry.  Adding
 * 64-bit little-endian words with end-around carry and folding at the end gives the same
 * value as adding 16-bit words one at a time (2^16 == 1 mod 0xFFFF, and folding never
 * turns a non-zero sum into zero), so the loop reads 8 bytes per step.  `n` is even.
 */
static uint64_t pe_sum_even(const unsigned char *p, size_t n, uint64_t acc)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = load_le64(p + i);
        acc += w;
        acc += (acc < w);
    }
    for (; i + 2 <= n; i += 2) {
        uint64_t w = (uint64_t)p[i] | ((uint64_t)p[i + 1] << 8);
        acc += w;
        acc += (acc < w);
    }
    return acc;
}

uint32_t pe_checksum(const unsigned char *p, size_t n, size_t off)
{
    uint64_t acc = 0;
    size_t lo = off & ~(size_t)1;          /* first word touching the field */
    size_t hi = (off + 4 + 1) & ~(size_t)1; /* first word past the field   */
    size_t i;

    acc = pe_sum_even(p, lo, acc);
    for (i = lo; i < hi && i < n; i += 2) {
        uint64_t b0 = (i >= off && i < off + 4) ? 0 : p[i];
        uint64_t b1 = (i + 1 >= n || (i + 1 >= off && i + 1 < off + 4)) ? 0 : p[i + 1];
        uint64_t w = b0 | (b1 << 8);
        acc += w;
        acc += (acc < w);
    }
    if (hi < n) {
        size_t rest = n - hi;
        acc = pe_sum_even(p + hi, rest & ~(size_t)1, acc);
        if (rest & 1) {
            uint64_t w = p[n - 1];
            acc += w;
            acc += (acc < w);
        }
    }
    /* fold 64 -> 16 bits with end-around carry */
    acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
    acc = (acc & 0xFFFFFFFFu) + (acc >> 32);
    while (acc > 0xFFFF)
        acc = (acc & 0xFFFF) + (acc >> 16);
    return (uint32_t)(acc + (uint64_t)n);
}

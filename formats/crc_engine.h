/*
 * crc_engine -- one CRC engine for every Rocksoft/Williams model (width 1..64), in plain
 * C11 (no Python.h): usable from formats._accel (the CPython binding, _accel.c), from a C
 * test or from a fuzzer on its own.  Implementation and sources: crc_engine.c.
 *
 * A model is (width, poly, init, refin, refout, xorout) as in R. Williams, "A Painless
 * Guide to CRC Error Detection Algorithms", with the values of the reveng catalogue.
 * The engine works on a 64-bit *register* (see crc_engine.c for its convention); a CRC
 * *value* is what the catalogue's check field holds.  A running CRC is
 *
 *     uint64_t reg = crc_engine_start(&e);             (or crc_engine_resume(&e, value))
 *     reg = crc_engine_update(&e, reg, data, n);       (any number of times)
 *     uint64_t value = crc_engine_final(&e, reg);
 *
 * A crc_engine is about 33 KiB (16 slice tables); it is immutable after crc_engine_init
 * and may be shared by threads.
 */
#ifndef IMGTOOL_CRC_ENGINE_H
#define IMGTOOL_CRC_ENGINE_H

#include <stddef.h>
#include <stdint.h>

/* Implementation tiers, slowest first.  BITWISE is the reference (tests only); SLICE16
 * runs anywhere; CLMUL needs PCLMULQDQ + SSSE3 + SSE4.1; VPCLMUL needs VPCLMULQDQ with
 * AVX-512F/BW/VL. */
enum crc_tier { CRC_TIER_BITWISE = 0, CRC_TIER_SLICE16 = 1, CRC_TIER_CLMUL = 2, CRC_TIER_VPCLMUL = 3 };
#define CRC_TIER_COUNT 4

/* crc_engine_init results. */
enum crc_status {
    CRC_OK = 0,
    CRC_BAD_WIDTH = 1,        /* width outside 1..64 */
    CRC_BAD_PARAM = 2,        /* poly, init or xorout wider than width bits */
    CRC_TIER_UNSUPPORTED = 3, /* the tier is unknown or this CPU cannot run it */
};

typedef struct crc_engine {
    int width;
    int refin, refout;
    int tier;                    /* enum crc_tier in use */
    uint64_t poly, init, xorout; /* the model's parameters, as given (normal form) */
    uint64_t mask;               /* low `width` bits: a CRC value never has others set */
    uint64_t pn;                 /* G' without its x^64 term: poly << (64 - width) */
    uint64_t pr;                 /* bit-reversal of pn: the reflected polynomial */
    uint64_t init_reg;           /* init in register form */
    /* fold constants, laid out for the instruction pattern clmul(x,k,0x00)^clmul(x,k,0x11) */
    uint64_t k128[2], k512[2], k1024[2], k2048[2];
    uint64_t xpow[67];           /* x^(2^k) mod G', normal form: combine and repeat */
    uint64_t table[16][256];     /* table[j] = table[0] advanced by j zero bytes */
} crc_engine;

/* Name of a tier ("bitwise", "slice16", "clmul", "vpclmul"), or NULL if out of range. */
const char *crc_tier_name(int tier);

/* The tier called `name`, or -1 when no tier has that name. */
int crc_tier_by_name(const char *name);

/* 1 when this CPU can run `tier`, else 0. */
int crc_tier_supported(int tier);

/* The fastest tier this CPU can run. */
int crc_best_tier(void);

/* Set up `e` for one model on `tier` (tables and fold constants); CRC_OK or the reason
 * it was refused, leaving `e` unusable. */
enum crc_status crc_engine_init(crc_engine *e, int width, uint64_t poly, uint64_t init, int refin,
                                int refout, uint64_t xorout, int tier);

/* Register after feeding the n bytes at p to register `reg`. */
uint64_t crc_engine_update(const crc_engine *e, uint64_t reg, const unsigned char *p, size_t n);

/* Register after feeding `count` copies of `byte`, in O(log count). */
uint64_t crc_engine_update_repeat(const crc_engine *e, uint64_t reg, unsigned char byte, uint64_t count);

/* The register <-> value conversions are inline: a short input costs one call. */

/* The 64-bit bit reversal of v. */
static inline uint64_t crc_rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    return __builtin_bswap64(v);
}

/* The low w bits of v reversed (1 <= w <= 64). */
static inline uint64_t crc_reflect(uint64_t v, int w)
{
    return crc_rev64(v) >> (64 - w);
}

/* Register at the start of a message (the model's init). */
static inline uint64_t crc_engine_start(const crc_engine *e)
{
    return e->init_reg;
}

/* Register that continues from an earlier CRC `value` (only its low width bits count). */
static inline uint64_t crc_engine_resume(const crc_engine *e, uint64_t value)
{
    uint64_t v = (value ^ e->xorout) & e->mask;
    if (e->refin)
        return e->refout ? v : crc_reflect(v, e->width);
    return (e->refout ? crc_reflect(v, e->width) : v) << (64 - e->width);
}

/* The CRC value of register `reg` (reflected for refout != refin, XORed with xorout). */
static inline uint64_t crc_engine_final(const crc_engine *e, uint64_t reg)
{
    uint64_t v;
    if (e->refin)
        v = e->refout ? reg : crc_reflect(reg, e->width);
    else
        v = e->refout ? crc_reflect(reg >> (64 - e->width), e->width) : reg >> (64 - e->width);
    return v ^ e->xorout;
}

/* CRC value of the n bytes at p: final(update(start(), p, n)). */
uint64_t crc_engine_compute(const crc_engine *e, const unsigned char *p, size_t n);

/* CRC value of each consecutive block_size-byte block of p[0..n) into out[], the last
 * block possibly shorter; out has room for ceil(n / block_size) values (block_size > 0). */
void crc_engine_compute_blocks(const crc_engine *e, const unsigned char *p, size_t n, size_t block_size,
                               uint64_t *out);

/* CRC value of A+B from crc1 = CRC(A), crc2 = CRC(B) and len2 = len(B) in bytes, in
 * O(log len2) without the data (multiplication by x^(8 len2) mod G). */
uint64_t crc_engine_combine(const crc_engine *e, uint64_t crc1, uint64_t crc2, uint64_t len2);

#endif

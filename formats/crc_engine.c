/*
 * crc_engine.c -- the CRC engine of formats._accel in plain C11 (no Python.h); the
 * interface is crc_engine.h, the CPython binding _accel.c.
 *
 * Sources: R. Williams, "A Painless Guide to CRC Error Detection Algorithms" (the model:
 * width, poly, init, refin, refout, xorout); G. Ewing's reveng catalogue (parameters and
 * check values); Intel, "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ"
 * (folding with carry-less multiplication).  Written from the mathematics below.
 *
 * Register convention (one code path for every width):
 *   - refin = false: the register is kept LEFT-aligned in 64 bits.  With G' = G * x^(64-w)
 *     (degree 64) the register is exactly a 64-bit CRC with polynomial G': for a message
 *     polynomial M and start register S,  S' = (S * x^(8L) + M * x^64) mod G'.
 *   - refin = true: the register is the 64-bit bit-reversal of that, i.e. the reflected
 *     CRC RIGHT-aligned in the low w bits, and data bytes are taken LSB first.
 * Output: value = (refout != refin ? reverse the w bits : as is) ^ xorout.
 *
 * Tiers: bitwise (reference, tests only), slice16 (16 tables of 256 x uint64, any model),
 * clmul (PCLMULQDQ, 8 x 128-bit lanes), vpclmul (VPCLMULQDQ on AVX-512, 4 x 512-bit
 * lanes).  Fold constants x^k mod G' are computed for the model when it is constructed;
 * the final 128 -> 64 bit reduction feeds the folded 16 bytes through the slice16 tables
 * (which is the definition of "A * x^64 mod G'"), so no Barrett pair is needed.
 */

#include "crc_engine.h"

#include <string.h>

#include "byteorder.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_X86_SIMD 1
#include <immintrin.h>
#else
#define HAVE_X86_SIMD 0
#endif

/* Below these lengths the SIMD tiers hand the whole call to slice16. */
#define CLMUL_MIN_LEN 128
#define VPCLMUL_MIN_LEN 512

static const char *const tier_names[CRC_TIER_COUNT] = {"bitwise", "slice16", "clmul", "vpclmul"};

/* a * b mod G' (normal form, G' = x^64 + pn). */
static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t pn)
{
    uint64_t r = 0;
    int i;
    for (i = 63; i >= 0; i--) {
        r = (r << 1) ^ (pn & (0 - (r >> 63)));
        if ((b >> i) & 1)
            r ^= a;
    }
    return r;
}

/* x^k mod G' (normal form), for fold constants (k is at most a few thousand). */
static uint64_t xpow_mod_slow(unsigned k, uint64_t pn)
{
    uint64_t r = 1;
    unsigned i;
    for (i = 0; i < k; i++)
        r = (r << 1) ^ (pn & (0 - (r >> 63)));
    return r;
}

/* x^(8n) mod G' in O(log n) multiplications, using xpow[k] = x^(2^k). */
static uint64_t xpow8n(const crc_engine *e, uint64_t n)
{
    uint64_t r = 1;
    int k = 3; /* 8n = n << 3 */
    while (n) {
        if (n & 1)
            r = mulmod(r, e->xpow[k], e->pn);
        n >>= 1;
        k++;
    }
    return r;
}

/* register <-> normal (left-aligned) form, for the polynomial arithmetic */
static inline uint64_t reg_to_normal(const crc_engine *e, uint64_t reg)
{
    return e->refin ? crc_rev64(reg) : reg;
}

/* -- bitwise reference -------------------------------------------------------------- */

static uint64_t crc_bitwise(const crc_engine *e, uint64_t reg, const unsigned char *p, size_t n)
{
    size_t i;
    int b;
    if (e->refin) {
        for (i = 0; i < n; i++) {
            reg ^= p[i];
            for (b = 0; b < 8; b++)
                reg = (reg >> 1) ^ (e->pr & (0 - (reg & 1)));
        }
    } else {
        for (i = 0; i < n; i++) {
            reg ^= (uint64_t)p[i] << 56;
            for (b = 0; b < 8; b++)
                reg = (reg << 1) ^ (e->pn & (0 - (reg >> 63)));
        }
    }
    return reg;
}

/* -- slice-by-16 -------------------------------------------------------------------- */

static uint64_t crc_slice16(const crc_engine *e, uint64_t reg, const unsigned char *p, size_t n)
{
    const uint64_t (*t)[256] = e->table;
    if (e->refin) {
        while (n >= 16) {
            uint64_t a = load_le64(p) ^ reg, b = load_le64(p + 8);
            reg = t[15][a & 0xff] ^ t[14][(a >> 8) & 0xff] ^ t[13][(a >> 16) & 0xff] ^
                  t[12][(a >> 24) & 0xff] ^ t[11][(a >> 32) & 0xff] ^ t[10][(a >> 40) & 0xff] ^
                  t[9][(a >> 48) & 0xff] ^ t[8][a >> 56] ^
                  t[7][b & 0xff] ^ t[6][(b >> 8) & 0xff] ^ t[5][(b >> 16) & 0xff] ^
                  t[4][(b >> 24) & 0xff] ^ t[3][(b >> 32) & 0xff] ^ t[2][(b >> 40) & 0xff] ^
                  t[1][(b >> 48) & 0xff] ^ t[0][b >> 56];
            p += 16;
            n -= 16;
        }
        while (n--)
            reg = (reg >> 8) ^ t[0][(reg ^ *p++) & 0xff];
    } else {
        while (n >= 16) {
            uint64_t a = load_be64(p) ^ reg, b = load_be64(p + 8);
            reg = t[15][a >> 56] ^ t[14][(a >> 48) & 0xff] ^ t[13][(a >> 40) & 0xff] ^
                  t[12][(a >> 32) & 0xff] ^ t[11][(a >> 24) & 0xff] ^ t[10][(a >> 16) & 0xff] ^
                  t[9][(a >> 8) & 0xff] ^ t[8][a & 0xff] ^
                  t[7][b >> 56] ^ t[6][(b >> 48) & 0xff] ^ t[5][(b >> 40) & 0xff] ^
                  t[4][(b >> 32) & 0xff] ^ t[3][(b >> 24) & 0xff] ^ t[2][(b >> 16) & 0xff] ^
                  t[1][(b >> 8) & 0xff] ^ t[0][b & 0xff];
            p += 16;
            n -= 16;
        }
        while (n--)
            reg = (reg << 8) ^ t[0][(reg >> 56) ^ *p++];
    }
    return reg;
}

/* -- carry-less multiplication folding ------------------------------------------------ */
/*
 * Normal form: a 16-byte block read big-endian is A = Ah*x^64 + Al.  Moving it D bits
 * further along the message multiplies it by x^D:  A*x^D == Ah*(x^(D+64) mod G') +
 * Al*(x^D mod G'), two 64x64 carry-less products.  Constants: k = {lo: x^D, hi: x^(D+64)}.
 * Reflected form: the block read little-endian is R = rev128(A), so R.lo = rev64(Ah),
 * R.hi = rev64(Al), and clmul(rev64 a, rev64 b) = rev128(a*b*x).  The extra factor x is
 * absorbed by using x^(D+63) and x^(D-1): k = {lo: rev64(x^(D+63)), hi: rev64(x^(D-1))}.
 * Either way one fold is  clmul(v, k, 0x00) ^ clmul(v, k, 0x11).
 * The start register is XORed into the first 8 message bytes (high qword in normal form,
 * low qword in reflected form).  At the end the single remaining 128-bit value A gives the
 * register A*x^64 mod G', which is the CRC (start 0) of its 16 bytes: slice16 does that.
 */

static void fold_constants(uint64_t k[2], unsigned d, uint64_t pn, int refl)
{
    if (refl) {
        k[0] = crc_rev64(xpow_mod_slow(d + 63, pn));
        k[1] = crc_rev64(xpow_mod_slow(d - 1, pn));
    } else {
        k[0] = xpow_mod_slow(d, pn);
        k[1] = xpow_mod_slow(d + 64, pn);
    }
}

#if HAVE_X86_SIMD

#define TGT_CLMUL __attribute__((target("pclmul,sse2,ssse3,sse4.1")))
#define TGT_VPCLMUL __attribute__((target("pclmul,sse2,ssse3,sse4.1,avx,avx2,avx512f,avx512bw,avx512vl,vpclmulqdq")))

TGT_CLMUL static inline __m128i fold128(__m128i v, __m128i k)
{
    return _mm_xor_si128(_mm_clmulepi64_si128(v, k, 0x00), _mm_clmulepi64_si128(v, k, 0x11));
}

TGT_CLMUL static inline __m128i load128(const unsigned char *p, int refl, __m128i bswap)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    return refl ? v : _mm_shuffle_epi8(v, bswap);
}

/* Fold the remaining 16-byte blocks into acc, reduce to a register and finish the tail. */
TGT_CLMUL static uint64_t clmul_finish(const crc_engine *e, __m128i acc, const unsigned char *p,
                                        size_t n, __m128i bswap)
{
    const int refl = e->refin;
    const __m128i k1 = _mm_loadu_si128((const __m128i *)(const void *)e->k128);
    unsigned char buf[16];
    uint64_t reg;
    while (n >= 16) {
        acc = _mm_xor_si128(fold128(acc, k1), load128(p, refl, bswap));
        p += 16;
        n -= 16;
    }
    if (!refl)
        acc = _mm_shuffle_epi8(acc, bswap);
    _mm_storeu_si128((__m128i *)(void *)buf, acc);
    reg = crc_slice16(e, 0, buf, 16);
    return crc_slice16(e, reg, p, n);
}

/* The start register XORed into the first 8 message bytes (see above). */
TGT_CLMUL static inline __m128i start128(uint64_t reg, int refl)
{
    return refl ? _mm_set_epi64x(0, (long long)reg) : _mm_set_epi64x((long long)reg, 0);
}

#define CLMUL_LANES 8 /* 8 x 16 bytes folded 1024 bits at a time */

TGT_CLMUL static uint64_t crc_clmul(const crc_engine *e, uint64_t reg, const unsigned char *p, size_t n)
{
    const int refl = e->refin;
    const __m128i bswap = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m128i x[CLMUL_LANES], k8, k1, acc;
    int i;

    if (n < CLMUL_MIN_LEN)
        return crc_slice16(e, reg, p, n);
    for (i = 0; i < CLMUL_LANES; i++)
        x[i] = load128(p + 16 * i, refl, bswap);
    x[0] = _mm_xor_si128(x[0], start128(reg, refl));
    p += 16 * CLMUL_LANES;
    n -= 16 * CLMUL_LANES;
    k8 = _mm_loadu_si128((const __m128i *)(const void *)e->k1024);
    while (n >= 16 * CLMUL_LANES) {
        for (i = 0; i < CLMUL_LANES; i++)
            x[i] = _mm_xor_si128(fold128(x[i], k8), load128(p + 16 * i, refl, bswap));
        p += 16 * CLMUL_LANES;
        n -= 16 * CLMUL_LANES;
    }
    k1 = _mm_loadu_si128((const __m128i *)(const void *)e->k128);
    acc = x[0];
    for (i = 1; i < CLMUL_LANES; i++)
        acc = _mm_xor_si128(fold128(acc, k1), x[i]);
    return clmul_finish(e, acc, p, n, bswap);
}

TGT_VPCLMUL static inline __m512i fold512(__m512i v, __m512i k, __m512i data)
{
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(v, k, 0x00),
                                     _mm512_clmulepi64_epi128(v, k, 0x11), data, 0x96);
}

TGT_VPCLMUL static inline __m512i load512(const unsigned char *p, int refl, __m512i bswap)
{
    __m512i v = _mm512_loadu_si512((const void *)p);
    return refl ? v : _mm512_shuffle_epi8(v, bswap);
}

#define VPCLMUL_LANES 4 /* 4 x 64 bytes folded 2048 bits at a time */

TGT_VPCLMUL static uint64_t crc_vpclmul(const crc_engine *e, uint64_t reg, const unsigned char *p, size_t n)
{
    const int refl = e->refin;
    const __m128i bswap128 = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i bswap = _mm512_broadcast_i32x4(bswap128);
    __m512i z[VPCLMUL_LANES], k16, k4;
    __m128i k1, acc;
    int i;

    if (n < VPCLMUL_MIN_LEN)
        return crc_clmul(e, reg, p, n);
    for (i = 0; i < VPCLMUL_LANES; i++)
        z[i] = load512(p + 64 * i, refl, bswap);
    z[0] = _mm512_xor_si512(z[0], _mm512_inserti32x4(_mm512_setzero_si512(), start128(reg, refl), 0));
    p += 64 * VPCLMUL_LANES;
    n -= 64 * VPCLMUL_LANES;
    k16 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)e->k2048));
    while (n >= 64 * VPCLMUL_LANES) {
        for (i = 0; i < VPCLMUL_LANES; i++)
            z[i] = fold512(z[i], k16, load512(p + 64 * i, refl, bswap));
        p += 64 * VPCLMUL_LANES;
        n -= 64 * VPCLMUL_LANES;
    }
    k4 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)e->k512));
    for (i = 1; i < VPCLMUL_LANES; i++)
        z[0] = fold512(z[0], k4, z[i]);
    while (n >= 64) {
        z[0] = fold512(z[0], k4, load512(p, refl, bswap));
        p += 64;
        n -= 64;
    }
    k1 = _mm_loadu_si128((const __m128i *)(const void *)e->k128);
    acc = _mm512_extracti32x4_epi32(z[0], 0);
    acc = _mm_xor_si128(fold128(acc, k1), _mm512_extracti32x4_epi32(z[0], 1));
    acc = _mm_xor_si128(fold128(acc, k1), _mm512_extracti32x4_epi32(z[0], 2));
    acc = _mm_xor_si128(fold128(acc, k1), _mm512_extracti32x4_epi32(z[0], 3));
    return clmul_finish(e, acc, p, n, bswap128);
}

static int cpu_has_clmul(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("ssse3") &&
           __builtin_cpu_supports("sse4.1");
}

static int cpu_has_vpclmul(void)
{
    __builtin_cpu_init();
    return cpu_has_clmul() && __builtin_cpu_supports("vpclmulqdq") &&
           __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
}

#else /* !HAVE_X86_SIMD */

static int cpu_has_clmul(void) { return 0; }
static int cpu_has_vpclmul(void) { return 0; }

#endif

int crc_tier_supported(int tier)
{
    switch (tier) {
    case CRC_TIER_BITWISE:
    case CRC_TIER_SLICE16:
        return 1;
    case CRC_TIER_CLMUL:
        return cpu_has_clmul();
    case CRC_TIER_VPCLMUL:
        return cpu_has_vpclmul();
    }
    return 0;
}

/* -- the interface (crc_engine.h) --------------------------------------------------- */

const char *crc_tier_name(int tier)
{
    return tier >= 0 && tier < CRC_TIER_COUNT ? tier_names[tier] : NULL;
}

int crc_tier_by_name(const char *name)
{
    int t;
    for (t = 0; t < CRC_TIER_COUNT; t++)
        if (strcmp(name, tier_names[t]) == 0)
            return t;
    return -1;
}

int crc_best_tier(void)
{
    return cpu_has_vpclmul() ? CRC_TIER_VPCLMUL : cpu_has_clmul() ? CRC_TIER_CLMUL : CRC_TIER_SLICE16;
}

uint64_t crc_engine_update(const crc_engine *e, uint64_t reg, const unsigned char *p, size_t n)
{
    switch (e->tier) {
    case CRC_TIER_BITWISE:
        return crc_bitwise(e, reg, p, n);
#if HAVE_X86_SIMD
    case CRC_TIER_VPCLMUL:
        return crc_vpclmul(e, reg, p, n);
    case CRC_TIER_CLMUL:
        return crc_clmul(e, reg, p, n);
#endif
    default:
        return crc_slice16(e, reg, p, n);
    }
}

uint64_t crc_engine_update_repeat(const crc_engine *e, uint64_t reg, unsigned char byte, uint64_t count)
{
    uint64_t rn = reg_to_normal(e, reg);
    uint64_t z = reg_to_normal(e, crc_bitwise(e, 0, &byte, 1)); /* CRC(start 0) of 2^k bytes */
    int k = 3;
    while (count) {
        if (count & 1)
            rn = mulmod(rn, e->xpow[k], e->pn) ^ z;
        count >>= 1;
        if (count)
            z = mulmod(z, e->xpow[k], e->pn) ^ z;
        k++;
    }
    return reg_to_normal(e, rn); /* rev64 is its own inverse */
}

enum crc_status crc_engine_init(crc_engine *e, int width, uint64_t poly, uint64_t init, int refin,
                                int refout, uint64_t xorout, int tier)
{
    int i, j;
    uint64_t mask;

    if (width < 1 || width > 64)
        return CRC_BAD_WIDTH;
    mask = width == 64 ? ~(uint64_t)0 : (((uint64_t)1 << width) - 1);
    if ((poly & ~mask) || (init & ~mask) || (xorout & ~mask))
        return CRC_BAD_PARAM;
    if (!crc_tier_supported(tier))
        return CRC_TIER_UNSUPPORTED;
    e->width = width;
    e->refin = refin != 0;
    e->refout = refout != 0;
    e->tier = tier;
    e->poly = poly;
    e->init = init;
    e->xorout = xorout;
    e->mask = mask;
    e->pn = poly << (64 - width);
    e->pr = crc_rev64(e->pn);
    e->init_reg = e->refin ? crc_reflect(init, width) : init << (64 - width);

    for (i = 0; i < 256; i++) {
        unsigned char b = (unsigned char)i;
        e->table[0][i] = crc_bitwise(e, 0, &b, 1);
    }
    for (j = 1; j < 16; j++) {
        for (i = 0; i < 256; i++) {
            uint64_t c = e->table[j - 1][i];
            e->table[j][i] = e->refin ? (c >> 8) ^ e->table[0][c & 0xff]
                                      : (c << 8) ^ e->table[0][c >> 56];
        }
    }
    e->xpow[0] = 2; /* x mod G' (deg G' = 64) */
    for (i = 1; i < 67; i++)
        e->xpow[i] = mulmod(e->xpow[i - 1], e->xpow[i - 1], e->pn);
    fold_constants(e->k128, 128, e->pn, e->refin);
    fold_constants(e->k512, 512, e->pn, e->refin);
    fold_constants(e->k1024, 1024, e->pn, e->refin);
    fold_constants(e->k2048, 2048, e->pn, e->refin);
    return CRC_OK;
}

uint64_t crc_engine_compute(const crc_engine *e, const unsigned char *p, size_t n)
{
    return crc_engine_final(e, crc_engine_update(e, e->init_reg, p, n));
}

void crc_engine_compute_blocks(const crc_engine *e, const unsigned char *p, size_t n, size_t block_size,
                               uint64_t *out)
{
    size_t off;
    for (off = 0; off < n; off += block_size)
        *out++ = crc_engine_compute(e, p + off, n - off < block_size ? n - off : block_size);
}

uint64_t crc_engine_combine(const crc_engine *e, uint64_t crc1, uint64_t crc2, uint64_t len2)
{
    uint64_t r1 = crc_engine_resume(e, crc1), r2 = crc_engine_resume(e, crc2);
    uint64_t d = mulmod(reg_to_normal(e, r1 ^ e->init_reg), xpow8n(e, len2), e->pn);
    return crc_engine_final(e, r2 ^ reg_to_normal(e, d));
}

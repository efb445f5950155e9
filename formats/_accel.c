/*
 * formats._accel -- the C core of imgtool's formats layer.
 *
 * Contents:
 *   - pe_checksum(data, checksum_offset) -> int
 *       PE/COFF image checksum (imagehlp CheckSumMappedFile).
 *   - CrcEngine(width, poly, init, refin, refout, xorout, tier='auto')
 *       a CRC engine for one Rocksoft/Williams model with compute / compute_blocks /
 *       combine / repeat; tiers bitwise, slice16, clmul (PCLMULQDQ), vpclmul (AVX-512).
 *   - cpu_tiers() -> list of the tiers this CPU supports.
 *   - apply_relocs(...): ELF dynamic relocations applied to an image (_accel_reloc.c).
 *
 * Every function here has a pure-Python twin (formats/checksum.py, formats/_crc_py.py)
 * giving identical results; the Python modules decide which one runs.
 *
 * Input is taken zero-copy through the buffer protocol (PyBUF_SIMPLE: bytes, bytearray,
 * memoryview, mmap, array('B')); str is rejected.  Large inputs are processed with the
 * GIL released.  Mutating a buffer from another thread while it is being read gives an
 * undefined (but memory-safe) result, as with hashlib.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "_accel.h"

/* Inputs at least this long are processed with the GIL released. */
#define GIL_RELEASE_THRESHOLD (16 * 1024)

/* ------------------------------------------------------------------------------------ */
/* Small portable helpers                                                               */
/* ------------------------------------------------------------------------------------ */

static inline uint64_t load_le64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline uint64_t load_be64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* Declared in _accel.h: a C-contiguous byte view of obj; str is refused with a TypeError. */
int accel_bytes_view(PyObject *obj, Py_buffer *view, const char *what)
{
    if (PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s: strings are not accepted, pass bytes "
                     "(e.g. s.encode())", what);
        return -1;
    }
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* PE/COFF image checksum                                                               */
/* ------------------------------------------------------------------------------------ */

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

static uint32_t pe_checksum_raw(const unsigned char *p, size_t n, size_t off)
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

PyDoc_STRVAR(pe_checksum_doc,
"pe_checksum(data, checksum_offset, /) -> int\n\n"
"PE/COFF image checksum (imagehlp CheckSumMappedFile) of the bytes-like `data`, with the\n"
"4-byte CheckSum field at `checksum_offset` taken as zero.  Raises ValueError when the\n"
"field does not fit in the data.");

static PyObject *py_pe_checksum(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer view;
    Py_ssize_t off;
    uint32_t r;
    (void)mod;

    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "pe_checksum() takes exactly 2 arguments");
        return NULL;
    }
    off = PyLong_AsSsize_t(args[1]);
    if (off == -1 && PyErr_Occurred())
        return NULL;
    if (accel_bytes_view(args[0], &view, "pe_checksum") < 0)
        return NULL;
    if (off < 0 || off > view.len - 4) {
        PyErr_Format(PyExc_ValueError, "CheckSum field at offset %zd does not fit in a "
                     "%zd-byte image", off, view.len);
        PyBuffer_Release(&view);
        return NULL;
    }
    if (view.len >= GIL_RELEASE_THRESHOLD) {
        Py_BEGIN_ALLOW_THREADS
        r = pe_checksum_raw(view.buf, (size_t)view.len, (size_t)off);
        Py_END_ALLOW_THREADS
    } else {
        r = pe_checksum_raw(view.buf, (size_t)view.len, (size_t)off);
    }
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(r);
}

/* ------------------------------------------------------------------------------------ */
/* CRC engine (Rocksoft/Williams model, width 1..64)                                     */
/* ------------------------------------------------------------------------------------ */
/*
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

enum { TIER_BITWISE = 0, TIER_SLICE16 = 1, TIER_CLMUL = 2, TIER_VPCLMUL = 3 };
static const char *const tier_names[] = {"bitwise", "slice16", "clmul", "vpclmul"};

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_X86_SIMD 1
#include <immintrin.h>
#else
#define HAVE_X86_SIMD 0
#endif

/* Below these lengths the SIMD tiers hand the whole call to slice16. */
#define CLMUL_MIN_LEN 128
#define VPCLMUL_MIN_LEN 512

typedef struct {
    PyObject_HEAD
    int width;
    int refin, refout;
    int tier;
    uint64_t poly, init, xorout; /* the model's parameters, as given (normal form) */
    uint64_t mask;               /* low `width` bits */
    uint64_t pn;                 /* G' without its x^64 term: poly << (64 - width) */
    uint64_t pr;                 /* bit-reversal of pn: the reflected polynomial */
    uint64_t init_reg;           /* init in register form */
    /* fold constants, laid out for the instruction pattern clmul(x,k,0x00)^clmul(x,k,0x11) */
    uint64_t k128[2], k512[2], k1024[2], k2048[2];
    uint64_t xpow[67];           /* x^(2^k) mod G', normal form: combine and repeat */
    uint64_t table[16][256];     /* table[j] = table[0] advanced by j zero bytes */
} CrcEngine;

static inline uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    return __builtin_bswap64(v);
}

static inline uint64_t reflect_w(uint64_t v, int w)
{
    return rev64(v) >> (64 - w);
}

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
static uint64_t xpow8n(const CrcEngine *e, uint64_t n)
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

static inline uint64_t reg_to_value(const CrcEngine *e, uint64_t reg)
{
    uint64_t v;
    if (e->refin)
        v = e->refout ? reg : reflect_w(reg, e->width);
    else
        v = e->refout ? reflect_w(reg >> (64 - e->width), e->width) : reg >> (64 - e->width);
    return v ^ e->xorout;
}

static inline uint64_t value_to_reg(const CrcEngine *e, uint64_t v)
{
    v = (v ^ e->xorout) & e->mask;
    if (e->refin)
        return e->refout ? v : reflect_w(v, e->width);
    return (e->refout ? reflect_w(v, e->width) : v) << (64 - e->width);
}

/* register <-> normal (left-aligned) form, for the polynomial arithmetic */
static inline uint64_t reg_to_normal(const CrcEngine *e, uint64_t reg)
{
    return e->refin ? rev64(reg) : reg;
}

/* -- bitwise reference -------------------------------------------------------------- */

static uint64_t crc_bitwise(const CrcEngine *e, uint64_t reg, const unsigned char *p, size_t n)
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

static uint64_t crc_slice16(const CrcEngine *e, uint64_t reg, const unsigned char *p, size_t n)
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
        k[0] = rev64(xpow_mod_slow(d + 63, pn));
        k[1] = rev64(xpow_mod_slow(d - 1, pn));
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
TGT_CLMUL static uint64_t clmul_finish(const CrcEngine *e, __m128i acc, const unsigned char *p,
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

TGT_CLMUL static uint64_t crc_clmul(const CrcEngine *e, uint64_t reg, const unsigned char *p, size_t n)
{
    const int refl = e->refin;
    const __m128i bswap = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m128i x0, x1, x2, x3, x4, x5, x6, x7, k8, k1, acc;

    if (n < CLMUL_MIN_LEN)
        return crc_slice16(e, reg, p, n);
    x0 = load128(p, refl, bswap);
    x1 = load128(p + 16, refl, bswap);
    x2 = load128(p + 32, refl, bswap);
    x3 = load128(p + 48, refl, bswap);
    x4 = load128(p + 64, refl, bswap);
    x5 = load128(p + 80, refl, bswap);
    x6 = load128(p + 96, refl, bswap);
    x7 = load128(p + 112, refl, bswap);
    x0 = _mm_xor_si128(x0, refl ? _mm_set_epi64x(0, (long long)reg) : _mm_set_epi64x((long long)reg, 0));
    p += 128;
    n -= 128;
    k8 = _mm_loadu_si128((const __m128i *)(const void *)e->k1024);
    while (n >= 128) {
        x0 = _mm_xor_si128(fold128(x0, k8), load128(p, refl, bswap));
        x1 = _mm_xor_si128(fold128(x1, k8), load128(p + 16, refl, bswap));
        x2 = _mm_xor_si128(fold128(x2, k8), load128(p + 32, refl, bswap));
        x3 = _mm_xor_si128(fold128(x3, k8), load128(p + 48, refl, bswap));
        x4 = _mm_xor_si128(fold128(x4, k8), load128(p + 64, refl, bswap));
        x5 = _mm_xor_si128(fold128(x5, k8), load128(p + 80, refl, bswap));
        x6 = _mm_xor_si128(fold128(x6, k8), load128(p + 96, refl, bswap));
        x7 = _mm_xor_si128(fold128(x7, k8), load128(p + 112, refl, bswap));
        p += 128;
        n -= 128;
    }
    k1 = _mm_loadu_si128((const __m128i *)(const void *)e->k128);
    acc = _mm_xor_si128(fold128(x0, k1), x1);
    acc = _mm_xor_si128(fold128(acc, k1), x2);
    acc = _mm_xor_si128(fold128(acc, k1), x3);
    acc = _mm_xor_si128(fold128(acc, k1), x4);
    acc = _mm_xor_si128(fold128(acc, k1), x5);
    acc = _mm_xor_si128(fold128(acc, k1), x6);
    acc = _mm_xor_si128(fold128(acc, k1), x7);
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

TGT_VPCLMUL static uint64_t crc_vpclmul(const CrcEngine *e, uint64_t reg, const unsigned char *p, size_t n)
{
    const int refl = e->refin;
    const __m128i bswap128 = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i bswap = _mm512_broadcast_i32x4(bswap128);
    __m512i z0, z1, z2, z3, k16, k4;
    __m128i k1, acc, init;

    if (n < VPCLMUL_MIN_LEN)
        return crc_clmul(e, reg, p, n);
    z0 = load512(p, refl, bswap);
    z1 = load512(p + 64, refl, bswap);
    z2 = load512(p + 128, refl, bswap);
    z3 = load512(p + 192, refl, bswap);
    init = refl ? _mm_set_epi64x(0, (long long)reg) : _mm_set_epi64x((long long)reg, 0);
    z0 = _mm512_xor_si512(z0, _mm512_inserti32x4(_mm512_setzero_si512(), init, 0));
    p += 256;
    n -= 256;
    k16 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)e->k2048));
    while (n >= 256) {
        z0 = fold512(z0, k16, load512(p, refl, bswap));
        z1 = fold512(z1, k16, load512(p + 64, refl, bswap));
        z2 = fold512(z2, k16, load512(p + 128, refl, bswap));
        z3 = fold512(z3, k16, load512(p + 192, refl, bswap));
        p += 256;
        n -= 256;
    }
    k4 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)e->k512));
    z0 = fold512(z0, k4, z1);
    z0 = fold512(z0, k4, z2);
    z0 = fold512(z0, k4, z3);
    while (n >= 64) {
        z0 = fold512(z0, k4, load512(p, refl, bswap));
        p += 64;
        n -= 64;
    }
    k1 = _mm_loadu_si128((const __m128i *)(const void *)e->k128);
    acc = _mm512_extracti32x4_epi32(z0, 0);
    acc = _mm_xor_si128(fold128(acc, k1), _mm512_extracti32x4_epi32(z0, 1));
    acc = _mm_xor_si128(fold128(acc, k1), _mm512_extracti32x4_epi32(z0, 2));
    acc = _mm_xor_si128(fold128(acc, k1), _mm512_extracti32x4_epi32(z0, 3));
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

static int tier_supported(int tier)
{
    switch (tier) {
    case TIER_BITWISE:
    case TIER_SLICE16:
        return 1;
    case TIER_CLMUL:
        return cpu_has_clmul();
    case TIER_VPCLMUL:
        return cpu_has_vpclmul();
    }
    return 0;
}

static uint64_t crc_run(const CrcEngine *e, uint64_t reg, const unsigned char *p, size_t n)
{
    switch (e->tier) {
    case TIER_BITWISE:
        return crc_bitwise(e, reg, p, n);
#if HAVE_X86_SIMD
    case TIER_VPCLMUL:
        return crc_vpclmul(e, reg, p, n);
    case TIER_CLMUL:
        return crc_clmul(e, reg, p, n);
#endif
    default:
        return crc_slice16(e, reg, p, n);
    }
}

/* Register after `count` copies of `byte`, starting from `reg`, in O(log count). */
static uint64_t crc_repeat(const CrcEngine *e, uint64_t reg, unsigned char byte, uint64_t count)
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

/* -- Python type ---------------------------------------------------------------------- */

static int parse_u64(PyObject *o, uint64_t *out, const char *name)
{
    unsigned long long v;
    if (!PyLong_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", name, Py_TYPE(o)->tp_name);
        return -1;
    }
    v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s must be an unsigned integer below 2**64", name);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* Parse a CRC value argument and check that it fits in the model's width. */
static int parse_value(const CrcEngine *e, PyObject *o, uint64_t *out, const char *name)
{
    if (parse_u64(o, out, name) < 0)
        return -1;
    if (*out & ~e->mask) {
        char hex[24];
        snprintf(hex, sizeof hex, "0x%llx", (unsigned long long)*out);
        PyErr_Format(PyExc_ValueError, "%s %s does not fit in a %d-bit CRC", name, hex, e->width);
        return -1;
    }
    return 0;
}

static int engine_init_model(CrcEngine *e)
{
    int i, j;
    const int w = e->width;
    e->mask = w == 64 ? ~(uint64_t)0 : (((uint64_t)1 << w) - 1);
    e->pn = e->poly << (64 - w);
    e->pr = rev64(e->pn);
    e->init_reg = e->refin ? reflect_w(e->init, w) : e->init << (64 - w);

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
    return 0;
}

static PyObject *engine_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"width", "poly", "init", "refin", "refout", "xorout", "tier", NULL};
    int width, refin, refout;
    PyObject *opoly, *oinit, *oxorout;
    const char *tier = "auto";
    uint64_t poly, init, xorout, mask;
    CrcEngine *e;
    int t;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iOOppO|s:CrcEngine", kwlist, &width, &opoly,
                                     &oinit, &refin, &refout, &oxorout, &tier))
        return NULL;
    if (width < 1 || width > 64) {
        PyErr_Format(PyExc_ValueError, "CRC width must be 1..64, got %d", width);
        return NULL;
    }
    if (parse_u64(opoly, &poly, "poly") < 0 || parse_u64(oinit, &init, "init") < 0 ||
        parse_u64(oxorout, &xorout, "xorout") < 0)
        return NULL;
    mask = width == 64 ? ~(uint64_t)0 : (((uint64_t)1 << width) - 1);
    if ((poly & ~mask) || (init & ~mask) || (xorout & ~mask)) {
        PyErr_Format(PyExc_ValueError, "poly, init and xorout must fit in %d bits", width);
        return NULL;
    }
    if (strcmp(tier, "auto") == 0) {
        t = cpu_has_vpclmul() ? TIER_VPCLMUL : cpu_has_clmul() ? TIER_CLMUL : TIER_SLICE16;
    } else {
        for (t = 0; t < 4; t++)
            if (strcmp(tier, tier_names[t]) == 0)
                break;
        if (t == 4) {
            PyErr_Format(PyExc_ValueError, "unknown CRC tier '%s' (expected auto, bitwise, "
                         "slice16, clmul or vpclmul)", tier);
            return NULL;
        }
        if (!tier_supported(t)) {
            PyErr_Format(PyExc_ValueError, "CRC tier '%s' is not supported by this CPU", tier);
            return NULL;
        }
    }
    e = (CrcEngine *)type->tp_alloc(type, 0);
    if (e == NULL)
        return NULL;
    e->width = width;
    e->refin = refin;
    e->refout = refout;
    e->poly = poly;
    e->init = init;
    e->xorout = xorout;
    e->tier = t;
    engine_init_model(e);
    return (PyObject *)e;
}

/* compute(data, value=None, /): CRC value of data, continuing from a previous value. */
static PyObject *engine_compute(CrcEngine *e, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer view;
    uint64_t reg, v;

    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "compute() takes 1 or 2 positional arguments (data, value=None)");
        return NULL;
    }
    if (nargs == 2 && args[1] != Py_None) {
        if (parse_value(e, args[1], &v, "value") < 0)
            return NULL;
        reg = value_to_reg(e, v);
    } else {
        reg = e->init_reg;
    }
    if (accel_bytes_view(args[0], &view, "CRC") < 0)
        return NULL;
    if (view.len >= GIL_RELEASE_THRESHOLD) {
        Py_BEGIN_ALLOW_THREADS
        reg = crc_run(e, reg, view.buf, (size_t)view.len);
        Py_END_ALLOW_THREADS
    } else {
        reg = crc_run(e, reg, view.buf, (size_t)view.len);
    }
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLongLong(reg_to_value(e, reg));
}

/* compute_blocks(data, block_size, /): list of the CRCs of consecutive blocks. */
static PyObject *engine_compute_blocks(CrcEngine *e, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer view;
    Py_ssize_t bs, nblocks, i;
    uint64_t *vals;
    PyObject *list = NULL;

    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "compute_blocks() takes 2 positional arguments (data, block_size)");
        return NULL;
    }
    bs = PyLong_AsSsize_t(args[1]);
    if (bs == -1 && PyErr_Occurred())
        return NULL;
    if (bs <= 0) {
        PyErr_Format(PyExc_ValueError, "block_size must be positive, got %zd", bs);
        return NULL;
    }
    if (accel_bytes_view(args[0], &view, "CRC") < 0)
        return NULL;
    nblocks = view.len / bs + (view.len % bs != 0);
    vals = PyMem_Malloc(sizeof(uint64_t) * (size_t)(nblocks ? nblocks : 1));
    if (vals == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    for (i = 0; i < nblocks; i++) {
        Py_ssize_t off = i * bs, len = view.len - off < bs ? view.len - off : bs;
        vals[i] = reg_to_value(e, crc_run(e, e->init_reg, (const unsigned char *)view.buf + off, (size_t)len));
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    list = PyList_New(nblocks);
    if (list != NULL) {
        for (i = 0; i < nblocks; i++) {
            PyObject *o = PyLong_FromUnsignedLongLong(vals[i]);
            if (o == NULL) {
                Py_CLEAR(list);
                break;
            }
            PyList_SET_ITEM(list, i, o);
        }
    }
    PyMem_Free(vals);
    return list;
}

/* combine(crc1, crc2, len2, /): CRC of A+B from CRC(A), CRC(B) and len(B). */
static PyObject *engine_combine(CrcEngine *e, PyObject *const *args, Py_ssize_t nargs)
{
    uint64_t c1, c2, len2, r1, r2, d;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "combine() takes 3 positional arguments (crc1, crc2, len2)");
        return NULL;
    }
    if (parse_value(e, args[0], &c1, "crc1") < 0 || parse_value(e, args[1], &c2, "crc2") < 0 ||
        parse_u64(args[2], &len2, "len2") < 0)
        return NULL;
    r1 = value_to_reg(e, c1);
    r2 = value_to_reg(e, c2);
    d = mulmod(reg_to_normal(e, r1 ^ e->init_reg), xpow8n(e, len2), e->pn);
    return PyLong_FromUnsignedLongLong(reg_to_value(e, r2 ^ reg_to_normal(e, d)));
}

/* repeat(byte, count, value=None, /): CRC after `count` copies of `byte`. */
static PyObject *engine_repeat(CrcEngine *e, PyObject *const *args, Py_ssize_t nargs)
{
    uint64_t byte, count, v, reg;
    if (nargs < 2 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "repeat() takes 2 or 3 positional arguments (byte, count, value=None)");
        return NULL;
    }
    if (parse_u64(args[0], &byte, "byte") < 0 || parse_u64(args[1], &count, "count") < 0)
        return NULL;
    if (byte > 255) {
        PyErr_SetString(PyExc_ValueError, "byte must be in range 0..255");
        return NULL;
    }
    reg = e->init_reg;
    if (nargs == 3 && args[2] != Py_None) {
        if (parse_value(e, args[2], &v, "value") < 0)
            return NULL;
        reg = value_to_reg(e, v);
    }
    reg = crc_repeat(e, reg, (unsigned char)byte, count);
    return PyLong_FromUnsignedLongLong(reg_to_value(e, reg));
}

static PyObject *engine_get_tier(CrcEngine *e, void *closure)
{
    (void)closure;
    return PyUnicode_FromString(tier_names[e->tier]);
}

static PyObject *engine_get_params(CrcEngine *e, void *closure)
{
    (void)closure;
    return Py_BuildValue("(iKKOOK)", e->width, (unsigned long long)e->poly,
                         (unsigned long long)e->init, e->refin ? Py_True : Py_False,
                         e->refout ? Py_True : Py_False, (unsigned long long)e->xorout);
}

static PyMethodDef engine_methods[] = {
    {"compute", (PyCFunction)(void (*)(void))engine_compute, METH_FASTCALL,
     "compute(data, value=None, /) -> int\n\nCRC of the bytes-like data; with `value`, "
     "continue from that earlier CRC value."},
    {"compute_blocks", (PyCFunction)(void (*)(void))engine_compute_blocks, METH_FASTCALL,
     "compute_blocks(data, block_size, /) -> list[int]\n\nCRC of each consecutive block "
     "(the last one may be shorter)."},
    {"combine", (PyCFunction)(void (*)(void))engine_combine, METH_FASTCALL,
     "combine(crc1, crc2, len2, /) -> int\n\nCRC of A+B given CRC(A), CRC(B) and len(B)."},
    {"repeat", (PyCFunction)(void (*)(void))engine_repeat, METH_FASTCALL,
     "repeat(byte, count, value=None, /) -> int\n\nCRC of `count` copies of `byte`, "
     "optionally continuing from `value`, in O(log count)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef engine_getset[] = {
    {"tier", (getter)engine_get_tier, NULL, "the implementation tier in use", NULL},
    {"params", (getter)engine_get_params, NULL, "(width, poly, init, refin, refout, xorout)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject CrcEngineType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "formats._accel.CrcEngine",
    .tp_basicsize = sizeof(CrcEngine),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "CrcEngine(width, poly, init, refin, refout, xorout, tier='auto')\n\n"
              "A CRC engine for one Rocksoft/Williams model (width 1..64).  tier is one of "
              "auto, bitwise, slice16, clmul, vpclmul.",
    .tp_new = engine_new,
    .tp_methods = engine_methods,
    .tp_getset = engine_getset,
};

static PyObject *py_cpu_tiers(PyObject *mod, PyObject *unused)
{
    PyObject *l = PyList_New(0);
    int t;
    (void)mod;
    (void)unused;
    if (l == NULL)
        return NULL;
    for (t = 0; t < 4; t++) {
        if (tier_supported(t)) {
            PyObject *s = PyUnicode_FromString(tier_names[t]);
            if (s == NULL || PyList_Append(l, s) < 0) {
                Py_XDECREF(s);
                Py_DECREF(l);
                return NULL;
            }
            Py_DECREF(s);
        }
    }
    return l;
}

/* ------------------------------------------------------------------------------------ */
/* Module                                                                               */
/* ------------------------------------------------------------------------------------ */

static PyMethodDef accel_methods[] = {
    {"pe_checksum", (PyCFunction)(void (*)(void))py_pe_checksum, METH_FASTCALL, pe_checksum_doc},
    {"apply_relocs", (PyCFunction)(void (*)(void))accel_apply_relocs, METH_FASTCALL, accel_apply_relocs_doc},
    {"cpu_tiers", py_cpu_tiers, METH_NOARGS,
     "cpu_tiers() -> list[str]\n\nCRC tiers this CPU can run, slowest first."},
    {NULL, NULL, 0, NULL},
};

static int accel_exec(PyObject *m)
{
    if (PyType_Ready(&CrcEngineType) < 0)
        return -1;
    Py_INCREF(&CrcEngineType);
    if (PyModule_AddObject(m, "CrcEngine", (PyObject *)&CrcEngineType) < 0) {
        Py_DECREF(&CrcEngineType);
        return -1;
    }
    return 0;
}

static PyModuleDef_Slot accel_slots[] = {
    {Py_mod_exec, accel_exec},
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef accel_module = {
    PyModuleDef_HEAD_INIT,
    "formats._accel",
    "C core of imgtool's formats layer: CRC engine, image checksums, relocations.",
    0,
    accel_methods,
    accel_slots,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__accel(void)
{
    return PyModuleDef_Init(&accel_module);
}

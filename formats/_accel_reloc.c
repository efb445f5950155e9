/*
 * formats._accel: applying ELF dynamic relocations to a memory image.
 *
 *   apply_relocs(image, image_addr, table, layout, classes, delta, symvals, symkind,
 *                sites=None) -> (status, index, applied, nsites, relative, skipped)
 *
 * The Python side (formats/reloc.py) decides what every relocation type means for the
 * ELF's machine and passes that as `classes`; this file only walks the table and writes
 * words.  It has a pure-Python twin (formats/reloc.py, _apply_py) giving identical
 * results.
 *
 * Sources: System V ABI, "Relocation" (Elf32_Rel/Elf32_Rela/Elf64_Rela layouts, r_info
 * split: ELF32 sym = info >> 8, type = info & 0xff; ELF64 sym = info >> 32, type =
 * info & 0xffffffff); the SHT_RELR proposal adopted into the gABI (generic-abi thread
 * "Proposal for a new section type SHT_RELR", 2018): an even entry is an address to
 * relocate, an odd entry a bitmap of the next 8*W-1 words.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#include "_accel.h"

/* layout bits */
#define L_RELA 1u    /* Elf*_Rela (explicit addend), else Elf*_Rel */
#define L_ELF64 2u   /* ELF64 words and entries, else ELF32 */
#define L_BIG 4u     /* big-endian */
#define L_RELR 8u    /* SHT_RELR table (implicit-addend relative relocations) */
#define L_SKIP 16u   /* skip entries of unsupported types instead of stopping */
#define L_DRY 32u    /* count and check only: write nothing */

/* classes[type] */
enum { K_UNSUPPORTED = 0, K_NONE = 1, K_RELATIVE = 2, K_SYM_ADDEND = 3, K_SYM = 4 };
/* symkind[sym] */
enum { S_UNDEFINED = 0, S_RELATIVE = 1, S_ABSOLUTE = 2 };
/* status */
enum { ST_OK = 0, ST_UNSUPPORTED = 1, ST_RANGE = 2, ST_UNDEFINED = 3, ST_SYMINDEX = 4,
       ST_TABLE = 5, ST_SITES = 6 };

typedef struct {
    unsigned char *img;
    size_t len;
    uint64_t addr;   /* link-time address of img[0] */
    int w;           /* word size: 4 or 8 */
    int big;
    int dry;         /* check and count only */
    uint64_t mask;   /* all ones in a word */
} Image;

static inline uint64_t rd(const unsigned char *p, int w, int big)
{
    uint64_t v = 0;
    int i;
    if (w == 8) {
        uint64_t x;
        memcpy(&x, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        if (!big) x = __builtin_bswap64(x);
#else
        if (big) x = __builtin_bswap64(x);
#endif
        return x;
    }
    for (i = 0; i < w; i++)
        v |= (uint64_t)p[big ? w - 1 - i : i] << (8 * i);
    return v;
}

static inline void wr(unsigned char *p, int w, int big, uint64_t v)
{
    int i;
    if (w == 8) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        if (!big) v = __builtin_bswap64(v);
#else
        if (big) v = __builtin_bswap64(v);
#endif
        memcpy(p, &v, 8);
        return;
    }
    for (i = 0; i < w; i++)
        p[big ? w - 1 - i : i] = (unsigned char)(v >> (8 * i));
}

/* Pointer to the word at link-time address a, or NULL when it is not inside the image. */
static inline unsigned char *word_at(const Image *im, uint64_t a)
{
    uint64_t off = a - im->addr;
    if (a < im->addr || off > im->len || im->len - off < (uint64_t)im->w)
        return NULL;
    return im->img + off;
}

typedef struct {
    Py_ssize_t index;
    size_t applied, nsites;
    size_t relative;  /* applied relative (B + A) relocations, RELR included */
    size_t skipped;   /* unsupported entries skipped (L_SKIP) */
} Progress;

/* Record the link-time address of a word that moves with the image. */
static inline int add_site(uint64_t *sites, size_t nsites_max, Progress *pr, uint64_t a)
{
    if (sites) {
        if (pr->nsites >= nsites_max)
            return ST_SITES;
        sites[pr->nsites] = a;
    }
    pr->nsites++;
    return ST_OK;
}

/* One implicit-addend relative relocation of the word at a (RELR). */
static inline int relr_one(const Image *im, uint64_t a, uint64_t delta, uint64_t *sites, size_t nsites_max,
                           Progress *pr)
{
    unsigned char *p = word_at(im, a);
    if (!p)
        return ST_RANGE;
    int st;
    if (!im->dry)
        wr(p, im->w, im->big, (rd(p, im->w, im->big) + delta) & im->mask);
    if ((st = add_site(sites, nsites_max, pr, a)) != ST_OK)
        return st;
    pr->applied++;
    pr->relative++;
    return ST_OK;
}

static int walk_relr(const Image *im, const unsigned char *t, size_t n, uint64_t delta,
                     uint64_t *sites, size_t nsites_max, Progress *pr)
{
    const int w = im->w;
    const size_t count = n / (size_t)w;
    uint64_t next = 0;
    size_t i;
    int st;
    for (i = 0; i < count; i++) {
        uint64_t e = rd(t + i * (size_t)w, w, im->big);
        pr->index = (Py_ssize_t)i;
        if ((e & 1) == 0) {
            if ((st = relr_one(im, e, delta, sites, nsites_max, pr)) != ST_OK)
                return st;
            next = e + (uint64_t)w;
        } else {
            int bit;
            for (bit = 1; bit < 8 * w; bit++)
                if ((e >> bit) & 1)
                    if ((st = relr_one(im, next + (uint64_t)(bit - 1) * (uint64_t)w, delta, sites, nsites_max,
                                       pr)) != ST_OK)
                        return st;
            next += (uint64_t)(8 * w - 1) * (uint64_t)w;
        }
    }
    return ST_OK;
}

static int walk_rel(const Image *im, const unsigned char *t, size_t n, unsigned layout,
                    const unsigned char *classes, size_t nclasses, uint64_t delta,
                    const uint64_t *symvals, const unsigned char *symkind, size_t nsyms,
                    uint64_t *sites, size_t nsites_max, Progress *pr)
{
    const int w = im->w, big = im->big, rela = (layout & L_RELA) != 0;
    const size_t ent = (size_t)w * (rela ? 3 : 2);
    const size_t count = n / ent;
    size_t i;
    for (i = 0; i < count; i++) {
        const unsigned char *e = t + i * ent;
        uint64_t off = rd(e, w, big), info = rd(e + w, w, big);
        uint64_t type = w == 8 ? (info & 0xffffffffu) : (info & 0xffu);
        uint64_t sym = w == 8 ? (info >> 32) : (info >> 8);
        int kind = type < nclasses ? classes[type] : K_UNSUPPORTED;
        unsigned char *p;
        uint64_t v, addend;
        int rebases = 1;
        pr->index = (Py_ssize_t)i;
        if (kind == K_NONE)
            continue;
        if (kind == K_UNSUPPORTED) {
            if (layout & L_SKIP) {
                pr->skipped++;
                continue;
            }
            return ST_UNSUPPORTED;
        }
        p = word_at(im, off);
        if (!p)
            return ST_RANGE;
        addend = rela ? rd(e + 2 * w, w, big) : rd(p, w, big);
        if (kind == K_RELATIVE) {
            v = addend + delta;
        } else {
            if (sym >= nsyms)
                return ST_SYMINDEX;
            if (symkind[sym] == S_UNDEFINED)
                return ST_UNDEFINED;
            rebases = symkind[sym] == S_RELATIVE;
            v = symvals[sym] + (kind == K_SYM_ADDEND ? addend : 0);
        }
        if (!im->dry)
            wr(p, w, big, v & im->mask);
        pr->applied++;
        pr->relative += kind == K_RELATIVE;
        if (rebases && add_site(sites, nsites_max, pr, off) != ST_OK)
            return ST_SITES;
    }
    return ST_OK;
}

const char accel_apply_relocs_doc[] =
"apply_relocs(image, image_addr, table, layout, classes, delta, symvals, symkind,\n"
"             sites=None, /) -> (status, index, applied, nsites, relative, skipped)\n\n"
"Apply the ELF relocation table `table` (raw Elf*_Rel/Rela entries, or SHT_RELR words)\n"
"to the writable buffer `image`, whose first byte has link-time address `image_addr`.\n"
"`layout` bits: 1 RELA, 2 ELF64, 4 big-endian, 8 RELR, 16 skip unsupported types,\n"
"32 dry run (check and count, write nothing).\n"
"`classes[type]`: 0 unsupported, 1 none, 2 relative (B+A), 3 symbol+addend, 4 symbol.\n"
"`symvals`: native uint64 per symbol index (final values); `symkind[sym]`: 0 undefined,\n"
"1 moves with the image, 2 absolute.  `sites`: optional writable native uint64 buffer\n"
"receiving the link-time address of every word that moves with the image.\n"
"status: 0 ok, 1 unsupported type, 2 word outside the image, 3 undefined symbol,\n"
"4 symbol index past symvals, 5 table length not a whole number of entries, 6 sites\n"
"buffer too small; `index` is the entry that stopped the walk.  `applied` counts the\n"
"words written, `relative` those of them that were relative (RELR included), `skipped`\n"
"the unsupported entries passed over.";

PyObject *accel_apply_relocs(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer img = {0}, tab = {0}, cls = {0}, sv = {0}, sk = {0}, st = {0};
    unsigned long long image_addr, delta;
    unsigned long layout;
    int status = ST_OK, have_sites = 0;
    Progress pr = {0, 0, 0, 0, 0};
    Image im;
    size_t ent, nsyms;
    PyObject *result = NULL;
    (void)mod;

    if (nargs != 8 && nargs != 9) {
        PyErr_SetString(PyExc_TypeError, "apply_relocs() takes 8 or 9 arguments");
        return NULL;
    }
    image_addr = PyLong_AsUnsignedLongLong(args[1]);
    if (image_addr == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    layout = PyLong_AsUnsignedLong(args[3]);
    if (layout == (unsigned long)-1 && PyErr_Occurred())
        return NULL;
    delta = PyLong_AsUnsignedLongLongMask(args[5]);
    if (delta == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    if (PyObject_GetBuffer(args[0], &img, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    if (accel_bytes_view(args[2], &tab, "relocation table") < 0 ||
        accel_bytes_view(args[4], &cls, "classes") < 0 ||
        accel_bytes_view(args[6], &sv, "symvals") < 0 ||
        accel_bytes_view(args[7], &sk, "symkind") < 0)
        goto done;
    if (nargs == 9 && args[8] != Py_None) {
        if (PyObject_GetBuffer(args[8], &st, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
            goto done;
        have_sites = 1;
        if (st.len % 8 != 0 || (st.len && ((uintptr_t)st.buf % _Alignof(uint64_t)) != 0)) {
            PyErr_SetString(PyExc_ValueError, "sites must be an aligned buffer of uint64");
            goto done;
        }
    }
    if (sv.len % 8 != 0 || (sv.len && ((uintptr_t)sv.buf % _Alignof(uint64_t)) != 0) || sv.len / 8 > sk.len) {
        PyErr_SetString(PyExc_ValueError, "symvals must be an aligned uint64 buffer no longer than symkind");
        goto done;
    }
    nsyms = (size_t)sv.len / 8;
    im.img = img.buf;
    im.len = (size_t)img.len;
    im.addr = image_addr;
    im.w = (layout & L_ELF64) ? 8 : 4;
    im.big = (layout & L_BIG) != 0;
    im.dry = (layout & L_DRY) != 0;
    im.mask = im.w == 8 ? ~(uint64_t)0 : 0xffffffffu;
    ent = (layout & L_RELR) ? (size_t)im.w : (size_t)im.w * ((layout & L_RELA) ? 3 : 2);
    if ((size_t)tab.len % ent != 0) {
        status = ST_TABLE;
        pr.index = (Py_ssize_t)((size_t)tab.len / ent);
    } else {
        uint64_t *sites = have_sites ? (uint64_t *)st.buf : NULL;
        size_t nsites_max = have_sites ? (size_t)st.len / 8 : 0;
        Py_BEGIN_ALLOW_THREADS
        if (layout & L_RELR)
            status = walk_relr(&im, tab.buf, (size_t)tab.len, (uint64_t)delta, sites, nsites_max, &pr);
        else
            status = walk_rel(&im, tab.buf, (size_t)tab.len, (unsigned)layout, cls.buf, (size_t)cls.len,
                              (uint64_t)delta, sv.buf, sk.buf, nsyms, sites, nsites_max, &pr);
        Py_END_ALLOW_THREADS
    }
    result = Py_BuildValue("(innnnn)", status, pr.index, (Py_ssize_t)pr.applied, (Py_ssize_t)pr.nsites,
                           (Py_ssize_t)pr.relative, (Py_ssize_t)pr.skipped);
done:
    PyBuffer_Release(&img);
    if (tab.obj) PyBuffer_Release(&tab);
    if (cls.obj) PyBuffer_Release(&cls);
    if (sv.obj) PyBuffer_Release(&sv);
    if (sk.obj) PyBuffer_Release(&sk);
    if (st.obj) PyBuffer_Release(&st);
    return result;
}

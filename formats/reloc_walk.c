/*
 * reloc_walk.c -- the ELF relocation walker in plain C11; interface and sources in
 * reloc_walk.h, the CPython binding in _accel_reloc.c.
 */
#include "reloc_walk.h"

#include <string.h>

#include "byteorder.h"

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
    if (w == 8)
        return load64(p, big);
    for (i = 0; i < w; i++)
        v |= (uint64_t)p[big ? w - 1 - i : i] << (8 * i);
    return v;
}

static inline void wr(unsigned char *p, int w, int big, uint64_t v)
{
    int i;
    if (w == 8) {
        store64(p, v, big);
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


/* Record the link-time address of a word that moves with the image. */
static inline int add_site(uint64_t *sites, size_t nsites_max, reloc_progress *pr, uint64_t a)
{
    if (sites) {
        if (pr->nsites >= nsites_max)
            return RELOC_SITES;
        sites[pr->nsites] = a;
    }
    pr->nsites++;
    return RELOC_OK;
}

/* One implicit-addend relative relocation of the word at a (RELR). */
static inline int relr_one(const Image *im, uint64_t a, uint64_t delta, uint64_t *sites, size_t nsites_max,
                           reloc_progress *pr)
{
    unsigned char *p = word_at(im, a);
    if (!p)
        return RELOC_RANGE;
    int st;
    if (!im->dry)
        wr(p, im->w, im->big, (rd(p, im->w, im->big) + delta) & im->mask);
    if ((st = add_site(sites, nsites_max, pr, a)) != RELOC_OK)
        return st;
    pr->applied++;
    pr->relative++;
    return RELOC_OK;
}

static int walk_relr(const Image *im, const unsigned char *t, size_t n, uint64_t delta,
                     uint64_t *sites, size_t nsites_max, reloc_progress *pr)
{
    const int w = im->w;
    const size_t count = n / (size_t)w;
    uint64_t next = 0;
    size_t i;
    int st;
    for (i = 0; i < count; i++) {
        uint64_t e = rd(t + i * (size_t)w, w, im->big);
        pr->index = i;
        if ((e & 1) == 0) {
            if ((st = relr_one(im, e, delta, sites, nsites_max, pr)) != RELOC_OK)
                return st;
            next = e + (uint64_t)w;
        } else {
            int bit;
            for (bit = 1; bit < 8 * w; bit++)
                if ((e >> bit) & 1)
                    if ((st = relr_one(im, next + (uint64_t)(bit - 1) * (uint64_t)w, delta, sites, nsites_max,
                                       pr)) != RELOC_OK)
                        return st;
            next += (uint64_t)(8 * w - 1) * (uint64_t)w;
        }
    }
    return RELOC_OK;
}

static int walk_rel(const Image *im, const unsigned char *t, size_t n, unsigned layout,
                    const unsigned char *classes, size_t nclasses, uint64_t delta,
                    const uint64_t *symvals, const unsigned char *symkind, size_t nsyms,
                    uint64_t *sites, size_t nsites_max, reloc_progress *pr)
{
    const int w = im->w, big = im->big, rela = (layout & RELOC_RELA) != 0;
    const size_t ent = (size_t)w * (rela ? 3 : 2);
    const size_t count = n / ent;
    size_t i;
    for (i = 0; i < count; i++) {
        const unsigned char *e = t + i * ent;
        uint64_t off = rd(e, w, big), info = rd(e + w, w, big);
        uint64_t type = w == 8 ? (info & 0xffffffffu) : (info & 0xffu);
        uint64_t sym = w == 8 ? (info >> 32) : (info >> 8);
        int kind = type < nclasses ? classes[type] : RELOC_K_UNSUPPORTED;
        unsigned char *p;
        uint64_t v, addend;
        int rebases = 1;
        pr->index = i;
        if (kind == RELOC_K_NONE)
            continue;
        if (kind == RELOC_K_UNSUPPORTED) {
            if (layout & RELOC_SKIP) {
                pr->skipped++;
                continue;
            }
            return RELOC_UNSUPPORTED;
        }
        p = word_at(im, off);
        if (!p)
            return RELOC_RANGE;
        addend = rela ? rd(e + 2 * w, w, big) : rd(p, w, big);
        if (kind == RELOC_K_RELATIVE) {
            v = addend + delta;
        } else {
            if (sym >= nsyms)
                return RELOC_SYMINDEX;
            if (symkind[sym] == RELOC_S_UNDEFINED)
                return RELOC_UNDEFINED;
            rebases = symkind[sym] == RELOC_S_RELATIVE;
            v = symvals[sym] + (kind == RELOC_K_SYM_ADDEND ? addend : 0);
        }
        if (!im->dry)
            wr(p, w, big, v & im->mask);
        pr->applied++;
        pr->relative += kind == RELOC_K_RELATIVE;
        if (rebases && add_site(sites, nsites_max, pr, off) != RELOC_OK)
            return RELOC_SITES;
    }
    return RELOC_OK;
}

int reloc_walk(const reloc_job *job, reloc_progress *pr)
{
    const unsigned layout = job->layout;
    Image im;
    size_t ent;

    memset(pr, 0, sizeof *pr);
    im.img = job->image;
    im.len = job->image_len;
    im.addr = job->image_addr;
    im.w = (layout & RELOC_ELF64) ? 8 : 4;
    im.big = (layout & RELOC_BIG) != 0;
    im.dry = (layout & RELOC_DRY) != 0;
    im.mask = im.w == 8 ? ~(uint64_t)0 : 0xffffffffu;
    ent = (layout & RELOC_RELR) ? (size_t)im.w : (size_t)im.w * ((layout & RELOC_RELA) ? 3 : 2);
    if (job->table_len % ent != 0) {
        pr->index = job->table_len / ent;
        return RELOC_TABLE;
    }
    if (layout & RELOC_RELR)
        return walk_relr(&im, job->table, job->table_len, job->delta, job->sites, job->nsites_max, pr);
    return walk_rel(&im, job->table, job->table_len, layout, job->classes, job->nclasses, job->delta,
                    job->symvals, job->symkind, job->nsyms, job->sites, job->nsites_max, pr);
}

/*
 * pclntab_walk -- see pclntab_walk.h.  Plain C11, no Python.h.
 *
 * The checks and their order mirror formats/go/pclntab.py (the twin in
 * formats/go/pclnwalk.py): (1) entries ascend, (2) every record offset lies in the table
 * after the index, (3) every record with its pcdata/funcdata words fits, (4) per function
 * in order: the record's entry equals the index's, the name is inside funcnametab and
 * NUL-terminated, every pc-value table offset is inside pctab.
 */
#include "pclntab_walk.h"

#include <stdlib.h>
#include <string.h>

static uint32_t ld32(const unsigned char *p, int big)
{
    return big ? ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3])
               : ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]);
}

static uint64_t ldw(const unsigned char *p, int ptrsize, int big)
{
    if (ptrsize == 4)
        return ld32(p, big);
    return big ? ((uint64_t)ld32(p, 1) << 32 | ld32(p + 4, 1)) : ((uint64_t)ld32(p + 4, 0) << 32 | ld32(p, 0));
}

static size_t fixed_size(const pcln_job *j)
{
    return j->version == 116 ? (size_t)j->ptrsize + 36 : j->version == 118 ? 40 : 44;
}

static size_t npcdata_at(const pcln_job *j)
{
    return j->version == 116 ? (size_t)j->ptrsize + 24 : 28;
}

/* Offset in the pctab of a function's table k: pcsp, pcfile, pcln from the decoded
   columns, then the record's pcdata offsets, which follow its fixed part (fx bytes). */
static uint64_t table_off(const uint64_t *c, const unsigned char *rec, size_t fx, size_t k,
                          int big)
{
    return k < 3 ? c[PCLN_PCSP + k] : ld32(rec + fx + 4 * (k - 3), big);
}

int pcln_decode(const pcln_job *j, uint64_t *cols, size_t *functab_end, size_t *bad)
{
    const unsigned char *t = j->tab;
    size_t n = j->nfunc, len = j->len, i;
    int newfmt = j->version != 116, big = j->big, P = j->ptrsize;
    size_t iw = newfmt ? 4 : (size_t)P, fx = fixed_size(j);
    size_t lo, end;
    uint64_t prev = 0;

    *bad = 0;
    *functab_end = 0;
    if ((j->version != 116 && j->version != 118 && j->version != 120) || (P != 4 && P != 8))
        return PCLN_BADARG;
    if (n > len || j->functab > len || (2 * n + 1) * iw > len - j->functab || len < fx ||
        j->funcnametab > j->cutab || j->cutab > len || j->pctab > j->functab)
        return PCLN_BADARG;
    /* (1) the index: entries and record offsets */
    for (i = 0; i <= n; i++) {
        const unsigned char *e = t + j->functab + 2 * i * iw;
        uint64_t pc = newfmt ? j->text_start + ld32(e, big) : ldw(e, P, big);
        if (i && pc < prev) {
            *bad = i;
            return PCLN_ORDER;
        }
        prev = pc;
        if (i < n) {
            uint64_t *c = cols + i * PCLN_NCOL;
            memset(c, 0, PCLN_NCOL * sizeof *c);
            c[PCLN_ENTRY] = pc;
            c[PCLN_RECORD] = j->functab + (newfmt ? (uint64_t)ld32(e + 4, big) : ldw(e + P, P, big));
        }
        if (i)
            cols[(i - 1) * PCLN_NCOL + PCLN_END] = pc;
    }
    /* (2) record offsets */
    lo = j->functab + (2 * n + 1) * iw;
    for (i = 0; i < n; i++) {
        uint64_t r = cols[i * PCLN_NCOL + PCLN_RECORD];
        if (r < lo || r > len - fx) {
            *bad = i;
            return PCLN_RECORD_RANGE;
        }
    }
    /* (3) record sizes */
    end = lo;
    for (i = 0; i < n; i++) {
        uint64_t *c = cols + i * PCLN_NCOL;
        size_t r = (size_t)c[PCLN_RECORD];
        uint64_t npc = ld32(t + r + npcdata_at(j), big), size;
        unsigned nfd = t[r + fx - 1];
        if (newfmt) {
            size = fx + 4 * npc + 4 * (uint64_t)nfd;
        } else {
            size = fx + 4 * npc;
            if (nfd)
                size = (size + P - 1) / P * P + (uint64_t)P * nfd;
        }
        if (npc > PCLN_MAX_NPCDATA || r + size > len) {
            *bad = i;
            return PCLN_RECORD_SIZE;
        }
        c[PCLN_RECSIZE] = size;
        c[PCLN_NPCDATA] = npc;
        c[PCLN_NFUNCDATA] = nfd;
        c[PCLN_FUNCID] = t[r + fx - 4];
        if (r + size > end)
            end = r + (size_t)size;
    }
    *functab_end = end;
    /* (4) per function: entry, name, pc tables */
    for (i = 0; i < n; i++) {
        uint64_t *c = cols + i * PCLN_NCOL;
        const unsigned char *rec = t + c[PCLN_RECORD];
        uint64_t entry = newfmt ? j->text_start + ld32(rec, big) : ldw(rec, P, big);
        size_t off = newfmt ? 4 : (size_t)P, k;
        uint32_t nameoff = ld32(rec + off, big);
        size_t o = j->funcnametab + nameoff;
        const unsigned char *z;
        if (entry != c[PCLN_ENTRY]) {
            *bad = i;
            return PCLN_ENTRY_MISMATCH;
        }
        z = (o >= j->funcnametab && o < j->cutab) ? memchr(t + o, 0, j->cutab - o) : NULL;
        if (z == NULL) {
            *bad = i;
            return PCLN_NAME;
        }
        c[PCLN_NAMEOFF] = nameoff;
        c[PCLN_NAMELEN] = (uint64_t)(z - (t + o));
        c[PCLN_PCSP] = ld32(rec + off + 12, big);
        c[PCLN_PCFILE] = ld32(rec + off + 16, big);
        c[PCLN_PCLN] = ld32(rec + off + 20, big);
        c[PCLN_CU] = ld32(rec + off + 28, big);
        for (k = 0; k < 3 + c[PCLN_NPCDATA]; k++) {
            uint64_t tab = table_off(c, rec, fx, k, big);
            if (tab && !(j->pctab + tab < j->functab)) {
                *bad = i;
                return PCLN_PCTAB_RANGE;
            }
        }
    }
    return PCLN_OK;
}

typedef struct {
    uint64_t off;
    uint64_t func;
} ref;

static int ref_cmp(const void *a, const void *b)
{
    const ref *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return x->func < y->func ? -1 : x->func > y->func;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The distinct offsets of function c's pc-value tables (pcsp, pcfile, pcln, then its
 * npcdata pcdata tables) that are not 0 and lie below span, ascending, into out (room
 * for 3 + PCLN_MAX_NPCDATA); returns how many.  Sorting keeps a function with many
 * pcdata tables at k log k comparisons instead of k^2. */
static size_t distinct_tables(const uint64_t *c, const unsigned char *rec, size_t fx, int big, size_t span,
                              uint64_t *out)
{
    /* pcln_decode refuses more than PCLN_MAX_NPCDATA; the bound also holds for columns
     * that did not come from it, so out cannot overflow */
    size_t k, m = 0, u = 0, npc = c[PCLN_NPCDATA] < PCLN_MAX_NPCDATA ? (size_t)c[PCLN_NPCDATA] : PCLN_MAX_NPCDATA;
    for (k = 0; k < 3 + npc; k++) {
        uint64_t off = table_off(c, rec, fx, k, big);
        if (off && off < span)
            out[m++] = off;
    }
    if (m > 16) {
        qsort(out, m, sizeof *out, u64_cmp);
    } else {
        for (k = 1; k < m; k++) { /* insertion sort: the usual 3 to 6 tables */
            uint64_t v = out[k];
            size_t q = k;
            for (; q > 0 && out[q - 1] > v; q--)
                out[q] = out[q - 1];
            out[q] = v;
        }
    }
    for (k = 0; k < m; k++)
        if (u == 0 || out[u - 1] != out[k])
            out[u++] = out[k];
    return u;
}

/* Length of the pc-value table at pos (pairs of uvarints; a zero value delta after the
 * first pair ends it), or -1 when it runs past limit or a varint is over 5 bytes. */
static int64_t pcvalue_len(const unsigned char *t, size_t pos, size_t limit)
{
    size_t start = pos;
    int first = 1, half;
    for (;;) {
        for (half = 0; half < 2; half++) {
            uint64_t v = 0;
            int shift = 0, k;
            for (k = 0;; k++) {
                if (pos >= limit || k >= 5)
                    return -1;
                v |= (uint64_t)(t[pos] & 0x7f) << shift;
                shift += 7;
                if (!(t[pos++] & 0x80))
                    break;
            }
            if (half == 0 && v == 0 && !first)
                return (int64_t)(pos - start);
        }
        first = 0;
    }
}

int pcln_charge(const pcln_job *j, uint64_t *cols, int64_t *parts)
{
    const unsigned char *t = j->tab;
    size_t n = j->nfunc, i, k, nrefs = 0, cap = 0;
    size_t iw = j->version != 116 ? 4 : (size_t)j->ptrsize, fx = fixed_size(j);
    ref *refs = NULL;
    unsigned char *seen = NULL;
    size_t nbytes = j->cutab - j->funcnametab;

    memset(parts, 0, PCLN_NPART * sizeof *parts);
    for (i = 0; i < n; i++)
        cols[i * PCLN_NCOL + PCLN_OWN] = 0;
    /* names: the first function at a name offset owns it */
    seen = calloc(nbytes ? nbytes : 1, 1);
    if (seen == NULL)
        return PCLN_NOMEM;
    for (i = 0; i < n; i++) {
        uint64_t *c = cols + i * PCLN_NCOL;
        if (seen[c[PCLN_NAMEOFF]])
            continue;
        seen[c[PCLN_NAMEOFF]] = 1;
        c[PCLN_OWN] += c[PCLN_NAMELEN] + 1;
        parts[PCLN_PART_NAMES] += (int64_t)c[PCLN_NAMELEN] + 1;
    }
    free(seen);
    /* pc-value tables used by exactly one function (each function's set of offsets):
     * count the users per offset in an array over pctab (saturating at 2), list the
     * used offsets in order from it, and give each once-used table its length (to the
     * next used offset; the last one decoded, first, as the twin does) */
    {
        size_t span = j->functab - j->pctab, nu = 0, m;
        int64_t last = 0;
        uint64_t offs[3 + PCLN_MAX_NPCDATA];
        unsigned char *count = calloc(span ? span : 1, 1);
        uint32_t *used;
        if (count == NULL)
            return PCLN_NOMEM;
        for (i = 0; i < n; i++) { /* each function counts once per table */
            uint64_t *c = cols + i * PCLN_NCOL;
            size_t u = distinct_tables(c, t + c[PCLN_RECORD], fx, j->big, span, offs);
            for (k = 0; k < u; k++)
                if (count[offs[k]] < 2)
                    count[offs[k]]++;
        }
        for (m = 0; m < span; m++)
            nu += count[m] != 0;
        used = malloc((nu ? nu : 1) * sizeof *used);
        if (used == NULL) {
            free(count);
            return PCLN_NOMEM;
        }
        for (m = 0, k = 0; m < span; m++)
            if (count[m])
                used[k++] = (uint32_t)m;
        if (nu && (last = pcvalue_len(t, j->pctab + used[nu - 1], j->functab)) < 0) {
            free(count);
            free(used);
            return PCLN_VARINT;
        }
        for (i = 0; i < n; i++) { /* charged once per function */
            uint64_t *c = cols + i * PCLN_NCOL;
            size_t u = distinct_tables(c, t + c[PCLN_RECORD], fx, j->big, span, offs), d;
            for (d = 0; d < u; d++) {
                uint64_t off = offs[d];
                size_t lo = 0, hi = nu;
                int64_t length;
                if (count[off] != 1)
                    continue;
                while (lo < hi) { /* the first used offset above off */
                    size_t mid = lo + (hi - lo) / 2;
                    if (used[mid] <= off)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                length = lo < nu ? (int64_t)(used[lo] - off) : last;
                c[PCLN_OWN] += (uint64_t)length;
                parts[PCLN_PART_PCTAB] += length;
            }
        }
        free(count);
        free(used);
    }
    /* functab slots and records */
    for (i = 0; i < n; i++) {
        uint64_t *c = cols + i * PCLN_NCOL;
        c[PCLN_OWN] += 2 * iw + c[PCLN_RECSIZE];
        parts[PCLN_PART_FUNCTAB] += (int64_t)(2 * iw);
        parts[PCLN_PART_FUNC] += (int64_t)c[PCLN_RECSIZE];
    }
    /* Go 1.26+ funcdata objects (offsets from go:func.*) used by exactly one function */
    if (j->charge_funcdata) {
        for (i = 0; i < n; i++)
            cap += cols[i * PCLN_NCOL + PCLN_NFUNCDATA];
        refs = malloc((cap ? cap : 1) * sizeof *refs);
        if (refs == NULL)
            return PCLN_NOMEM;
        for (i = 0; i < n; i++) {
            uint64_t *c = cols + i * PCLN_NCOL;
            const unsigned char *fd = t + c[PCLN_RECORD] + fx + 4 * c[PCLN_NPCDATA];
            size_t first = nrefs, m;
            for (k = 0; k < c[PCLN_NFUNCDATA]; k++) {
                uint32_t off = ld32(fd + 4 * k, j->big);
                if (off == 0xFFFFFFFFu || (int64_t)off >= j->funcdata_size)
                    continue; /* no funcdata, or a damaged offset past the blob: not charged */
                for (m = first; m < nrefs && refs[m].off != off; m++)
                    ;
                if (m == nrefs) {
                    refs[nrefs].off = off;
                    refs[nrefs++].func = i;
                }
            }
        }
        qsort(refs, nrefs, sizeof *refs, ref_cmp);
        for (k = 0; k < nrefs;) {
            size_t g = k, users = 1;
            int64_t length;
            while (g < nrefs && refs[g].off == refs[k].off) {
                if (g > k && cols[refs[g].func * PCLN_NCOL + PCLN_ENTRY] != cols[refs[g - 1].func * PCLN_NCOL + PCLN_ENTRY])
                    users++;
                g++;
            }
            length = g < nrefs ? (int64_t)(refs[g].off - refs[k].off) : j->funcdata_size - (int64_t)refs[k].off;
            if (users == 1 && length > 0) {
                cols[refs[k].func * PCLN_NCOL + PCLN_OWN] += (uint64_t)length;
                parts[PCLN_PART_FUNCDATA] += length;
            }
            k = g;
        }
    }
    free(refs);
    return PCLN_OK;
}

/*
 * pclntab_walk -- one pass over a Go pclntab's function table, in plain C11 (no Python.h),
 * for formats._accel (binding: _accel_pcln.c) and C tests.
 *
 * pcln_decode reads the pc->func index and every _func record (entry, name offset and
 * length, record offset and size, pc-value table offsets, CU, funcID) into a column
 * matrix; pcln_charge then gives each function the pclntab bytes that are its own:
 * its name (the first function at a name offset owns it, NUL included), the pc-value
 * tables only it uses, its two functab slots, its _func record and (Go 1.26+) the
 * funcdata objects only it uses.  Pure-Python twin: formats/go/pclnwalk.py, which gives
 * identical columns and totals.
 *
 * Layouts (cmd/link/internal/ld/pcln.go, runtime/runtime2.go _func, runtime/symtab.go):
 * see formats/go/pclntab.py.  Version codes: 116 (magic 0xfffffffa, P-wide entries,
 * _func P+36 bytes), 118 (0xfffffff0, u32 entry offsets, 40 bytes), 120 (0xfffffff1,
 * 44 bytes).  Go 1.2-1.15 tables are not walked here.
 */
#ifndef IMGTOOL_PCLNTAB_WALK_H
#define IMGTOOL_PCLNTAB_WALK_H

#include <stddef.h>
#include <stdint.h>

/* the most pcdata tables a _func record may name (pcln_decode refuses more; the Go
 * runtime has a handful, PCDATA_* in internal/abi) */
#define PCLN_MAX_NPCDATA 1024

/* columns of the per-function matrix (uint64 each, PCLN_NCOL per function) */
enum {
    PCLN_ENTRY = 0,   /* entry address (text_start + offset for 118/120) */
    PCLN_END,         /* next function's entry, or the functab end pc */
    PCLN_NAMEOFF,     /* offset into funcnametab */
    PCLN_NAMELEN,     /* bytes before the NUL */
    PCLN_RECORD,      /* table offset of the _func record */
    PCLN_RECSIZE,     /* record bytes with its pcdata and funcdata words */
    PCLN_PCSP,
    PCLN_PCFILE,
    PCLN_PCLN,
    PCLN_NPCDATA,
    PCLN_CU,
    PCLN_FUNCID,
    PCLN_NFUNCDATA,
    PCLN_OWN,         /* own pclntab bytes (pcln_charge) */
    PCLN_NCOL
};

/* pcln_charge part totals */
enum { PCLN_PART_NAMES = 0, PCLN_PART_PCTAB, PCLN_PART_FUNCTAB, PCLN_PART_FUNC, PCLN_PART_FUNCDATA, PCLN_NPART };

/* results */
enum { PCLN_OK = 0, PCLN_ORDER = 1, PCLN_RECORD_RANGE = 2, PCLN_ENTRY_MISMATCH = 3, PCLN_NAME = 4,
       PCLN_PCTAB_RANGE = 5, PCLN_RECORD_SIZE = 6, PCLN_NOMEM = 7, PCLN_BADARG = 8, PCLN_VARINT = 9 };

typedef struct {
    const unsigned char *tab;  /* the whole table, from the magic */
    size_t len;
    int version;               /* 116, 118 or 120 */
    int ptrsize;               /* 4 or 8 */
    int big;                   /* big-endian target */
    int quantum;               /* pc quantum (1, 2, 4) */
    uint64_t text_start;       /* 118/120: base of entry offsets */
    size_t nfunc;
    size_t funcnametab, cutab, pctab, functab;  /* sub-table offsets */
    int charge_funcdata;       /* Go 1.26+: funcdata objects are inside the table */
    int64_t funcdata_size;     /* bytes of the funcdata blob (the last object's limit) */
} pcln_job;

/* Decode every function into cols (job->nfunc * PCLN_NCOL uint64, PCLN_OWN zeroed).
 * *functab_end receives the end of the last _func record (or of the index).  Returns
 * PCLN_OK or the reason, with *bad the function index it stopped at. */
int pcln_decode(const pcln_job *job, uint64_t *cols, size_t *functab_end, size_t *bad);

/* After pcln_decode: fill cols[.][PCLN_OWN] and parts[PCLN_NPART] (bytes charged per
 * part).  Returns PCLN_OK, PCLN_NOMEM, or PCLN_VARINT (the last pc table runs past pctab). */
int pcln_charge(const pcln_job *job, uint64_t *cols, int64_t *parts);

#endif

/*
 * reloc_walk -- applying ELF dynamic relocations to a memory image, in plain C11 (no
 * Python.h), for formats._accel (binding: _accel_reloc.c) and C tests.
 *
 * The caller (formats/reloc.py) decides what every relocation type means for the ELF's
 * machine and passes that as `classes`; the walker only reads the table and writes
 * words.  Pure-Python twin: formats/reloc.py (_apply_py).
 *
 * Sources: System V ABI, "Relocation" (Elf32_Rel/Elf32_Rela/Elf64_Rela layouts, r_info
 * split: ELF32 sym = info >> 8, type = info & 0xff; ELF64 sym = info >> 32, type =
 * info & 0xffffffff); the SHT_RELR proposal adopted into the gABI (generic-abi thread
 * "Proposal for a new section type SHT_RELR", 2018): an even entry is an address to
 * relocate, an odd entry a bitmap of the next 8*W-1 words.
 */
#ifndef IMGTOOL_RELOC_WALK_H
#define IMGTOOL_RELOC_WALK_H

#include <stddef.h>
#include <stdint.h>

/* layout bits */
#define RELOC_RELA 1u  /* Elf*_Rela (explicit addend), else Elf*_Rel */
#define RELOC_ELF64 2u /* ELF64 words and entries, else ELF32 */
#define RELOC_BIG 4u   /* big-endian */
#define RELOC_RELR 8u  /* SHT_RELR table (implicit-addend relative relocations) */
#define RELOC_SKIP 16u /* skip entries of unsupported types instead of stopping */
#define RELOC_DRY 32u  /* count and check only: write nothing */

/* classes[type] */
enum { RELOC_K_UNSUPPORTED = 0, RELOC_K_NONE = 1, RELOC_K_RELATIVE = 2, RELOC_K_SYM_ADDEND = 3, RELOC_K_SYM = 4 };
/* symkind[sym] */
enum { RELOC_S_UNDEFINED = 0, RELOC_S_RELATIVE = 1, RELOC_S_ABSOLUTE = 2 };
/* reloc_walk results */
enum { RELOC_OK = 0, RELOC_UNSUPPORTED = 1, RELOC_RANGE = 2, RELOC_UNDEFINED = 3, RELOC_SYMINDEX = 4,
       RELOC_TABLE = 5, RELOC_SITES = 6 };

typedef struct {
    unsigned char *image;          /* the image; written unless RELOC_DRY */
    size_t image_len;
    uint64_t image_addr;           /* link-time address of image[0] */
    unsigned layout;               /* RELOC_* bits */
    const unsigned char *table;    /* raw Elf*_Rel/Rela entries or SHT_RELR words */
    size_t table_len;              /* bytes */
    const unsigned char *classes;  /* RELOC_K_* per relocation type */
    size_t nclasses;
    uint64_t delta;                /* load address - link address (mod 2^64) */
    const uint64_t *symvals;       /* final value per symbol index */
    const unsigned char *symkind;  /* RELOC_S_* per symbol index */
    size_t nsyms;
    uint64_t *sites;               /* receives the link-time address of every word that
                                      moves with the image, or NULL */
    size_t nsites_max;             /* room in sites */
} reloc_job;

typedef struct {
    size_t index;    /* entry that stopped the walk (or the last one read) */
    size_t applied;  /* words written */
    size_t nsites;   /* words that move with the image */
    size_t relative; /* applied relative (B + A) relocations, RELR included */
    size_t skipped;  /* unsupported entries skipped (RELOC_SKIP) */
} reloc_progress;

/* Walk job->table over job->image; returns RELOC_OK or the RELOC_* reason it stopped,
 * with the counts so far in *pr (zeroed first). */
int reloc_walk(const reloc_job *job, reloc_progress *pr);

#endif

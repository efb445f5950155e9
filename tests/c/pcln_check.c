/*
 * Driver for formats/pclntab_walk.c on its own (no Python), built with AddressSanitizer
 * and UBSan by tests/test_pclnwalk.py.
 *
 *   pcln_check TABLE.bin version ptrsize big quantum text_start nfunc funcnametab cutab \
 *              pctab functab charge_funcdata funcdata_size
 *
 * prints "decode STATUS BAD FUNCTAB_END", then (when decoding succeeded) one line per
 * function with its 14 columns, then "charge STATUS P0 P1 P2 P3 P4".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "pclntab_walk.h"

int main(int argc, char **argv)
{
    FILE *f;
    long len;
    unsigned char *buf;
    uint64_t *cols;
    pcln_job job;
    size_t end, bad, i, k;
    int64_t parts[PCLN_NPART];
    int st;

    if (argc != 14) {
        fprintf(stderr, "usage: pcln_check TABLE version ptrsize big quantum text_start nfunc funcnametab cutab "
                        "pctab functab charge_funcdata funcdata_size\n");
        return 2;
    }
    f = fopen(argv[1], "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        return 2;
    buf = malloc(len ? (size_t)len : 1);
    if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len)
        return 2;
    fclose(f);
    job.tab = buf;
    job.len = (size_t)len;
    job.version = atoi(argv[2]);
    job.ptrsize = atoi(argv[3]);
    job.big = atoi(argv[4]);
    job.quantum = atoi(argv[5]);
    job.text_start = strtoull(argv[6], NULL, 0);
    job.nfunc = strtoull(argv[7], NULL, 0);
    job.funcnametab = strtoull(argv[8], NULL, 0);
    job.cutab = strtoull(argv[9], NULL, 0);
    job.pctab = strtoull(argv[10], NULL, 0);
    job.functab = strtoull(argv[11], NULL, 0);
    job.charge_funcdata = atoi(argv[12]);
    job.funcdata_size = strtoll(argv[13], NULL, 0);
    if (job.nfunc > job.len)
        return 2;
    cols = calloc(job.nfunc ? job.nfunc * PCLN_NCOL : 1, sizeof *cols);
    if (cols == NULL)
        return 2;
    st = pcln_decode(&job, cols, &end, &bad);
    printf("decode %d %zu %zu\n", st, bad, end);
    if (st == PCLN_OK) {
        st = pcln_charge(&job, cols, parts);
        for (i = 0; i < job.nfunc; i++) {
            for (k = 0; k < PCLN_NCOL; k++)
                printf(k ? " %" PRIu64 : "%" PRIu64, cols[i * PCLN_NCOL + k]);
            printf("\n");
        }
        printf("charge %d %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n", st, parts[0], parts[1],
               parts[2], parts[3], parts[4]);
    }
    free(cols);
    free(buf);
    return 0;
}

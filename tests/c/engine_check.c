/*
 * engine_check -- drives the plain C engines of formats._accel (crc_engine.c,
 * pe_checksum.c) without Python, for tests/test_c_engines.py, which builds it with
 * AddressSanitizer and UBSan and compares what it prints with the pure-Python twins.
 *
 *   engine_check crc DATA < models   one line per model on stdin:
 *                                    "width poly init refin refout xorout" (C integers);
 *                                    prints "lengths OFFSET LENGTHS...", then per model
 *                                    and supported tier one line
 *                                    "tier check crc(DATA[3:3+n]) for n in LENGTHS...
 *                                    combine repeat blocks..." (hex); see the test
 *   engine_check pe DATA             prints "n off checksum" for prefixes of DATA
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc_engine.h"
#include "pe_checksum.h"

static const size_t LENGTHS[] = {0, 1, 7, 15, 16, 17, 63, 64, 127, 128, 129, 255, 256, 257,
                                 511, 512, 513, 1023, 1024, 4095, 65536, 69000};
#define NLENGTHS (sizeof LENGTHS / sizeof LENGTHS[0])
#define DATA_OFFSET 3 /* an odd start, so no tier may rely on alignment */

static unsigned char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long len;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        perror(path);
        exit(2);
    }
    /* an exact-size heap block: ASan reports any read past the end */
    buf = malloc(len ? (size_t)len : 1);
    if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        perror(path);
        exit(2);
    }
    fclose(f);
    *n = (size_t)len;
    return buf;
}

static int run_crc(const unsigned char *data, size_t len)
{
    static crc_engine e; /* 33 KiB: not on the stack */
    static const unsigned char check_input[] = "123456789";
    unsigned long long f[6];
    char line[512];
    int tier;
    size_t i;

    if (len < DATA_OFFSET + LENGTHS[NLENGTHS - 1]) {
        fprintf(stderr, "data file too short\n");
        return 2;
    }
    printf("lengths %d", DATA_OFFSET);
    for (i = 0; i < NLENGTHS; i++)
        printf(" %zu", LENGTHS[i]);
    printf("\n");
    while (fgets(line, sizeof line, stdin)) {
        char *q = line, *end;
        for (i = 0; i < 6; i++, q = end) {
            f[i] = strtoull(q, &end, 0);
            if (end == q) {
                fprintf(stderr, "bad model line: %s", line);
                return 2;
            }
        }
        for (tier = 0; tier < CRC_TIER_COUNT; tier++) {
            const unsigned char *p = data + DATA_OFFSET;
            size_t n = LENGTHS[NLENGTHS - 1], k = n / 3;
            uint64_t blocks[(5000 + 332) / 333], reg;
            if (!crc_tier_supported(tier))
                continue;
            if (crc_engine_init(&e, (int)f[0], f[1], f[2], (int)f[3], (int)f[4], f[5], tier) != CRC_OK) {
                fprintf(stderr, "model refused: %s", line);
                return 2;
            }
            printf("%s %llx", crc_tier_name(tier), (unsigned long long)crc_engine_compute(&e, check_input, 9));
            for (i = 0; i < NLENGTHS; i++)
                printf(" %llx", (unsigned long long)crc_engine_compute(&e, p, LENGTHS[i]));
            /* combine: CRC(A+B) from CRC(A), CRC(B), len(B); repeat continuing from a value */
            printf(" %llx", (unsigned long long)crc_engine_combine(&e, crc_engine_compute(&e, p, k),
                                                                   crc_engine_compute(&e, p + k, n - k), n - k));
            reg = crc_engine_update_repeat(&e, crc_engine_resume(&e, 1), 0xFF, 12345);
            printf(" %llx", (unsigned long long)crc_engine_final(&e, reg));
            crc_engine_compute_blocks(&e, p, 5000, 333, blocks);
            for (i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
                printf(" %llx", (unsigned long long)blocks[i]);
            printf("\n");
        }
    }
    return 0;
}

static int run_pe(const unsigned char *data, size_t len)
{
    size_t n, j;
    for (n = 4; n < 300 && n <= len; n++) {
        size_t offs[5] = {0, 1, 2, 3, n - 4};
        for (j = 0; j < 5; j++)
            if (offs[j] + 4 <= n) {
                /* a copy of exactly n bytes, so ASan sees any read past the image */
                unsigned char *img = malloc(n);
                if (img == NULL)
                    return 2;
                memcpy(img, data, n);
                printf("%zu %zu %lx\n", n, offs[j], (unsigned long)pe_checksum(img, n, offs[j]));
                free(img);
            }
    }
    printf("%zu %d %lx\n", len, 0x58, (unsigned long)pe_checksum(data, len, 0x58));
    return 0;
}

int main(int argc, char **argv)
{
    unsigned char *data;
    size_t len;
    int rc;
    if (argc != 3 || (strcmp(argv[1], "crc") != 0 && strcmp(argv[1], "pe") != 0)) {
        fprintf(stderr, "usage: engine_check crc|pe DATA\n");
        return 2;
    }
    data = read_file(argv[2], &len);
    rc = strcmp(argv[1], "crc") == 0 ? run_crc(data, len) : run_pe(data, len);
    free(data);
    return rc;
}

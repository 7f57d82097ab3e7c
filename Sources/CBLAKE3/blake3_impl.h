#ifndef CBLAKE3_IMPL_H
#define CBLAKE3_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Domain flags (BLAKE3 specification, table 3). */
enum {
    CB3_CHUNK_START = 1 << 0,
    CB3_CHUNK_END = 1 << 1,
    CB3_PARENT = 1 << 2,
    CB3_ROOT = 1 << 3,
};

/* The initialisation vector is the SHA-256 one. */
static const uint32_t CB3_IV[8] = {
    0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au, 0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u,
};

static inline uint32_t cb3_load32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void cb3_store32(uint8_t *p, uint32_t w) {
    p[0] = (uint8_t)w;
    p[1] = (uint8_t)(w >> 8);
    p[2] = (uint8_t)(w >> 16);
    p[3] = (uint8_t)(w >> 24);
}

/* Compresses one block into `cv` (the chaining value: the first 8 words of the output). */
void cb3_compress_portable(uint32_t cv[8], const uint8_t block[64], uint8_t block_len, uint64_t counter,
                           uint8_t flags);

/* Wide kernels: each hashes exactly WIDTH inputs of `blocks` whole 64-byte blocks, all starting from `key`.
 * Input i uses counter `counter + i` when `increment` is non-zero, else `counter`. The first block gets
 * `flags | flags_start`, the last `flags | flags_end`. Writes WIDTH 32-byte chaining values to `out`
 * (every input is read before any output is written). */
typedef void (*cb3_hash_fn)(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8], uint64_t counter,
                            int increment, uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out);

void cb3_hash1_portable(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8], uint64_t counter,
                        int increment, uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out);
void cb3_hash4_sse41(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8], uint64_t counter,
                     int increment, uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out);
void cb3_hash8_avx2(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8], uint64_t counter,
                    int increment, uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out);
void cb3_hash16_avx512(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8], uint64_t counter,
                       int increment, uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out);

#endif

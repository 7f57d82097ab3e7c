#ifndef CBLAKE3_H
#define CBLAKE3_H

/* mirrorbot's own BLAKE3 (hash mode, 32-byte output), written from the BLAKE3 specification.
 * Whole chunks and parent nodes are compressed many at a time across SIMD lanes: 4 (SSE4.1),
 * 8 (AVX2) or 16 (AVX-512) at once, picked at run time, with a portable path for everything else. */

#include <stddef.h>
#include <stdint.h>

#define CBLAKE3_OUT_LEN 32
#define CBLAKE3_BLOCK_LEN 64
#define CBLAKE3_CHUNK_LEN 1024
/* 2^54 chunks of 1 KiB cover 2^64 bytes; the lazily merged stack holds at most one extra entry. */
#define CBLAKE3_MAX_DEPTH 56

/* Kernel levels. CBLAKE3_KERNEL_AUTO picks the widest one the CPU supports. */
enum {
    CBLAKE3_KERNEL_AUTO = 0,
    CBLAKE3_KERNEL_PORTABLE = 1,
    CBLAKE3_KERNEL_SSE41 = 2,
    CBLAKE3_KERNEL_AVX2 = 3,
    CBLAKE3_KERNEL_AVX512 = 4,
};

typedef struct cblake3_hasher {
    uint32_t key[8];
    /* Chunks hashed so far: the number of the chunk being buffered. */
    uint64_t chunk_counter;
    /* The first chunk's number: 0 for a whole input, the subtree's start for a subtree (see init_subtree). */
    uint64_t chunk_base;
    /* The last (possibly full) chunk, kept until more input shows it is not the last one. */
    uint8_t chunk[CBLAKE3_CHUNK_LEN];
    uint16_t chunk_len;
    uint8_t flags;
    uint8_t kernel;
    uint8_t cv_stack_len;
    /* Chaining values of complete subtrees, left to right, merged lazily. */
    uint8_t cv_stack[CBLAKE3_MAX_DEPTH * CBLAKE3_OUT_LEN];
} cblake3_hasher;

/* 1 if this CPU (and OS) can run the given kernel level, else 0. AUTO and PORTABLE are always 1. */
int cblake3_kernel_supported(int kernel);

/* The widest kernel level this CPU supports. */
int cblake3_best_kernel(void);

/* Starts a new hash. An unsupported or unknown kernel level falls back to the best supported one. */
void cblake3_init(cblake3_hasher *self, int kernel);

/* Adds input; any length, any number of calls. */
void cblake3_update(cblake3_hasher *self, const void *input, size_t input_len);

/* Writes the 32-byte hash of everything added so far. The state is left unchanged. */
void cblake3_finalize(const cblake3_hasher *self, uint8_t out[CBLAKE3_OUT_LEN]);

/* Starts a hash of the complete subtree whose first chunk is `first_chunk` (a multiple of the subtree's
 * size in chunks, which must be a power of two): Bao's chunk groups. Feed it the subtree's bytes only. */
void cblake3_init_subtree(cblake3_hasher *self, int kernel, uint64_t first_chunk);

/* Writes the chaining value of everything added so far: the root hash when `is_root` is 1 (as finalize),
 * else the non-root chaining value of the subtree, as its parent node takes it. The state is unchanged. */
void cblake3_finalize_subtree(const cblake3_hasher *self, int is_root, uint8_t out[CBLAKE3_OUT_LEN]);

/* The chaining value of a parent node from its children's (left then right, 64 bytes); the root hash
 * when `is_root` is 1. Hash mode (no key). */
void cblake3_parent_cv(const uint8_t left_right[64], int is_root, uint8_t out[CBLAKE3_OUT_LEN]);

#endif

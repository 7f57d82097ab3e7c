/* BLAKE3 hash mode: the portable compression function, the chunk state, the lazily merged stack of
 * subtree chaining values, and the batching of whole chunks and parent nodes into the wide kernels. */
#include "cblake3.h"
#include "blake3_impl.h"

#if defined(__x86_64__) || defined(__i386__)
#define CB3_X86 1
#else
#define CB3_X86 0
#endif

/* ---- Portable compression ---------------------------------------------------------------------- */

static inline uint32_t cb3_rotr(uint32_t w, int c) { return (w >> c) | (w << (32 - c)); }

#define CB3_PG(a, b, c, d, x, y)           \
    do {                                   \
        v[a] = v[a] + v[b] + (x);          \
        v[d] = cb3_rotr(v[d] ^ v[a], 16);  \
        v[c] = v[c] + v[d];                \
        v[b] = cb3_rotr(v[b] ^ v[c], 12);  \
        v[a] = v[a] + v[b] + (y);          \
        v[d] = cb3_rotr(v[d] ^ v[a], 8);   \
        v[c] = v[c] + v[d];                \
        v[b] = cb3_rotr(v[b] ^ v[c], 7);   \
    } while (0)

/* The message word order of each round: the specification's permutation applied round-1 times. */
static const uint8_t CB3_SCHEDULE[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
    {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
    {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

static void cb3_compress_state(uint32_t v[16], const uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                               uint64_t counter, uint8_t flags) {
    uint32_t m[16];
    for (int i = 0; i < 16; i++) {
        m[i] = cb3_load32(block + 4 * i);
    }
    for (int i = 0; i < 8; i++) {
        v[i] = cv[i];
    }
    v[8] = CB3_IV[0];
    v[9] = CB3_IV[1];
    v[10] = CB3_IV[2];
    v[11] = CB3_IV[3];
    v[12] = (uint32_t)counter;
    v[13] = (uint32_t)(counter >> 32);
    v[14] = block_len;
    v[15] = flags;
    for (int r = 0; r < 7; r++) {
        const uint8_t *s = CB3_SCHEDULE[r];
        CB3_PG(0, 4, 8, 12, m[s[0]], m[s[1]]);
        CB3_PG(1, 5, 9, 13, m[s[2]], m[s[3]]);
        CB3_PG(2, 6, 10, 14, m[s[4]], m[s[5]]);
        CB3_PG(3, 7, 11, 15, m[s[6]], m[s[7]]);
        CB3_PG(0, 5, 10, 15, m[s[8]], m[s[9]]);
        CB3_PG(1, 6, 11, 12, m[s[10]], m[s[11]]);
        CB3_PG(2, 7, 8, 13, m[s[12]], m[s[13]]);
        CB3_PG(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
}

void cb3_compress_portable(uint32_t cv[8], const uint8_t block[64], uint8_t block_len, uint64_t counter,
                           uint8_t flags) {
    uint32_t v[16];
    cb3_compress_state(v, cv, block, block_len, counter, flags);
    for (int i = 0; i < 8; i++) {
        cv[i] = v[i] ^ v[i + 8];
    }
}

void cb3_hash1_portable(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8], uint64_t counter,
                        int increment, uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out) {
    (void)increment; /* one input: its counter is `counter` either way */
    uint32_t cv[8];
    memcpy(cv, key, sizeof cv);
    uint8_t block_flags = flags | flags_start;
    for (size_t b = 0; b < blocks; b++) {
        if (b + 1 == blocks) {
            block_flags |= flags_end;
        }
        cb3_compress_portable(cv, inputs[0] + 64 * b, 64, counter, block_flags);
        block_flags = flags;
    }
    for (int i = 0; i < 8; i++) {
        cb3_store32(out + 4 * i, cv[i]);
    }
}

/* ---- Kernel selection ------------------------------------------------------------------------------ */

static int cb3_detect(void) {
#if CB3_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        return CBLAKE3_KERNEL_AVX512;
    }
    if (__builtin_cpu_supports("avx2")) {
        return CBLAKE3_KERNEL_AVX2;
    }
    if (__builtin_cpu_supports("sse4.1")) {
        return CBLAKE3_KERNEL_SSE41;
    }
#endif
    return CBLAKE3_KERNEL_PORTABLE;
}

int cblake3_best_kernel(void) {
    /* Benign race: every thread computes the same value. */
    static volatile int best = 0;
    int b = best;
    if (b == 0) {
        b = cb3_detect();
        best = b;
    }
    return b;
}

int cblake3_kernel_supported(int kernel) {
    if (kernel == CBLAKE3_KERNEL_AUTO || kernel == CBLAKE3_KERNEL_PORTABLE) {
        return 1;
    }
    if (kernel < CBLAKE3_KERNEL_AUTO || kernel > CBLAKE3_KERNEL_AVX512) {
        return 0;
    }
    return kernel <= cblake3_best_kernel();
}

/* Hashes `n` inputs with the widest kernels allowed by `kernel`, narrowing for the tail. */
static void cb3_hash_many(int kernel, const uint8_t *const *inputs, size_t n, size_t blocks, const uint32_t key[8],
                          uint64_t counter, int increment, uint8_t flags, uint8_t flags_start, uint8_t flags_end,
                          uint8_t *out) {
#if CB3_X86
    if (kernel >= CBLAKE3_KERNEL_AVX512) {
        while (n >= 16) {
            cb3_hash16_avx512(inputs, blocks, key, counter, increment, flags, flags_start, flags_end, out);
            inputs += 16;
            n -= 16;
            out += 16 * 32;
            counter += increment ? 16 : 0;
        }
    }
    if (kernel >= CBLAKE3_KERNEL_AVX2) {
        while (n >= 8) {
            cb3_hash8_avx2(inputs, blocks, key, counter, increment, flags, flags_start, flags_end, out);
            inputs += 8;
            n -= 8;
            out += 8 * 32;
            counter += increment ? 8 : 0;
        }
    }
    if (kernel >= CBLAKE3_KERNEL_SSE41) {
        while (n >= 4) {
            cb3_hash4_sse41(inputs, blocks, key, counter, increment, flags, flags_start, flags_end, out);
            inputs += 4;
            n -= 4;
            out += 4 * 32;
            counter += increment ? 4 : 0;
        }
    }
#else
    (void)kernel;
#endif
    while (n > 0) {
        cb3_hash1_portable(inputs, blocks, key, counter, increment, flags, flags_start, flags_end, out);
        inputs += 1;
        n -= 1;
        out += 32;
        counter += increment ? 1 : 0;
    }
}

/* ---- Chunk state ------------------------------------------------------------------------------------ */

static size_t cb3_chunk_len(const cblake3_hasher *self) {
    return (size_t)self->blocks_compressed * CBLAKE3_BLOCK_LEN + self->block_len;
}

static uint8_t cb3_chunk_start_flag(const cblake3_hasher *self) {
    return self->blocks_compressed == 0 ? CB3_CHUNK_START : 0;
}

static void cb3_chunk_reset(cblake3_hasher *self) {
    memcpy(self->chunk_cv, self->key, sizeof self->chunk_cv);
    self->block_len = 0;
    self->blocks_compressed = 0;
}

/* Adds bytes to the current chunk (at most what fits). The last block is always kept buffered: it may be
 * the chunk's final block, which needs CHUNK_END (and ROOT for a single-chunk input). */
static void cb3_chunk_update(cblake3_hasher *self, const uint8_t *input, size_t len) {
    while (len > 0) {
        if (self->block_len == CBLAKE3_BLOCK_LEN) {
            cb3_compress_portable(self->chunk_cv, self->block, CBLAKE3_BLOCK_LEN, self->chunk_counter,
                                  self->flags | cb3_chunk_start_flag(self));
            self->blocks_compressed += 1;
            self->block_len = 0;
        }
        if (self->block_len == 0) {
            while (len > CBLAKE3_BLOCK_LEN) {
                cb3_compress_portable(self->chunk_cv, input, CBLAKE3_BLOCK_LEN, self->chunk_counter,
                                      self->flags | cb3_chunk_start_flag(self));
                self->blocks_compressed += 1;
                input += CBLAKE3_BLOCK_LEN;
                len -= CBLAKE3_BLOCK_LEN;
            }
        }
        size_t take = CBLAKE3_BLOCK_LEN - self->block_len;
        if (take > len) {
            take = len;
        }
        memcpy(self->block + self->block_len, input, take);
        self->block_len += (uint8_t)take;
        input += take;
        len -= take;
    }
}

/* A node whose final compression is still pending (it may be the root). */
typedef struct {
    uint32_t cv[8];
    uint8_t block[64];
    uint8_t block_len;
    uint64_t counter;
    uint8_t flags;
} cb3_output;

static cb3_output cb3_chunk_output(const cblake3_hasher *self) {
    cb3_output o;
    memcpy(o.cv, self->chunk_cv, sizeof o.cv);
    memset(o.block, 0, sizeof o.block);
    memcpy(o.block, self->block, self->block_len);
    o.block_len = self->block_len;
    o.counter = self->chunk_counter;
    o.flags = self->flags | cb3_chunk_start_flag(self) | CB3_CHUNK_END;
    return o;
}

static cb3_output cb3_parent_output(const cblake3_hasher *self, const uint8_t left_right[64]) {
    cb3_output o;
    memcpy(o.cv, self->key, sizeof o.cv);
    memcpy(o.block, left_right, 64);
    o.block_len = 64;
    o.counter = 0;
    o.flags = self->flags | CB3_PARENT;
    return o;
}

static void cb3_output_cv(const cb3_output *o, uint8_t extra_flags, uint8_t out[32]) {
    uint32_t cv[8];
    memcpy(cv, o->cv, sizeof cv);
    cb3_compress_portable(cv, o->block, o->block_len, o->counter, o->flags | extra_flags);
    for (int i = 0; i < 8; i++) {
        cb3_store32(out + 4 * i, cv[i]);
    }
}

/* ---- The tree ---------------------------------------------------------------------------------------- */

/* Merges completed subtrees lazily: with `total_chunks` chunks hashed so far, the stack needs only
 * popcount(total_chunks) entries; the top ones are merged only now that more input has arrived, so that
 * the final merges (the root among them) happen in finalize. */
static void cb3_merge_stack(cblake3_hasher *self, uint64_t total_chunks) {
    size_t keep = (size_t)__builtin_popcountll(total_chunks);
    while (self->cv_stack_len > keep) {
        uint8_t *pair = self->cv_stack + (self->cv_stack_len - 2) * CBLAKE3_OUT_LEN;
        cb3_output o = cb3_parent_output(self, pair);
        cb3_output_cv(&o, 0, pair);
        self->cv_stack_len -= 1;
    }
}

/* Pushes the chaining value of a complete subtree whose first chunk is `chunk_counter`. */
static void cb3_push_cv(cblake3_hasher *self, const uint8_t cv[32], uint64_t chunk_counter) {
    cb3_merge_stack(self, chunk_counter);
    memcpy(self->cv_stack + self->cv_stack_len * CBLAKE3_OUT_LEN, cv, CBLAKE3_OUT_LEN);
    self->cv_stack_len += 1;
}

/* Largest subtree hashed in one go: its chunk chaining values live on the C stack (16 KiB). */
#define CB3_MAX_SUBTREE_CHUNKS 512

/* Hashes `chunks` whole chunks (a power of two, at least 2) starting at chunk `counter`, reducing parent
 * levels many at a time, down to the two chaining values under the subtree's top node. */
static void cb3_hash_subtree(const cblake3_hasher *self, const uint8_t *input, size_t chunks, uint64_t counter,
                             uint8_t out[64]) {
    const uint8_t *inputs[CB3_MAX_SUBTREE_CHUNKS];
    uint8_t cvs_a[CB3_MAX_SUBTREE_CHUNKS * CBLAKE3_OUT_LEN];
    uint8_t cvs_b[CB3_MAX_SUBTREE_CHUNKS / 2 * CBLAKE3_OUT_LEN];
    for (size_t i = 0; i < chunks; i++) {
        inputs[i] = input + i * CBLAKE3_CHUNK_LEN;
    }
    cb3_hash_many(self->kernel, inputs, chunks, CBLAKE3_CHUNK_LEN / CBLAKE3_BLOCK_LEN, self->key, counter, 1,
                  self->flags, CB3_CHUNK_START, CB3_CHUNK_END, cvs_a);
    uint8_t *from = cvs_a, *to = cvs_b;
    size_t n = chunks;
    while (n > 2) {
        n /= 2;
        for (size_t i = 0; i < n; i++) {
            inputs[i] = from + i * 2 * CBLAKE3_OUT_LEN;
        }
        cb3_hash_many(self->kernel, inputs, n, 1, self->key, 0, 0, self->flags | CB3_PARENT, 0, 0, to);
        uint8_t *t = from;
        from = to;
        to = t;
    }
    memcpy(out, from, 2 * CBLAKE3_OUT_LEN);
}

void cblake3_init(cblake3_hasher *self, int kernel) {
    memcpy(self->key, CB3_IV, sizeof self->key);
    self->flags = 0;
    if (kernel == CBLAKE3_KERNEL_AUTO || !cblake3_kernel_supported(kernel)) {
        kernel = cblake3_best_kernel();
    }
    self->kernel = (uint8_t)kernel;
    self->chunk_counter = 0;
    self->cv_stack_len = 0;
    memset(self->block, 0, sizeof self->block);
    cb3_chunk_reset(self);
}

void cblake3_update(cblake3_hasher *self, const void *input_bytes, size_t len) {
    const uint8_t *input = (const uint8_t *)input_bytes;
    if (len == 0) {
        return;
    }
    /* 1. Finish a chunk in progress. A full chunk is closed only once more input follows. */
    size_t have = cb3_chunk_len(self);
    if (have > 0) {
        size_t take = CBLAKE3_CHUNK_LEN - have;
        if (take > len) {
            take = len;
        }
        cb3_chunk_update(self, input, take);
        input += take;
        len -= take;
        if (len == 0) {
            return;
        }
        cb3_output o = cb3_chunk_output(self);
        uint8_t cv[32];
        cb3_output_cv(&o, 0, cv);
        cb3_push_cv(self, cv, self->chunk_counter);
        self->chunk_counter += 1;
        cb3_chunk_reset(self);
    }
    /* 2. Whole chunks, as aligned power-of-two subtrees, many at once. Only a lone first chunk (which
     * could be the root) is left to the chunk state. */
    while (len >= CBLAKE3_CHUNK_LEN && !(self->chunk_counter == 0 && len == CBLAKE3_CHUNK_LEN)) {
        uint64_t available = len / CBLAKE3_CHUNK_LEN;
        uint64_t chunks = (uint64_t)1 << (63 - __builtin_clzll(available));
        if (chunks > CB3_MAX_SUBTREE_CHUNKS) {
            chunks = CB3_MAX_SUBTREE_CHUNKS;
        }
        uint64_t counter = self->chunk_counter;
        if (counter != 0) {
            uint64_t alignment = counter & (~counter + 1);
            if (chunks > alignment) {
                chunks = alignment;
            }
        }
        if (chunks == 1) {
            uint8_t cv[32];
            const uint8_t *one[1] = {input};
            cb3_hash_many(self->kernel, one, 1, CBLAKE3_CHUNK_LEN / CBLAKE3_BLOCK_LEN, self->key, counter, 1,
                          self->flags, CB3_CHUNK_START, CB3_CHUNK_END, cv);
            cb3_push_cv(self, cv, counter);
        } else {
            uint8_t pair[64];
            cb3_hash_subtree(self, input, (size_t)chunks, counter, pair);
            cb3_push_cv(self, pair, counter);
            cb3_push_cv(self, pair + 32, counter + chunks / 2);
        }
        self->chunk_counter += chunks;
        input += chunks * CBLAKE3_CHUNK_LEN;
        len -= chunks * CBLAKE3_CHUNK_LEN;
    }
    /* 3. The rest starts a new chunk. The stack is then merged down to its canonical form, so that
     * finalize can fold the chunk into every entry in turn. (If the input stops on a chunk boundary the
     * top entries stay unmerged: finalize then starts from the top two.) */
    if (len > 0) {
        cb3_chunk_update(self, input, len);
        cb3_merge_stack(self, self->chunk_counter);
    }
}

void cblake3_finalize(const cblake3_hasher *self, uint8_t out[CBLAKE3_OUT_LEN]) {
    cb3_output o;
    size_t remaining;
    if (cb3_chunk_len(self) > 0 || self->cv_stack_len == 0) {
        o = cb3_chunk_output(self);
        remaining = self->cv_stack_len;
    } else {
        /* The input ended on a chunk boundary: the top two entries form the lowest pending parent. */
        o = cb3_parent_output(self, self->cv_stack + (self->cv_stack_len - 2) * CBLAKE3_OUT_LEN);
        remaining = self->cv_stack_len - 2;
    }
    while (remaining > 0) {
        remaining -= 1;
        uint8_t pair[64];
        memcpy(pair, self->cv_stack + remaining * CBLAKE3_OUT_LEN, CBLAKE3_OUT_LEN);
        cb3_output_cv(&o, 0, pair + CBLAKE3_OUT_LEN);
        o = cb3_parent_output(self, pair);
    }
    /* The root: output block 0 (counter 0) with ROOT. Only the first 32 bytes are produced. */
    o.counter = 0;
    cb3_output_cv(&o, CB3_ROOT, out);
}

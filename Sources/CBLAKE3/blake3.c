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
    /* Every thread that finds it unset computes the same value; relaxed atomics make that race benign. */
    static int best = 0;
    int b = __atomic_load_n(&best, __ATOMIC_RELAXED);
    if (b == 0) {
        b = cb3_detect();
        __atomic_store_n(&best, b, __ATOMIC_RELAXED);
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

/* Runs a kernel of `width` lanes on `n` (< width) inputs: the spare lanes repeat the last input and their
 * results are dropped. On this kind of CPU a padded wide call costs about as much as one or two portable
 * chunk compressions, so it beats finishing the tail one input at a time. */
static void cb3_hash_padded(cb3_hash_fn fn, size_t width, const uint8_t *const *inputs, size_t n, size_t blocks,
                            const uint32_t key[8], uint64_t counter, int increment, uint8_t flags,
                            uint8_t flags_start, uint8_t flags_end, uint8_t *out) {
    const uint8_t *lanes[16];
    uint8_t results[16 * CBLAKE3_OUT_LEN];
    for (size_t i = 0; i < width; i++) {
        lanes[i] = inputs[i < n ? i : n - 1];
    }
    fn(lanes, blocks, key, counter, increment, flags, flags_start, flags_end, results);
    memcpy(out, results, n * CBLAKE3_OUT_LEN);
}

/* Hashes `n` inputs with the widest kernels allowed by `kernel`; a tail narrower than the kernel runs
 * padded in the narrowest kernel that holds it, and only a single leftover input runs portably. */
static void cb3_hash_many(int kernel, const uint8_t *const *inputs, size_t n, size_t blocks, const uint32_t key[8],
                          uint64_t counter, int increment, uint8_t flags, uint8_t flags_start, uint8_t flags_end,
                          uint8_t *out) {
    while (n > 0) {
        cb3_hash_fn fn = cb3_hash1_portable;
        size_t width = 1;
#if CB3_X86
        if (kernel >= CBLAKE3_KERNEL_AVX512 && n > 8) {
            fn = cb3_hash16_avx512;
            width = 16;
        } else if (kernel >= CBLAKE3_KERNEL_AVX2 && n > 1) {
            fn = cb3_hash8_avx2;
            width = 8;
        } else if (kernel >= CBLAKE3_KERNEL_SSE41 && n > 1) {
            fn = cb3_hash4_sse41;
            width = 4;
        }
#else
        (void)kernel;
#endif
        size_t take = n < width ? n : width;
        if (blocks > 4 && n > take) {
            /* The kernels fetch each input a few blocks ahead; start the next batch's first blocks now. */
            size_t next = n - take < width ? n - take : width;
            for (size_t i = 0; i < next; i++) {
                for (size_t line = 0; line < 4; line++) {
                    __builtin_prefetch(inputs[take + i] + 64 * line);
                }
            }
        }
        if (take == width) {
            fn(inputs, blocks, key, counter, increment, flags, flags_start, flags_end, out);
        } else {
            cb3_hash_padded(fn, width, inputs, take, blocks, key, counter, increment, flags, flags_start, flags_end,
                            out);
        }
        inputs += take;
        n -= take;
        out += take * CBLAKE3_OUT_LEN;
        counter += increment ? take : 0;
    }
}

/* ---- The tree ---------------------------------------------------------------------------------------- */

/* A node whose final compression is still pending (it may be the root). */
typedef struct {
    uint32_t cv[8];
    uint8_t block[64];
    uint8_t block_len;
    uint64_t counter;
    uint8_t flags;
} cb3_output;

static cb3_output cb3_parent_output(const cblake3_hasher *self, const uint8_t left_right[64]) {
    cb3_output o;
    memcpy(o.cv, self->key, sizeof o.cv);
    memcpy(o.block, left_right, 64);
    o.block_len = 64;
    o.counter = 0;
    o.flags = self->flags | CB3_PARENT;
    return o;
}

/* The buffered chunk (0 to 1024 bytes): every block but the last compressed, the last one pending. */
static cb3_output cb3_chunk_output(const cblake3_hasher *self) {
    cb3_output o;
    memcpy(o.cv, self->key, sizeof o.cv);
    size_t len = self->chunk_len;
    size_t blocks = len == 0 ? 1 : (len + CBLAKE3_BLOCK_LEN - 1) / CBLAKE3_BLOCK_LEN;
    uint8_t start = CB3_CHUNK_START;
    for (size_t b = 0; b + 1 < blocks; b++) {
        cb3_compress_portable(o.cv, self->chunk + b * CBLAKE3_BLOCK_LEN, CBLAKE3_BLOCK_LEN, self->chunk_counter,
                              self->flags | start);
        start = 0;
    }
    size_t last = (blocks - 1) * CBLAKE3_BLOCK_LEN;
    memset(o.block, 0, sizeof o.block);
    memcpy(o.block, self->chunk + last, len - last);
    o.block_len = (uint8_t)(len - last);
    o.counter = self->chunk_counter;
    o.flags = self->flags | start | CB3_CHUNK_END;
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

/* Merges completed subtrees lazily: with `total_chunks` chunks hashed so far, the stack needs only
 * popcount(total_chunks) entries; the top ones are merged only once more input has arrived, so that
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
    cb3_merge_stack(self, chunk_counter - self->chunk_base);
    memcpy(self->cv_stack + self->cv_stack_len * CBLAKE3_OUT_LEN, cv, CBLAKE3_OUT_LEN);
    self->cv_stack_len += 1;
}

/* Most whole chunks hashed in one batch: their chaining values live on the C stack (16 KiB). */
#define CB3_MAX_BATCH_CHUNKS 512

/* Reduces the chaining values of a complete subtree of `n` chunks (a power of two, at least 2), parent
 * levels many at a time, to the two chaining values under the subtree's top node. Overwrites `cvs`. */
static void cb3_reduce_subtree(const cblake3_hasher *self, uint8_t *cvs, size_t n, uint8_t out[64]) {
    const uint8_t *inputs[CB3_MAX_BATCH_CHUNKS / 2];
    uint8_t scratch[CB3_MAX_BATCH_CHUNKS / 2 * CBLAKE3_OUT_LEN];
    uint8_t *from = cvs, *to = scratch;
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

/* Hashes whole chunks (numbered from the hasher's chunk counter) across the widest lanes, then pushes
 * them as aligned power-of-two subtrees, each reduced to its top two chaining values. */
static void cb3_hash_chunks(cblake3_hasher *self, const uint8_t *const *inputs, size_t chunks) {
    uint8_t cvs[CB3_MAX_BATCH_CHUNKS * CBLAKE3_OUT_LEN];
    cb3_hash_many(self->kernel, inputs, chunks, CBLAKE3_CHUNK_LEN / CBLAKE3_BLOCK_LEN, self->key,
                  self->chunk_counter, 1, self->flags, CB3_CHUNK_START, CB3_CHUNK_END, cvs);
    size_t done = 0;
    while (done < chunks) {
        uint64_t counter = self->chunk_counter;
        uint64_t relative = counter - self->chunk_base;
        uint64_t size = (uint64_t)1 << (63 - __builtin_clzll((uint64_t)(chunks - done)));
        if (relative != 0) {
            uint64_t alignment = relative & (~relative + 1);
            if (size > alignment) {
                size = alignment;
            }
        }
        uint8_t *first = cvs + done * CBLAKE3_OUT_LEN;
        if (size == 1) {
            cb3_push_cv(self, first, counter);
        } else {
            uint8_t pair[64];
            cb3_reduce_subtree(self, first, (size_t)size, pair);
            cb3_push_cv(self, pair, counter);
            cb3_push_cv(self, pair + 32, counter + size / 2);
        }
        self->chunk_counter += size;
        done += (size_t)size;
    }
}

void cblake3_init(cblake3_hasher *self, int kernel) {
    memcpy(self->key, CB3_IV, sizeof self->key);
    self->flags = 0;
    if (kernel == CBLAKE3_KERNEL_AUTO || !cblake3_kernel_supported(kernel)) {
        kernel = cblake3_best_kernel();
    }
    self->kernel = (uint8_t)kernel;
    self->chunk_counter = 0;
    self->chunk_base = 0;
    self->chunk_len = 0;
    self->cv_stack_len = 0;
}

void cblake3_init_subtree(cblake3_hasher *self, int kernel, uint64_t first_chunk) {
    cblake3_init(self, kernel);
    self->chunk_counter = first_chunk;
    self->chunk_base = first_chunk;
}

void cblake3_update(cblake3_hasher *self, const void *input_bytes, size_t len) {
    const uint8_t *input = (const uint8_t *)input_bytes;
    if (len == 0) {
        return;
    }
    const uint8_t *batch[CB3_MAX_BATCH_CHUNKS];
    size_t batched = 0;
    /* 1. Top up the buffered chunk. Once full, and more input follows, it is hashed with the next batch. */
    if (self->chunk_len > 0) {
        size_t take = CBLAKE3_CHUNK_LEN - self->chunk_len;
        if (take > len) {
            take = len;
        }
        memcpy(self->chunk + self->chunk_len, input, take);
        self->chunk_len += (uint16_t)take;
        input += take;
        len -= take;
        if (len == 0) {
            return;
        }
        batch[batched++] = self->chunk;
    }
    /* 2. Whole chunks, many at once. Only a lone first chunk with nothing after it (it would be the root)
     * waits in the buffer. */
    while (len >= CBLAKE3_CHUNK_LEN && !(self->chunk_counter == self->chunk_base && batched == 0 && len == CBLAKE3_CHUNK_LEN)) {
        batch[batched++] = input;
        input += CBLAKE3_CHUNK_LEN;
        len -= CBLAKE3_CHUNK_LEN;
        if (batched == CB3_MAX_BATCH_CHUNKS) {
            cb3_hash_chunks(self, batch, batched);
            batched = 0;
        }
    }
    if (batched > 0) {
        cb3_hash_chunks(self, batch, batched);
    }
    /* 3. Buffer the rest. The stack is then merged down to its canonical form, so that finalize can fold
     * the buffered chunk into every entry in turn. (If the input stops on a chunk boundary the top entries
     * stay unmerged: finalize then starts from the top two.) */
    memcpy(self->chunk, input, len);
    self->chunk_len = (uint16_t)len;
    if (len > 0) {
        cb3_merge_stack(self, self->chunk_counter - self->chunk_base);
    }
}

/* The pending top node of everything added so far, every lower node folded in. */
static cb3_output cb3_top_output(const cblake3_hasher *self) {
    cb3_output o;
    size_t remaining;
    if (self->chunk_len > 0 || self->cv_stack_len == 0) {
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
    return o;
}

void cblake3_finalize(const cblake3_hasher *self, uint8_t out[CBLAKE3_OUT_LEN]) {
    cblake3_finalize_subtree(self, 1, out);
}

void cblake3_finalize_subtree(const cblake3_hasher *self, int is_root, uint8_t out[CBLAKE3_OUT_LEN]) {
    cb3_output o = cb3_top_output(self);
    if (is_root) {
        /* The root: output block 0 (counter 0) with ROOT. Only the first 32 bytes are produced. */
        o.counter = 0;
        cb3_output_cv(&o, CB3_ROOT, out);
    } else {
        cb3_output_cv(&o, 0, out);
    }
}

void cblake3_parent_cv(const uint8_t left_right[64], int is_root, uint8_t out[CBLAKE3_OUT_LEN]) {
    cb3_output o;
    memcpy(o.cv, CB3_IV, sizeof o.cv);
    memcpy(o.block, left_right, 64);
    o.block_len = 64;
    o.counter = 0;
    o.flags = CB3_PARENT;
    cb3_output_cv(&o, is_root ? CB3_ROOT : 0, out);
}

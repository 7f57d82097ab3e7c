/* 8 inputs at once in AVX2 lanes. */
#if defined(__x86_64__) || defined(__i386__)
#include "blake3_impl.h"
#include <immintrin.h>

#define CB3_TARGET __attribute__((target("avx2")))

CB3_TARGET static inline __m256i cb3_rot16(__m256i x) {
    return _mm256_shuffle_epi8(x, _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1,
                                                   6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
}
CB3_TARGET static inline __m256i cb3_rot8(__m256i x) {
    return _mm256_shuffle_epi8(x, _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0,
                                                   5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12));
}

/* 8x8 transpose of 32-bit words: 4x4 inside each 128-bit half, then swap the halves across rows. */
CB3_TARGET static inline void cb3_transpose8(__m256i r[8]) {
    __m256i b[8];
    for (int k = 0; k < 2; k++) {
        __m256i a0 = _mm256_unpacklo_epi32(r[4 * k], r[4 * k + 1]);
        __m256i a1 = _mm256_unpackhi_epi32(r[4 * k], r[4 * k + 1]);
        __m256i a2 = _mm256_unpacklo_epi32(r[4 * k + 2], r[4 * k + 3]);
        __m256i a3 = _mm256_unpackhi_epi32(r[4 * k + 2], r[4 * k + 3]);
        b[4 * k] = _mm256_unpacklo_epi64(a0, a2);
        b[4 * k + 1] = _mm256_unpackhi_epi64(a0, a2);
        b[4 * k + 2] = _mm256_unpacklo_epi64(a1, a3);
        b[4 * k + 3] = _mm256_unpackhi_epi64(a1, a3);
    }
    for (int t = 0; t < 4; t++) {
        r[t] = _mm256_permute2x128_si256(b[t], b[4 + t], 0x20);
        r[4 + t] = _mm256_permute2x128_si256(b[t], b[4 + t], 0x31);
    }
}

CB3_TARGET static inline void cb3_load_msg(const uint8_t *const *inputs, size_t offset, __m256i m[16]) {
    /* The inputs are 8 separate streams: fetch a few blocks ahead of each. */
    for (int j = 0; j < 8; j++) {
        _mm_prefetch((const char *)(inputs[j] + offset + 256), _MM_HINT_T0);
    }
    for (int half = 0; half < 2; half++) {
        for (int j = 0; j < 8; j++) {
            m[8 * half + j] = _mm256_loadu_si256((const __m256i *)(inputs[j] + offset + 32 * half));
        }
        cb3_transpose8(&m[8 * half]);
    }
}

CB3_TARGET static inline void cb3_store_cvs(__m256i h[8], uint8_t *out) {
    cb3_transpose8(h);
    for (int j = 0; j < 8; j++) {
        _mm256_storeu_si256((__m256i *)(out + 32 * j), h[j]);
    }
}

#define CB3_VEC __m256i
#define CB3_WIDTH 8
#define CB3_FN cb3_hash8_avx2
#define CB3_ADD(a, b) _mm256_add_epi32(a, b)
#define CB3_XOR(a, b) _mm256_xor_si256(a, b)
#define CB3_SET1(x) _mm256_set1_epi32((int)(x))
#define CB3_LOAD_WORDS(p) _mm256_loadu_si256((const __m256i *)(p))
#define CB3_ROT16(x) cb3_rot16(x)
#define CB3_ROT12(x) _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20))
#define CB3_ROT8(x) cb3_rot8(x)
#define CB3_ROT7(x) _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25))
#include "blake3_wide.h"

#endif

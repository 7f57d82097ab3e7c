/* 4 inputs at once in SSE4.1 lanes. */
#if defined(__x86_64__) || defined(__i386__)
#include "blake3_impl.h"
#include <immintrin.h>

#define CB3_TARGET __attribute__((target("sse4.1")))

CB3_TARGET static inline __m128i cb3_rot16(__m128i x) {
    return _mm_shuffle_epi8(x, _mm_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
}
CB3_TARGET static inline __m128i cb3_rot8(__m128i x) {
    return _mm_shuffle_epi8(x, _mm_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12));
}

/* 4x4 transpose of 32-bit words. */
CB3_TARGET static inline void cb3_transpose4(__m128i r[4]) {
    __m128i a0 = _mm_unpacklo_epi32(r[0], r[1]);
    __m128i a1 = _mm_unpackhi_epi32(r[0], r[1]);
    __m128i a2 = _mm_unpacklo_epi32(r[2], r[3]);
    __m128i a3 = _mm_unpackhi_epi32(r[2], r[3]);
    r[0] = _mm_unpacklo_epi64(a0, a2);
    r[1] = _mm_unpackhi_epi64(a0, a2);
    r[2] = _mm_unpacklo_epi64(a1, a3);
    r[3] = _mm_unpackhi_epi64(a1, a3);
}

CB3_TARGET static inline void cb3_load_msg(const uint8_t *const *inputs, size_t offset, __m128i m[16]) {
    /* The inputs are 4 separate streams: fetch a few blocks ahead of each. */
    for (int j = 0; j < 4; j++) {
        _mm_prefetch((const char *)(inputs[j] + offset + 256), _MM_HINT_T0);
    }
    for (int g = 0; g < 4; g++) {
        for (int j = 0; j < 4; j++) {
            m[4 * g + j] = _mm_loadu_si128((const __m128i *)(inputs[j] + offset + 16 * g));
        }
        cb3_transpose4(&m[4 * g]);
    }
}

CB3_TARGET static inline void cb3_store_cvs(__m128i h[8], uint8_t *out) {
    cb3_transpose4(&h[0]);
    cb3_transpose4(&h[4]);
    for (int j = 0; j < 4; j++) {
        _mm_storeu_si128((__m128i *)(out + 32 * j), h[j]);
        _mm_storeu_si128((__m128i *)(out + 32 * j + 16), h[4 + j]);
    }
}

#define CB3_VEC __m128i
#define CB3_WIDTH 4
#define CB3_FN cb3_hash4_sse41
#define CB3_ADD(a, b) _mm_add_epi32(a, b)
#define CB3_XOR(a, b) _mm_xor_si128(a, b)
#define CB3_SET1(x) _mm_set1_epi32((int)(x))
#define CB3_LOAD_WORDS(p) _mm_loadu_si128((const __m128i *)(p))
#define CB3_ROT16(x) cb3_rot16(x)
#define CB3_ROT12(x) _mm_or_si128(_mm_srli_epi32(x, 12), _mm_slli_epi32(x, 20))
#define CB3_ROT8(x) cb3_rot8(x)
#define CB3_ROT7(x) _mm_or_si128(_mm_srli_epi32(x, 7), _mm_slli_epi32(x, 25))
#include "blake3_wide.h"

#endif

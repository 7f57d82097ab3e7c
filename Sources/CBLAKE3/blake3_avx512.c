/* 16 inputs at once in AVX-512 lanes. */
#if defined(__x86_64__) || defined(__i386__)
#include "blake3_impl.h"
#include <immintrin.h>

#define CB3_TARGET __attribute__((target("avx512f")))

/* 16x16 transpose of 32-bit words: 4x4 inside each 128-bit lane, then a 4x4 transpose of the lanes. */
CB3_TARGET static inline void cb3_transpose16(__m512i r[16]) {
    __m512i b[16];
    for (int k = 0; k < 4; k++) {
        __m512i a0 = _mm512_unpacklo_epi32(r[4 * k], r[4 * k + 1]);
        __m512i a1 = _mm512_unpackhi_epi32(r[4 * k], r[4 * k + 1]);
        __m512i a2 = _mm512_unpacklo_epi32(r[4 * k + 2], r[4 * k + 3]);
        __m512i a3 = _mm512_unpackhi_epi32(r[4 * k + 2], r[4 * k + 3]);
        b[4 * k] = _mm512_unpacklo_epi64(a0, a2);
        b[4 * k + 1] = _mm512_unpackhi_epi64(a0, a2);
        b[4 * k + 2] = _mm512_unpacklo_epi64(a1, a3);
        b[4 * k + 3] = _mm512_unpackhi_epi64(a1, a3);
    }
    for (int t = 0; t < 4; t++) {
        __m512i c0 = _mm512_shuffle_i32x4(b[t], b[4 + t], 0x44);
        __m512i c1 = _mm512_shuffle_i32x4(b[t], b[4 + t], 0xEE);
        __m512i c2 = _mm512_shuffle_i32x4(b[8 + t], b[12 + t], 0x44);
        __m512i c3 = _mm512_shuffle_i32x4(b[8 + t], b[12 + t], 0xEE);
        r[t] = _mm512_shuffle_i32x4(c0, c2, 0x88);
        r[4 + t] = _mm512_shuffle_i32x4(c0, c2, 0xDD);
        r[8 + t] = _mm512_shuffle_i32x4(c1, c3, 0x88);
        r[12 + t] = _mm512_shuffle_i32x4(c1, c3, 0xDD);
    }
}

CB3_TARGET static inline void cb3_load_msg(const uint8_t *const *inputs, size_t offset, __m512i m[16]) {
    /* The inputs are 16 separate streams: fetch a few blocks ahead of each. */
    for (int j = 0; j < 16; j++) {
        _mm_prefetch((const char *)(inputs[j] + offset + 256), _MM_HINT_T0);
    }
    for (int j = 0; j < 16; j++) {
        m[j] = _mm512_loadu_si512((const void *)(inputs[j] + offset));
    }
    cb3_transpose16(m);
}

CB3_TARGET static inline void cb3_store_cvs(__m512i h[8], uint8_t *out) {
    __m512i r[16];
    for (int i = 0; i < 8; i++) {
        r[i] = h[i];
        r[8 + i] = _mm512_setzero_si512();
    }
    cb3_transpose16(r);
    for (int j = 0; j < 16; j++) {
        _mm256_storeu_si256((__m256i *)(out + 32 * j), _mm512_castsi512_si256(r[j]));
    }
}

#define CB3_VEC __m512i
#define CB3_WIDTH 16
#define CB3_FN cb3_hash16_avx512
#define CB3_ADD(a, b) _mm512_add_epi32(a, b)
#define CB3_XOR(a, b) _mm512_xor_si512(a, b)
#define CB3_SET1(x) _mm512_set1_epi32((int)(x))
#define CB3_LOAD_WORDS(p) _mm512_loadu_si512((const void *)(p))
#define CB3_ROT16(x) _mm512_ror_epi32(x, 16)
#define CB3_ROT12(x) _mm512_ror_epi32(x, 12)
#define CB3_ROT8(x) _mm512_ror_epi32(x, 8)
#define CB3_ROT7(x) _mm512_ror_epi32(x, 7)
#include "blake3_wide.h"

#endif

/* The body shared by the SIMD kernels: one lane per input, each state word a vector of WIDTH lanes.
 * Included by a kernel file after it defines:
 *   CB3_VEC, CB3_TARGET, CB3_WIDTH, CB3_FN, CB3_ADD, CB3_XOR, CB3_SET1, CB3_LOAD_WORDS(const uint32_t *),
 *   CB3_ROT16, CB3_ROT12, CB3_ROT8, CB3_ROT7 (rotate each 32-bit lane right),
 *   cb3_load_msg(inputs, offset, m[16]) (transposed message words) and cb3_store_cvs(h[8], out). */

/* The quarter-round G of the specification, on vectors. */
#define CB3_G(a, b, c, d, x, y)        \
    do {                               \
        a = CB3_ADD(CB3_ADD(a, b), x); \
        d = CB3_ROT16(CB3_XOR(d, a));  \
        c = CB3_ADD(c, d);             \
        b = CB3_ROT12(CB3_XOR(b, c));  \
        a = CB3_ADD(CB3_ADD(a, b), y); \
        d = CB3_ROT8(CB3_XOR(d, a));   \
        c = CB3_ADD(c, d);             \
        b = CB3_ROT7(CB3_XOR(b, c));   \
    } while (0)

/* One round: columns, then diagonals. s0..s15 is the message word order for this round (the
 * specification's permutation applied round-1 times to 0..15). */
#define CB3_ROUND(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15) \
    do {                                                                              \
        CB3_G(v0, v4, v8, v12, m[s0], m[s1]);                                         \
        CB3_G(v1, v5, v9, v13, m[s2], m[s3]);                                         \
        CB3_G(v2, v6, v10, v14, m[s4], m[s5]);                                        \
        CB3_G(v3, v7, v11, v15, m[s6], m[s7]);                                        \
        CB3_G(v0, v5, v10, v15, m[s8], m[s9]);                                        \
        CB3_G(v1, v6, v11, v12, m[s10], m[s11]);                                      \
        CB3_G(v2, v7, v8, v13, m[s12], m[s13]);                                       \
        CB3_G(v3, v4, v9, v14, m[s14], m[s15]);                                       \
    } while (0)

CB3_TARGET void CB3_FN(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8], uint64_t counter,
                       int increment, uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t *out) {
    CB3_VEC h[8];
    for (int i = 0; i < 8; i++) {
        h[i] = CB3_SET1(key[i]);
    }
    uint32_t lo[CB3_WIDTH], hi[CB3_WIDTH];
    for (int j = 0; j < CB3_WIDTH; j++) {
        uint64_t c = counter + (increment ? (uint64_t)j : 0);
        lo[j] = (uint32_t)c;
        hi[j] = (uint32_t)(c >> 32);
    }
    const CB3_VEC counter_lo = CB3_LOAD_WORDS(lo);
    const CB3_VEC counter_hi = CB3_LOAD_WORDS(hi);
    const CB3_VEC block_len = CB3_SET1(64);
    uint8_t block_flags = flags | flags_start;
    for (size_t b = 0; b < blocks; b++) {
        if (b + 1 == blocks) {
            block_flags |= flags_end;
        }
        CB3_VEC m[16];
        cb3_load_msg(inputs, b * 64, m);
        CB3_VEC v0 = h[0], v1 = h[1], v2 = h[2], v3 = h[3];
        CB3_VEC v4 = h[4], v5 = h[5], v6 = h[6], v7 = h[7];
        CB3_VEC v8 = CB3_SET1(CB3_IV[0]), v9 = CB3_SET1(CB3_IV[1]);
        CB3_VEC v10 = CB3_SET1(CB3_IV[2]), v11 = CB3_SET1(CB3_IV[3]);
        CB3_VEC v12 = counter_lo, v13 = counter_hi, v14 = block_len, v15 = CB3_SET1(block_flags);
        CB3_ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        CB3_ROUND(2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8);
        CB3_ROUND(3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1);
        CB3_ROUND(10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6);
        CB3_ROUND(12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4);
        CB3_ROUND(9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7);
        CB3_ROUND(11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13);
        h[0] = CB3_XOR(v0, v8);
        h[1] = CB3_XOR(v1, v9);
        h[2] = CB3_XOR(v2, v10);
        h[3] = CB3_XOR(v3, v11);
        h[4] = CB3_XOR(v4, v12);
        h[5] = CB3_XOR(v5, v13);
        h[6] = CB3_XOR(v6, v14);
        h[7] = CB3_XOR(v7, v15);
        block_flags = flags;
    }
    cb3_store_cvs(h, out);
}

#undef CB3_G
#undef CB3_ROUND

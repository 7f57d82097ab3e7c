// S5Core: pure S5 types, encodings, hashes and keys.

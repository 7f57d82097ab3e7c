#ifndef CDISTROFORMATS_SHIM_H
#define CDISTROFORMATS_SHIM_H
/* The compression and archive libraries distribution indexes come in: liblzma (.xz), zlib (.gz),
   libzstd (.zst) and libarchive (Arch's REPO.db tarballs). Only the Distro module's wrappers reach them. */
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>
#include <archive.h>
#include <archive_entry.h>

/* zlib's inflateInit2 is a macro: Swift cannot call it. */
static inline int cdistro_inflate_init2(z_stream *stream, int window_bits) {
    return inflateInit2(stream, window_bits);
}

/* liblzma's LZMA_CONCATENATED is UINT32_C(0x08), a macro Swift does not import. */
static inline uint32_t cdistro_lzma_concatenated(void) {
    return LZMA_CONCATENATED;
}
#endif

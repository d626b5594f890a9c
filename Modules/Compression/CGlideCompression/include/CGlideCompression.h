// The system's zstd and lz4 (libzstd-dev, liblz4-dev), for GlideCompression. Swift calls their
// functions directly; the one wrapper below exists because what it wraps is a macro.
#ifndef C_GLIDE_COMPRESSION_H
#define C_GLIDE_COMPRESSION_H
#include <lz4.h>
#include <lz4hc.h>
#include <zstd.h>

/// LZ4HC_CLEVEL_MAX: the highest lz4 high-compression level.
int CGlideCompression_lz4hc_max_level(void);

#endif

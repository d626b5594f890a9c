#include "CGlideCompression.h"

int CGlideCompression_lz4hc_max_level(void) { return LZ4HC_CLEVEL_MAX; }

#ifndef C_ALLOCATION_COUNTER_H
#define C_ALLOCATION_COUNTER_H

/// The number of heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc,
/// memalign) made by the whole process so far. Linked only into glide-microbench, which defines
/// these functions to count calls before handing them to glibc.
long glide_allocation_count(void);

#endif

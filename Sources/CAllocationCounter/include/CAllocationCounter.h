#ifndef CALLOCATIONCOUNTER_H
#define CALLOCATIONCOUNTER_H
// Counts heap allocations made by this process, for tests and benchmarks that must prove a steady-state
// path allocates nothing. Linking this target interposes malloc/calloc/realloc/posix_memalign/
// aligned_alloc/memalign (forwarding to glibc's __libc_* entry points); counting is off until enabled.
#include <stdint.h>

/// Starts counting from zero on every thread.
void CAllocationCounter_start(void);
/// Starts counting from zero, counting only the calling thread's allocations (so a test can assert every
/// run of a path is allocation-free even while other threads of the process allocate).
void CAllocationCounter_startOnThisThread(void);
/// Stops counting and returns the number of allocations since `CAllocationCounter_start`.
uint64_t CAllocationCounter_stop(void);

#endif

#include "CAllocationCounter.h"
#include <stdatomic.h>
#include <stddef.h>
#include <errno.h>
#include <pthread.h>

// glibc's real allocator entry points (exported by libc.so.6).
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static atomic_int counting = 0;
static atomic_uint_fast64_t allocations = 0;
// 0: count every thread; otherwise only the thread whose pthread_t this is (pthread_self never allocates).
static atomic_uintptr_t only_thread = 0;

static inline void note(void) {
    if (atomic_load_explicit(&counting, memory_order_relaxed)) {
        uintptr_t only = atomic_load_explicit(&only_thread, memory_order_relaxed);
        if (only == 0 || only == (uintptr_t)pthread_self()) {
            atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
        }
    }
}

void CAllocationCounter_start(void) {
    atomic_store(&allocations, 0);
    atomic_store(&only_thread, 0);
    atomic_store(&counting, 1);
}

void CAllocationCounter_startOnThisThread(void) {
    atomic_store(&allocations, 0);
    atomic_store(&only_thread, (uintptr_t)pthread_self());
    atomic_store(&counting, 1);
}

uint64_t CAllocationCounter_stop(void) {
    atomic_store(&counting, 0);
    return atomic_load(&allocations);
}

void *malloc(size_t size) { note(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { note(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { note(); return __libc_realloc(pointer, size); }
void *memalign(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
int posix_memalign(void **result, size_t alignment, size_t size) {
    note();
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL && size != 0) return ENOMEM;
    *result = pointer;
    return 0;
}

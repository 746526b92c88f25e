// Lock-free single-producer/single-consumer ring of floats.
//
// Indices are 64-bit sample counters that only grow (they cannot wrap in practice: 2^64 samples
// at 768 kHz x 256 channels is 3000 years), so "used = write - read" needs no full/empty flag and
// every slot of the power-of-two buffer is usable. The producer publishes data with a release
// store of `write_index` after copying; the consumer acquires it before copying out, and releases
// `read_index` after copying so the producer cannot reuse slots still being read.
//
// Each side keeps a private cached copy of the other side's index and reloads it only when the
// cached value says there is not enough room/data, so in the steady state each side touches the
// other's cache line about once per buffer, not once per call. The fields are grouped by owner on
// separate 64-byte lines to avoid false sharing.
#define _GNU_SOURCE
#include "CAudioCapture.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct CAudioCapture_ring {
    // Constants, read by both sides.
    alignas(64) float *data;
    size_t capacity;
    size_t mask;
    uint32_t frame_samples;

    // Consumer-owned.
    alignas(64) _Atomic uint64_t read_index;
    uint64_t consumer_cached_write;

    // Producer-owned.
    alignas(64) _Atomic uint64_t write_index;
    uint64_t producer_cached_read;
    _Atomic uint64_t dropped_samples;
    _Atomic uint64_t overrun_events;
    _Atomic uint64_t last_write_ns;

    alignas(64) _Atomic int closed;
};

uint64_t CAudioCapture_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

void CAudioCapture_name_current_thread(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof truncated - 1);
    truncated[sizeof truncated - 1] = '\0';
    pthread_setname_np(pthread_self(), truncated);
}

CAudioCapture_ring *CAudioCapture_ring_create(size_t capacity, uint32_t frame_samples) {
    if (frame_samples == 0 || capacity < frame_samples || (capacity & (capacity - 1)) != 0) return NULL;
    if (capacity > ((size_t)1 << 40)) return NULL;
    CAudioCapture_ring *ring = aligned_alloc(64, sizeof(CAudioCapture_ring));
    if (!ring) return NULL;
    memset(ring, 0, sizeof *ring);
    size_t bytes = capacity * sizeof(float);
    // aligned_alloc wants a size that is a multiple of the alignment; a power-of-two capacity of
    // at least 16 floats is, smaller ones are rounded up.
    size_t rounded = (bytes + 63) & ~(size_t)63;
    ring->data = aligned_alloc(64, rounded);
    if (!ring->data) {
        free(ring);
        return NULL;
    }
    // Touch every page now: the audio thread must not fault pages in on its first lap.
    memset(ring->data, 0, rounded);
    ring->capacity = capacity;
    ring->mask = capacity - 1;
    ring->frame_samples = frame_samples;
    atomic_init(&ring->read_index, 0);
    atomic_init(&ring->write_index, 0);
    atomic_init(&ring->dropped_samples, 0);
    atomic_init(&ring->overrun_events, 0);
    atomic_init(&ring->last_write_ns, 0);
    atomic_init(&ring->closed, 0);
    return ring;
}

void CAudioCapture_ring_destroy(CAudioCapture_ring *ring) {
    if (!ring) return;
    free(ring->data);
    free(ring);
}

size_t CAudioCapture_ring_capacity(const CAudioCapture_ring *ring) { return ring->capacity; }
uint32_t CAudioCapture_ring_frame_samples(const CAudioCapture_ring *ring) { return ring->frame_samples; }

/// Free samples as the producer sees them, reloading the consumer's index only if the cached one
/// leaves less than `wanted`.
static inline size_t producer_space(CAudioCapture_ring *ring, uint64_t write, size_t wanted) {
    size_t space = ring->capacity - (size_t)(write - ring->producer_cached_read);
    if (space < wanted) {
        ring->producer_cached_read = atomic_load_explicit(&ring->read_index, memory_order_acquire);
        space = ring->capacity - (size_t)(write - ring->producer_cached_read);
    }
    return space;
}

static inline size_t whole_frames(const CAudioCapture_ring *ring, size_t count) {
    return count - count % ring->frame_samples;
}

size_t CAudioCapture_ring_write(CAudioCapture_ring *ring, const float *src, size_t count) {
    uint64_t write = atomic_load_explicit(&ring->write_index, memory_order_relaxed);
    size_t space = producer_space(ring, write, count);
    size_t n = whole_frames(ring, count < space ? count : space);
    if (n == 0) return 0;
    size_t start = (size_t)write & ring->mask;
    size_t first = ring->capacity - start;
    if (first > n) first = n;
    memcpy(ring->data + start, src, first * sizeof(float));
    if (n > first) memcpy(ring->data, src + first, (n - first) * sizeof(float));
    atomic_store_explicit(&ring->write_index, write + n, memory_order_release);
    atomic_store_explicit(&ring->last_write_ns, CAudioCapture_monotonic_ns(), memory_order_relaxed);
    return n;
}

static inline void count_drop(CAudioCapture_ring *ring, size_t dropped) {
    if (dropped == 0) return;
    atomic_fetch_add_explicit(&ring->dropped_samples, dropped, memory_order_relaxed);
    atomic_fetch_add_explicit(&ring->overrun_events, 1, memory_order_relaxed);
}

size_t CAudioCapture_ring_write_or_drop(CAudioCapture_ring *ring, const float *src, size_t count) {
    size_t written = CAudioCapture_ring_write(ring, src, count);
    count_drop(ring, count - written);
    return written;
}

size_t CAudioCapture_ring_write_planar_or_drop(CAudioCapture_ring *ring, const float *const *planes,
                                               uint32_t channel_count, size_t frames) {
    if (channel_count != ring->frame_samples || frames == 0) return 0;
    uint64_t write = atomic_load_explicit(&ring->write_index, memory_order_relaxed);
    size_t wanted = frames * channel_count;
    size_t space = producer_space(ring, write, wanted);
    size_t fit = space / channel_count;
    size_t n = frames < fit ? frames : fit;
    float *data = ring->data;
    size_t mask = ring->mask;
    size_t position = (size_t)write;
    if (channel_count == 1) {
        // Mono: a plain copy in at most two pieces.
        size_t start = position & mask;
        size_t first = ring->capacity - start;
        if (first > n) first = n;
        memcpy(data + start, planes[0], first * sizeof(float));
        if (n > first) memcpy(data, planes[0] + first, (n - first) * sizeof(float));
    } else {
        for (size_t frame = 0; frame < n; frame++) {
            for (uint32_t channel = 0; channel < channel_count; channel++) {
                data[position & mask] = planes[channel][frame];
                position++;
            }
        }
    }
    if (n > 0) {
        atomic_store_explicit(&ring->write_index, write + n * channel_count, memory_order_release);
        atomic_store_explicit(&ring->last_write_ns, CAudioCapture_monotonic_ns(), memory_order_relaxed);
    }
    count_drop(ring, (frames - n) * channel_count);
    return n;
}

/// Samples in use (written, not yet read), 0...capacity, from the two published indices only (no
/// cached copies touched), so any thread may call it.
///
/// Loading the indices one after the other is not enough off the producer's and consumer's threads:
/// between the two loads the other side moves on. Read first and write second, `write - read` can
/// exceed the capacity (both sides advanced); write first and read second, `read` can pass the
/// stale `write`. Both bounds hold for the sequence read (r1), write (w), read (r2), all acquire:
/// - `w >= r1`: r1 was released by the consumer after it had loaded a write index >= r1, and that
///   load happens-before our load of `w`, which therefore sees a write index at least as new;
/// - `w <= r2 + capacity`: `w` was released by the producer after it had loaded a read index `rp`
///   with `w <= rp + capacity`, and that load happens-before our load of `r2`, so `r2 >= rp`.
/// When r1 == r2 the pair (r1, w) is exact. If the consumer keeps moving we retry a few times, then
/// settle for `w - r2` clamped at 0, which is still within 0...capacity.
static size_t used_samples(const CAudioCapture_ring *ring) {
    CAudioCapture_ring *r = (CAudioCapture_ring *)ring;
    uint64_t write = 0, read = 0;
    for (int attempt = 0; attempt < 8; attempt++) {
        uint64_t first = atomic_load_explicit(&r->read_index, memory_order_acquire);
        write = atomic_load_explicit(&r->write_index, memory_order_acquire);
        read = atomic_load_explicit(&r->read_index, memory_order_acquire);
        if (first == read) break;
    }
    return write > read ? (size_t)(write - read) : 0;
}

size_t CAudioCapture_ring_writable(const CAudioCapture_ring *ring) {
    return whole_frames(ring, ring->capacity - used_samples(ring));
}

void CAudioCapture_ring_close(CAudioCapture_ring *ring) {
    atomic_store_explicit(&ring->closed, 1, memory_order_release);
}

int CAudioCapture_ring_is_closed(const CAudioCapture_ring *ring) {
    return atomic_load_explicit(&((CAudioCapture_ring *)ring)->closed, memory_order_acquire);
}

size_t CAudioCapture_ring_read(CAudioCapture_ring *ring, float *dst, size_t max_count) {
    uint64_t read = atomic_load_explicit(&ring->read_index, memory_order_relaxed);
    size_t available = (size_t)(ring->consumer_cached_write - read);
    if (available < max_count) {
        ring->consumer_cached_write = atomic_load_explicit(&ring->write_index, memory_order_acquire);
        available = (size_t)(ring->consumer_cached_write - read);
    }
    size_t n = whole_frames(ring, max_count < available ? max_count : available);
    if (n == 0) return 0;
    size_t start = (size_t)read & ring->mask;
    size_t first = ring->capacity - start;
    if (first > n) first = n;
    memcpy(dst, ring->data + start, first * sizeof(float));
    if (n > first) memcpy(dst + first, ring->data, (n - first) * sizeof(float));
    atomic_store_explicit(&ring->read_index, read + n, memory_order_release);
    return n;
}

size_t CAudioCapture_ring_readable(const CAudioCapture_ring *ring) {
    return used_samples(ring);
}

uint64_t CAudioCapture_ring_written_samples(const CAudioCapture_ring *ring) {
    return atomic_load_explicit(&((CAudioCapture_ring *)ring)->write_index, memory_order_relaxed);
}

uint64_t CAudioCapture_ring_read_samples(const CAudioCapture_ring *ring) {
    return atomic_load_explicit(&((CAudioCapture_ring *)ring)->read_index, memory_order_relaxed);
}

uint64_t CAudioCapture_ring_dropped_samples(const CAudioCapture_ring *ring) {
    return atomic_load_explicit(&((CAudioCapture_ring *)ring)->dropped_samples, memory_order_relaxed);
}

uint64_t CAudioCapture_ring_overrun_events(const CAudioCapture_ring *ring) {
    return atomic_load_explicit(&((CAudioCapture_ring *)ring)->overrun_events, memory_order_relaxed);
}

uint64_t CAudioCapture_ring_last_write_ns(const CAudioCapture_ring *ring) {
    return atomic_load_explicit(&((CAudioCapture_ring *)ring)->last_write_ns, memory_order_relaxed);
}

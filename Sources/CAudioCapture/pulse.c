// PulseAudio callbacks for capture. They run on the capture thread, inside pa_mainloop_dispatch:
// the read callback peeks each fragment PulseAudio has ready (a pointer into its own memblock, no
// copy, no allocation on our side), copies it into the ring and drops it. Holes (fragments without
// data) become silence so the stream keeps time.
#include "CAudioCapture.h"

#include <pulse/pulseaudio.h>
#include <stdatomic.h>
#include <stdlib.h>

struct CAudioCapture_pulse {
    CAudioCapture_ring *ring;
    _Atomic int server_changed;
    _Atomic uint64_t deliveries;
    _Atomic uint64_t fragments;
    _Atomic uint64_t bytes;
    _Atomic uint64_t holes;
};

CAudioCapture_pulse *CAudioCapture_pulse_create(CAudioCapture_ring *ring) {
    CAudioCapture_pulse *bridge = calloc(1, sizeof(CAudioCapture_pulse));
    if (!bridge) return NULL;
    bridge->ring = ring;
    atomic_init(&bridge->server_changed, 0);
    atomic_init(&bridge->deliveries, 0);
    atomic_init(&bridge->fragments, 0);
    atomic_init(&bridge->bytes, 0);
    atomic_init(&bridge->holes, 0);
    return bridge;
}

void CAudioCapture_pulse_destroy(CAudioCapture_pulse *bridge) { free(bridge); }

/// Writes `count` zero samples (a hole) in bounded pieces from a static block of zeros.
static void write_silence(CAudioCapture_ring *ring, size_t count) {
    static const float zeros[1024];
    uint32_t frame = CAudioCapture_ring_frame_samples(ring);
    size_t piece = (sizeof zeros / sizeof zeros[0]) / frame * frame;
    while (count >= frame) {
        size_t n = count < piece ? count - count % frame : piece;
        CAudioCapture_ring_write_or_drop(ring, zeros, n);
        count -= n;
    }
}

static void read_ready(pa_stream *stream, size_t nbytes, void *userdata) {
    (void)nbytes;
    CAudioCapture_pulse *bridge = userdata;
    atomic_fetch_add_explicit(&bridge->deliveries, 1, memory_order_relaxed);
    // Drain everything readable now; each peek returns at most one fragment.
    while (pa_stream_readable_size(stream) > 0) {
        const void *data = NULL;
        size_t length = 0;
        if (pa_stream_peek(stream, &data, &length) < 0) return;
        if (length == 0) return;   // nothing after all (no drop allowed here)
        size_t samples = length / sizeof(float);
        if (data) {
            // PulseAudio hands out whole frames of the stream's sample spec; write_or_drop keeps
            // whole frames in any case.
            CAudioCapture_ring_write_or_drop(bridge->ring, data, samples);
        } else {
            atomic_fetch_add_explicit(&bridge->holes, 1, memory_order_relaxed);
            write_silence(bridge->ring, samples);
        }
        atomic_fetch_add_explicit(&bridge->fragments, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&bridge->bytes, length, memory_order_relaxed);
        pa_stream_drop(stream);
    }
}

static void subscription(pa_context *context, pa_subscription_event_type_t type, uint32_t index, void *userdata) {
    (void)context;
    (void)index;
    CAudioCapture_pulse *bridge = userdata;
    if ((type & PA_SUBSCRIPTION_EVENT_FACILITY_MASK) == PA_SUBSCRIPTION_EVENT_SERVER) {
        atomic_store_explicit(&bridge->server_changed, 1, memory_order_release);
    }
}

void CAudioCapture_pulse_attach_stream(pa_stream *stream, CAudioCapture_pulse *bridge) {
    pa_stream_set_read_callback(stream, read_ready, bridge);
}

void CAudioCapture_pulse_attach_context(pa_context *context, CAudioCapture_pulse *bridge) {
    pa_context_set_subscribe_callback(context, subscription, bridge);
}

int CAudioCapture_pulse_take_server_changed(CAudioCapture_pulse *bridge) {
    return atomic_exchange_explicit(&bridge->server_changed, 0, memory_order_acq_rel);
}

uint64_t CAudioCapture_pulse_deliveries(const CAudioCapture_pulse *bridge) {
    return atomic_load_explicit(&((CAudioCapture_pulse *)bridge)->deliveries, memory_order_relaxed);
}

uint64_t CAudioCapture_pulse_fragments(const CAudioCapture_pulse *bridge) {
    return atomic_load_explicit(&((CAudioCapture_pulse *)bridge)->fragments, memory_order_relaxed);
}

uint64_t CAudioCapture_pulse_bytes(const CAudioCapture_pulse *bridge) {
    return atomic_load_explicit(&((CAudioCapture_pulse *)bridge)->bytes, memory_order_relaxed);
}

uint64_t CAudioCapture_pulse_holes(const CAudioCapture_pulse *bridge) {
    return atomic_load_explicit(&((CAudioCapture_pulse *)bridge)->holes, memory_order_relaxed);
}

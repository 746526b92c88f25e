// PulseAudio capture, the capture thread's half. Once the record stream is ready, the capture thread stays
// in `CAudioCapture_pulse_run`: libpulse's main loop (poll on the server socket, reading into its shared-
// memory blocks) and, inside it, the read callback, which peeks each fragment PulseAudio has ready (a
// pointer into its memblock), copies it into the ring and drops it. No Swift and none of our locks run on
// that thread while audio flows; it returns to Swift only to stop, to reconnect, or to follow a server
// change. Holes (fragments without data) become silence so the stream keeps time. Steady state allocates
// nothing on that thread, libpulse included (CaptureAllocationTests measures it).
#include "CAudioCapture.h"

#include <pthread.h>
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
    _Atomic int stop;
    _Atomic uint64_t loop_thread;
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
    atomic_init(&bridge->stop, 0);
    atomic_init(&bridge->loop_thread, 0);
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

CAudioCapture_pulse_outcome CAudioCapture_pulse_run(pa_mainloop *mainloop, pa_context *context, pa_stream *stream,
                                                    CAudioCapture_pulse *bridge, int follow_server_changes) {
    atomic_store_explicit(&bridge->loop_thread, (uint64_t)pthread_self(), memory_order_relaxed);
    for (;;) {
        if (atomic_load_explicit(&bridge->stop, memory_order_acquire)) return CAudioCapture_pulse_stopped;
        // Blocks in poll until the server sends something or pa_mainloop_wakeup (stop) interrupts it.
        if (pa_mainloop_iterate(mainloop, 1, NULL) < 0) return CAudioCapture_pulse_context_lost;
        if (pa_context_get_state(context) != PA_CONTEXT_READY) return CAudioCapture_pulse_context_lost;
        pa_stream_state_t state = pa_stream_get_state(stream);
        if (state == PA_STREAM_FAILED || state == PA_STREAM_TERMINATED) return CAudioCapture_pulse_stream_ended;
        if (follow_server_changes && atomic_load_explicit(&bridge->server_changed, memory_order_acquire))
            return CAudioCapture_pulse_server_changed;
    }
}

void CAudioCapture_pulse_request_stop(CAudioCapture_pulse *bridge) {
    atomic_store_explicit(&bridge->stop, 1, memory_order_release);
}

uint64_t CAudioCapture_pulse_loop_thread(const CAudioCapture_pulse *bridge) {
    return atomic_load_explicit(&((CAudioCapture_pulse *)bridge)->loop_thread, memory_order_relaxed);
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

#ifndef CAUDIOCAPTURE_H
#define CAUDIOCAPTURE_H
// The parts of live capture that run on audio threads, in C so that no Swift runtime (reference
// counting, allocation, exclusivity checks) can ever run there:
//
// - a lock-free single-producer/single-consumer ring of float samples (C11 atomics);
// - the JACK process, shutdown, xrun and port-registration callbacks;
// - the PulseAudio stream read callback and the server-change subscription callback.
//
// Every function called from an audio callback only loads and stores atomics and copies memory: no
// malloc, no locks, no system calls other than clock_gettime (vDSO). Swift code owns the objects,
// installs the callbacks from normal threads and reads the counters.
//
// The JACK and PulseAudio objects are declared here only as incomplete structs (they import into
// Swift as OpaquePointer, the same type CJack and CPulseAudio give them); the .c files include the
// real headers.
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: Ring buffer

/// A fixed-capacity SPSC ring of float samples, written and read in whole frames of
/// `frame_samples` interleaved samples. Exactly one thread writes and one thread reads.
typedef struct CAudioCapture_ring CAudioCapture_ring;

/// Allocates a ring of `capacity` samples (a power of two, at least `frame_samples`) and touches
/// every page of it so the audio thread never takes a page fault on first use. NULL on bad
/// arguments or when memory is short.
CAudioCapture_ring *CAudioCapture_ring_create(size_t capacity, uint32_t frame_samples);
/// Frees the ring; neither side may use it afterwards.
void CAudioCapture_ring_destroy(CAudioCapture_ring *ring);

size_t CAudioCapture_ring_capacity(const CAudioCapture_ring *ring);
uint32_t CAudioCapture_ring_frame_samples(const CAudioCapture_ring *ring);

// Producer side (one thread).

/// Copies as many whole frames of `src` (`count` samples) as fit; returns the samples written.
/// Never blocks and never counts a drop: for producers that can wait and retry (files, pipes).
size_t CAudioCapture_ring_write(CAudioCapture_ring *ring, const float *src, size_t count);
/// For real-time producers: writes what fits and drops the rest (the newest samples; the reader's
/// data is never overwritten), counting dropped samples and one overrun event per short write.
size_t CAudioCapture_ring_write_or_drop(CAudioCapture_ring *ring, const float *src, size_t count);
/// As `write_or_drop`, interleaving `channel_count` planar buffers of `frames` samples each
/// straight into the ring (JACK delivers one buffer per port). `channel_count` must equal the
/// ring's frame size. Returns the frames written.
size_t CAudioCapture_ring_write_planar_or_drop(CAudioCapture_ring *ring, const float *const *planes,
                                               uint32_t channel_count, size_t frames);
/// Space for the producer, in samples (whole frames), 0...capacity. Any thread: the indices are read
/// so that a concurrent producer and consumer cannot push it out of range (ring.c, `used_samples`).
size_t CAudioCapture_ring_writable(const CAudioCapture_ring *ring);
/// Marks the end of the stream: the reader drains what is left and then sees the ring closed.
/// Called by the producer after its last write (or after the producer has been stopped).
void CAudioCapture_ring_close(CAudioCapture_ring *ring);

// Consumer side (one thread).

/// Copies up to `max_count` samples (rounded down to whole frames) into `dst`; returns the count.
size_t CAudioCapture_ring_read(CAudioCapture_ring *ring, float *dst, size_t max_count);
/// Samples ready for the reader, 0...capacity. Any thread, as `writable`; `capacity - readable`,
/// rounded down to whole frames, is `writable` at the same instant.
size_t CAudioCapture_ring_readable(const CAudioCapture_ring *ring);
/// True once `close` has run. Read it before `read`: if the ring was closed before a read that
/// returned nothing, the stream has ended (everything written before `close` is visible).
int CAudioCapture_ring_is_closed(const CAudioCapture_ring *ring);

// Counters (any thread, relaxed: exact once both sides are quiet).

uint64_t CAudioCapture_ring_written_samples(const CAudioCapture_ring *ring);
uint64_t CAudioCapture_ring_read_samples(const CAudioCapture_ring *ring);
uint64_t CAudioCapture_ring_dropped_samples(const CAudioCapture_ring *ring);
uint64_t CAudioCapture_ring_overrun_events(const CAudioCapture_ring *ring);
/// CLOCK_MONOTONIC time of the producer's last write, in nanoseconds (0 before the first).
uint64_t CAudioCapture_ring_last_write_ns(const CAudioCapture_ring *ring);

/// CLOCK_MONOTONIC now, in nanoseconds.
uint64_t CAudioCapture_monotonic_ns(void);
/// Names the calling thread (first 15 bytes; shown by top -H, gdb, /proc/PID/task/TID/comm).
void CAudioCapture_name_current_thread(const char *name);

// MARK: JACK

struct _jack_client;
struct _jack_port;

enum { CAudioCapture_jack_max_ports = 64 };

/// What the JACK callbacks need, in one block allocated by `CAudioCapture_jack_create` (opaque to
/// Swift: its atomics cannot cross into Swift). The process callback reads the ring and the port
/// list; `install` sets them before `jack_activate` and they do not change while the client is active.
/// The shutdown callback only sets a flag: the Swift supervisor thread closes the client later,
/// never inside the callback (jack2 issue 395).
typedef struct CAudioCapture_jack CAudioCapture_jack;

CAudioCapture_jack *CAudioCapture_jack_create(void);
void CAudioCapture_jack_destroy(CAudioCapture_jack *bridge);

/// `jack_client_open` with fixed arguments (it is variadic): adds `JackServerName` when
/// `server_name` is not NULL. `status` receives the `jack_status_t` bits.
struct _jack_client *CAudioCapture_jack_client_open(const char *client_name, const char *server_name,
                                                    int no_start_server, int *status);
/// Clears the flags, stores the ring and ports, and installs the process, shutdown,
/// xrun and port-registration callbacks on `client` (call before `jack_activate`). Returns 0 or
/// the first non-zero JACK error code.
int CAudioCapture_jack_install(CAudioCapture_jack *bridge, struct _jack_client *client, CAudioCapture_ring *ring,
                               struct _jack_port *const *ports, uint32_t port_count);
/// Reads and clears a flag (1 if it was set).
int CAudioCapture_jack_take_server_gone(CAudioCapture_jack *bridge);
int CAudioCapture_jack_take_ports_changed(CAudioCapture_jack *bridge);
/// The server's reason for the last shutdown (empty if none), valid after `take_server_gone` returned 1.
const char *CAudioCapture_jack_shutdown_reason(const CAudioCapture_jack *bridge);
/// Counted since the bridge was created (across clients).
uint64_t CAudioCapture_jack_xruns(const CAudioCapture_jack *bridge);
uint64_t CAudioCapture_jack_process_calls(const CAudioCapture_jack *bridge);
/// "32 bit float mono audio".
const char *CAudioCapture_jack_audio_type(void);
/// Routes libjack's own error and info messages (e.g. "Cannot connect to server socket") to a
/// no-op: process-wide, for callers that report JACK failures themselves.
void CAudioCapture_jack_silence_library_messages(void);

// MARK: PulseAudio

struct pa_stream;
struct pa_context;
struct pa_mainloop;

/// What the PulseAudio callbacks need (opaque, like the JACK block). The callbacks run on the
/// capture thread inside libpulse's main loop (`CAudioCapture_pulse_run`); the counters are read from any thread.
typedef struct CAudioCapture_pulse CAudioCapture_pulse;

/// `ring` may be NULL when only the subscription callback is used.
CAudioCapture_pulse *CAudioCapture_pulse_create(CAudioCapture_ring *ring);
void CAudioCapture_pulse_destroy(CAudioCapture_pulse *bridge);

/// Installs the read callback on `stream` (float32, frames matching the ring's frame size).
void CAudioCapture_pulse_attach_stream(struct pa_stream *stream, CAudioCapture_pulse *bridge);
/// Installs the subscription callback on `context` (the caller subscribes to server events).
void CAudioCapture_pulse_attach_context(struct pa_context *context, CAudioCapture_pulse *bridge);
int CAudioCapture_pulse_take_server_changed(CAudioCapture_pulse *bridge);

/// Why `CAudioCapture_pulse_run` returned.
typedef enum {
    CAudioCapture_pulse_stopped = 0,        ///< `CAudioCapture_pulse_request_stop` was called
    CAudioCapture_pulse_context_lost = 1,   ///< the context left READY (server gone, killed, ...)
    CAudioCapture_pulse_stream_ended = 2,   ///< the record stream failed or was terminated
    CAudioCapture_pulse_server_changed = 3, ///< a server event arrived (only when following server changes)
} CAudioCapture_pulse_outcome;

/// The capture thread's steady state, entirely in C: iterates `mainloop` (blocking in poll) so that the only
/// code running on this thread while audio flows is libpulse's main loop and the read callback (peek, copy
/// into the ring, drop). Returns to the caller only for a stop request, a lost context or stream, or (when
/// `follow_server_changes`) a server event for the caller to act on. Records the calling thread
/// (`CAudioCapture_pulse_loop_thread`).
CAudioCapture_pulse_outcome CAudioCapture_pulse_run(struct pa_mainloop *mainloop, struct pa_context *context,
                                                    struct pa_stream *stream, CAudioCapture_pulse *bridge,
                                                    int follow_server_changes);
/// Makes `CAudioCapture_pulse_run` return (now, or as soon as it is entered); any thread. Wake the main loop
/// with pa_mainloop_wakeup afterwards so a blocked poll sees it.
void CAudioCapture_pulse_request_stop(CAudioCapture_pulse *bridge);
/// The thread that last entered `CAudioCapture_pulse_run` (a pthread_t; 0 before), for tests.
uint64_t CAudioCapture_pulse_loop_thread(const CAudioCapture_pulse *bridge);
/// Read callbacks (one per wake-up with data), memory chunks peeked, bytes copied, holes.
uint64_t CAudioCapture_pulse_deliveries(const CAudioCapture_pulse *bridge);
uint64_t CAudioCapture_pulse_fragments(const CAudioCapture_pulse *bridge);
uint64_t CAudioCapture_pulse_bytes(const CAudioCapture_pulse *bridge);
uint64_t CAudioCapture_pulse_holes(const CAudioCapture_pulse *bridge);

#ifdef __cplusplus
}
#endif
#endif

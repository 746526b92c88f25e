// JACK callbacks for capture. The process callback runs on JACK's real-time thread: it fetches one
// buffer per input port and interleaves them into the ring (no allocation, no locks, no system
// calls besides clock_gettime). The other callbacks run on JACK's notification thread and only set
// flags or bump counters; all decisions (closing the client, reconnecting, re-wiring ports) are
// taken by a normal Swift thread that polls the flags.
#include "CAudioCapture.h"

#include <jack/jack.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct CAudioCapture_jack {
    CAudioCapture_ring *ring;
    uint32_t port_count;
    jack_port_t *ports[CAudioCapture_jack_max_ports];
    _Atomic int server_gone;
    _Atomic int ports_changed;
    _Atomic uint64_t xruns;
    _Atomic uint64_t process_calls;
    char shutdown_reason[256];
};

CAudioCapture_jack *CAudioCapture_jack_create(void) {
    CAudioCapture_jack *bridge = calloc(1, sizeof(CAudioCapture_jack));
    if (!bridge) return NULL;
    atomic_init(&bridge->server_gone, 0);
    atomic_init(&bridge->ports_changed, 0);
    atomic_init(&bridge->xruns, 0);
    atomic_init(&bridge->process_calls, 0);
    return bridge;
}

void CAudioCapture_jack_destroy(CAudioCapture_jack *bridge) { free(bridge); }

jack_client_t *CAudioCapture_jack_client_open(const char *client_name, const char *server_name,
                                              int no_start_server, int *status) {
    jack_options_t options = no_start_server ? JackNoStartServer : JackNullOption;
    jack_status_t result = 0;
    jack_client_t *client;
    if (server_name) {
        client = jack_client_open(client_name, options | JackServerName, &result, server_name);
    } else {
        client = jack_client_open(client_name, options, &result);
    }
    if (status) *status = (int)result;
    return client;
}

static int process(jack_nframes_t frames, void *arg) {
    CAudioCapture_jack *bridge = arg;
    const float *planes[CAudioCapture_jack_max_ports];
    uint32_t count = bridge->port_count;
    for (uint32_t i = 0; i < count; i++) {
        planes[i] = (const float *)jack_port_get_buffer(bridge->ports[i], frames);
    }
    CAudioCapture_ring_write_planar_or_drop(bridge->ring, planes, count, frames);
    atomic_fetch_add_explicit(&bridge->process_calls, 1, memory_order_relaxed);
    return 0;
}

static void shutdown_with_reason(jack_status_t code, const char *reason, void *arg) {
    (void)code;
    CAudioCapture_jack *bridge = arg;
    // Written before the flag is released; the reader acquires the flag before reading it.
    size_t length = reason ? strnlen(reason, sizeof bridge->shutdown_reason - 1) : 0;
    if (length) memcpy(bridge->shutdown_reason, reason, length);
    bridge->shutdown_reason[length] = '\0';
    atomic_store_explicit(&bridge->server_gone, 1, memory_order_release);
}

static int xrun(void *arg) {
    CAudioCapture_jack *bridge = arg;
    atomic_fetch_add_explicit(&bridge->xruns, 1, memory_order_relaxed);
    return 0;
}

static void port_registration(jack_port_id_t port, int registered, void *arg) {
    (void)port;
    (void)registered;
    CAudioCapture_jack *bridge = arg;
    atomic_store_explicit(&bridge->ports_changed, 1, memory_order_release);
}

int CAudioCapture_jack_install(CAudioCapture_jack *bridge, jack_client_t *client, CAudioCapture_ring *ring,
                               jack_port_t *const *ports, uint32_t port_count) {
    if (port_count == 0 || port_count > CAudioCapture_jack_max_ports) return -1;
    if (CAudioCapture_ring_frame_samples(ring) != port_count) return -1;
    bridge->ring = ring;
    bridge->port_count = port_count;
    for (uint32_t i = 0; i < port_count; i++) bridge->ports[i] = ports[i];
    bridge->shutdown_reason[0] = '\0';
    atomic_store_explicit(&bridge->server_gone, 0, memory_order_relaxed);
    atomic_store_explicit(&bridge->ports_changed, 0, memory_order_relaxed);
    int error = jack_set_process_callback(client, process, bridge);
    if (error) return error;
    jack_on_info_shutdown(client, shutdown_with_reason, bridge);
    error = jack_set_xrun_callback(client, xrun, bridge);
    if (error) return error;
    return jack_set_port_registration_callback(client, port_registration, bridge);
}

int CAudioCapture_jack_take_server_gone(CAudioCapture_jack *bridge) {
    return atomic_exchange_explicit(&bridge->server_gone, 0, memory_order_acq_rel);
}

int CAudioCapture_jack_take_ports_changed(CAudioCapture_jack *bridge) {
    return atomic_exchange_explicit(&bridge->ports_changed, 0, memory_order_acq_rel);
}

const char *CAudioCapture_jack_shutdown_reason(const CAudioCapture_jack *bridge) { return bridge->shutdown_reason; }

uint64_t CAudioCapture_jack_xruns(const CAudioCapture_jack *bridge) {
    return atomic_load_explicit(&((CAudioCapture_jack *)bridge)->xruns, memory_order_relaxed);
}

uint64_t CAudioCapture_jack_process_calls(const CAudioCapture_jack *bridge) {
    return atomic_load_explicit(&((CAudioCapture_jack *)bridge)->process_calls, memory_order_relaxed);
}

const char *CAudioCapture_jack_audio_type(void) { return JACK_DEFAULT_AUDIO_TYPE; }

static void quiet(const char *message) { (void)message; }

void CAudioCapture_jack_silence_library_messages(void) {
    jack_set_error_function(quiet);
    jack_set_info_function(quiet);
}

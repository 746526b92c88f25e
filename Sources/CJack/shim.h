// JACK: jack_client_open is variadic and cannot be called from Swift; this wrapper fixes its arguments.
#include <jack/jack.h>
#include <jack/ringbuffer.h>

static inline jack_client_t *CJack_client_open(const char *name, jack_options_t options, jack_status_t *status) {
    return jack_client_open(name, options, status);
}

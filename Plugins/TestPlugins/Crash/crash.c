// Test plugin: crashes on its `after=`-th event (default 3): `how=segv` (default, a write through a
// NULL pointer) or `how=abort`; on the host's thread (default) or `on=thread`, a thread of its own,
// where only the faulting instruction's address can tell the host whose code it was.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "muscaps_plugin.h"

typedef struct {
    long after, seen;
    int abort_instead, own_thread;
} crash_output;

static volatile int *volatile nowhere = NULL;

__attribute__((noinline)) static void crash_now(int abort_instead) {
    if (abort_instead) abort();
    *nowhere = 42; // SIGSEGV
}

static void *crash_thread(void *context) {
    crash_now(*(int *)context);
    return NULL;
}

static void *create(const muscaps_plugin_config *config, char *error, size_t error_size) {
    (void)error, (void)error_size;
    crash_output *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->after = 3;
    for (size_t i = 0; i < config->entry_count; i++) {
        const char *key = config->entries[i].key, *value = config->entries[i].value;
        if (strcmp(key, "after") == 0) self->after = strtol(value, NULL, 10);
        else if (strcmp(key, "how") == 0) self->abort_instead = strcmp(value, "abort") == 0;
        else if (strcmp(key, "on") == 0) self->own_thread = strcmp(value, "thread") == 0;
    }
    return self;
}
static int emit(void *instance, const muscaps_event *event, char *error, size_t error_size) {
    (void)event, (void)error, (void)error_size;
    crash_output *self = instance;
    if (++self->seen < self->after) return 0;
    if (self->own_thread) {
        pthread_t thread;
        pthread_create(&thread, NULL, crash_thread, &self->abort_instead);
        pthread_join(thread, NULL);
    }
    crash_now(self->abort_instead);
    return 0;
}
static int flush(void *instance, char *error, size_t error_size) { (void)instance, (void)error, (void)error_size; return 0; }
static void destroy(void *instance) { free(instance); }

static const muscaps_plugin_desc descriptor = {
    .abi_version = MUSCAPS_PLUGIN_ABI_VERSION, .struct_size = sizeof(muscaps_plugin_desc), .name = "crash",
    .version = "0", .description = "test: crashes on the Nth event", .create = create, .emit = emit, .flush = flush,
    .destroy = destroy,
};
MUSCAPS_PLUGIN_EXPORT const muscaps_plugin_desc *muscaps_plugin_descriptor(void) { return &descriptor; }

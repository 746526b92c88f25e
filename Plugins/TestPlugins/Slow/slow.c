// Test plugin: takes `delay_ms` (default 50) for every event, like a plugin writing to a slow network
// share. The host must drop (and count) this output's events rather than make the emitter wait.
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "muscaps_plugin.h"

typedef struct {
    long delay_ms;
} slow_output;

static void *create(const muscaps_plugin_config *config, char *error, size_t error_size) {
    (void)error, (void)error_size;
    slow_output *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    self->delay_ms = 50;
    for (size_t i = 0; i < config->entry_count; i++)
        if (strcmp(config->entries[i].key, "delay_ms") == 0) self->delay_ms = strtol(config->entries[i].value, NULL, 10);
    return self;
}
static int emit(void *instance, const muscaps_event *event, char *error, size_t error_size) {
    (void)event, (void)error, (void)error_size;
    slow_output *self = instance;
    struct timespec delay = {self->delay_ms / 1000, (self->delay_ms % 1000) * 1000000L};
    while (nanosleep(&delay, &delay) != 0) {}
    return 0;
}
static int flush(void *instance, char *error, size_t error_size) { (void)instance, (void)error, (void)error_size; return 0; }
static void destroy(void *instance) { free(instance); }

static const muscaps_plugin_desc descriptor = {
    .abi_version = MUSCAPS_PLUGIN_ABI_VERSION, .struct_size = sizeof(muscaps_plugin_desc), .name = "slow",
    .version = "0", .description = "test: sleeps for every event", .create = create, .emit = emit, .flush = flush,
    .destroy = destroy,
};
MUSCAPS_PLUGIN_EXPORT const muscaps_plugin_desc *muscaps_plugin_descriptor(void) { return &descriptor; }

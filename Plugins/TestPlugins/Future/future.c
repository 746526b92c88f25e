// Test plugin: built against a hypothetical NEWER header whose descriptor has an extra field appended
// (so its struct_size is larger than the host's) and whose event has a field the host does not send.
// The host must load it and use only the ABI-1 prefix; the plugin must not read the missing event field.
// With `out=PATH` it writes "events=N newer_field_seen=M" there when destroyed.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "muscaps_plugin.h"

// What a future version of muscaps_plugin.h might declare: the same prefix plus appended fields.
typedef struct {
    muscaps_plugin_desc v1;
    int (*reconfigure)(void *instance, const muscaps_plugin_config *config, char *error, size_t error_size);
    uint64_t capabilities;
} future_descriptor;

typedef struct {
    muscaps_event v1;
    double confidence; // a field an ABI-1 host does not provide
} future_event;

typedef struct {
    unsigned long events, newer_field_seen;
    char *out;
} future_output;

static void *create(const muscaps_plugin_config *config, char *error, size_t error_size) {
    (void)error, (void)error_size;
    future_output *self = calloc(1, sizeof *self);
    for (size_t i = 0; self && i < config->entry_count; i++)
        if (strcmp(config->entries[i].key, "out") == 0) self->out = strdup(config->entries[i].value);
    return self;
}
static int emit(void *instance, const muscaps_event *event, char *error, size_t error_size) {
    (void)error, (void)error_size;
    future_output *self = instance;
    self->events++;
    const future_event *newer = (const future_event *)event;
    if (MUSCAPS_HAS_FIELD(event, future_event, confidence) && newer->confidence >= 0) self->newer_field_seen++;
    return 0;
}
static int flush(void *instance, char *error, size_t error_size) { (void)instance, (void)error, (void)error_size; return 0; }
static int reconfigure(void *instance, const muscaps_plugin_config *config, char *error, size_t error_size) {
    (void)instance, (void)config, (void)error, (void)error_size;
    return 0;
}
static void destroy(void *instance) {
    future_output *self = instance;
    if (self->out) {
        FILE *f = fopen(self->out, "w");
        if (f) fprintf(f, "events=%lu newer_field_seen=%lu\n", self->events, self->newer_field_seen), fclose(f);
        free(self->out);
    }
    free(self);
}

static const future_descriptor descriptor = {
    .v1 = {.abi_version = MUSCAPS_PLUGIN_ABI_VERSION, .struct_size = sizeof(future_descriptor), .name = "future",
           .version = "2.0.0", .description = "test: descriptor from a newer header",
           .create = create, .emit = emit, .flush = flush, .destroy = destroy},
    .reconfigure = reconfigure,
    .capabilities = 0xFFFF,
};
MUSCAPS_PLUGIN_EXPORT const muscaps_plugin_desc *muscaps_plugin_descriptor(void) { return &descriptor.v1; }

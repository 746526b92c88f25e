// Test plugin: never returns from one of its functions, `at=emit` (default: the first event), `flush`,
// `destroy` or `create`. The emitter must not notice; shutdown must give up on it within its timeout.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "muscaps_plugin.h"

typedef struct {
    char at[16];
} hang_output;

static void hang_forever(void) {
    for (;;) sleep(3600);
}

static void *create(const muscaps_plugin_config *config, char *error, size_t error_size) {
    (void)error, (void)error_size;
    hang_output *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    strcpy(self->at, "emit");
    for (size_t i = 0; i < config->entry_count; i++)
        if (strcmp(config->entries[i].key, "at") == 0) strncpy(self->at, config->entries[i].value, sizeof self->at - 1);
    if (strcmp(self->at, "create") == 0) hang_forever();
    return self;
}
static int emit(void *instance, const muscaps_event *event, char *error, size_t error_size) {
    (void)event, (void)error, (void)error_size;
    if (strcmp(((hang_output *)instance)->at, "emit") == 0) hang_forever();
    return 0;
}
static int flush(void *instance, char *error, size_t error_size) {
    (void)error, (void)error_size;
    if (strcmp(((hang_output *)instance)->at, "flush") == 0) hang_forever();
    return 0;
}
static void destroy(void *instance) {
    if (strcmp(((hang_output *)instance)->at, "destroy") == 0) hang_forever();
    free(instance);
}

static const muscaps_plugin_desc descriptor = {
    .abi_version = MUSCAPS_PLUGIN_ABI_VERSION, .struct_size = sizeof(muscaps_plugin_desc), .name = "hang",
    .version = "0", .description = "test: never returns", .create = create, .emit = emit, .flush = flush,
    .destroy = destroy,
};
MUSCAPS_PLUGIN_EXPORT const muscaps_plugin_desc *muscaps_plugin_descriptor(void) { return &descriptor; }

// Test plugin: built for an ABI this host does not speak. The host must refuse it.
#include "muscaps_plugin.h"

static void *create(const muscaps_plugin_config *config, char *error, size_t error_size) {
    (void)config, (void)error, (void)error_size;
    return (void *)1;
}
static int emit(void *instance, const muscaps_event *event, char *error, size_t error_size) {
    (void)instance, (void)event, (void)error, (void)error_size;
    return 0;
}
static int flush(void *instance, char *error, size_t error_size) { (void)instance, (void)error, (void)error_size; return 0; }
static void destroy(void *instance) { (void)instance; }

static const muscaps_plugin_desc descriptor = {
    .abi_version = 99, .struct_size = sizeof(muscaps_plugin_desc), .name = "wrongabi", .version = "0",
    .description = "test: wrong ABI version", .create = create, .emit = emit, .flush = flush, .destroy = destroy,
};
MUSCAPS_PLUGIN_EXPORT const muscaps_plugin_desc *muscaps_plugin_descriptor(void) { return &descriptor; }

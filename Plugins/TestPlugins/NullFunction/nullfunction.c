// Test plugin: a descriptor whose flush function pointer is NULL. The host must refuse it at load time
// rather than crash when it first flushes.
#include "muscaps_plugin.h"

static void *create(const muscaps_plugin_config *config, char *error, size_t error_size) {
    (void)config, (void)error, (void)error_size;
    return (void *)1;
}
static int emit(void *instance, const muscaps_event *event, char *error, size_t error_size) {
    (void)instance, (void)event, (void)error, (void)error_size;
    return 0;
}
static void destroy(void *instance) { (void)instance; }

static const muscaps_plugin_desc descriptor = {
    .abi_version = MUSCAPS_PLUGIN_ABI_VERSION, .struct_size = sizeof(muscaps_plugin_desc),
    .name = "nullfunction", .version = "0", .description = "test: NULL flush",
    .create = create, .emit = emit, .flush = NULL, .destroy = destroy,
};
MUSCAPS_PLUGIN_EXPORT const muscaps_plugin_desc *muscaps_plugin_descriptor(void) { return &descriptor; }

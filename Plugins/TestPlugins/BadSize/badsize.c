// Test plugin: its descriptor claims to be smaller than the ABI-1 descriptor (it cannot hold the
// function pointers the host would read). The host must refuse it.
#include "muscaps_plugin.h"

static const muscaps_plugin_desc descriptor = {
    .abi_version = MUSCAPS_PLUGIN_ABI_VERSION, .struct_size = 24, .name = "badsize", .version = "0",
    .description = "test: struct_size too small",
};
MUSCAPS_PLUGIN_EXPORT const muscaps_plugin_desc *muscaps_plugin_descriptor(void) { return &descriptor; }

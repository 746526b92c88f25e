// Test plugin: a shared library that does not export muscaps_plugin_descriptor (a typo in the symbol
// name, or not a plugin at all). The host must refuse it.
#include "muscaps_plugin.h"

MUSCAPS_PLUGIN_EXPORT int muscaps_plugin_descripter(void) { return 42; }

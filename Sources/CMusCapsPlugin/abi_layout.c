// Compile-time checks of the plugin ABI's layout on the platforms MusCaps Live supports (LP64 Linux:
// x86_64, aarch64). A change that trips one of these is an ABI break: bump MUSCAPS_PLUGIN_ABI_VERSION.
// This file defines no symbols (a C target needs one source file); it is linked into the host and
// into every plugin built in this package.
#include "muscaps_plugin.h"

#if defined(__LP64__)
_Static_assert(sizeof(muscaps_tag) == 16, "muscaps_tag is frozen for ABI 1");
_Static_assert(sizeof(muscaps_config_entry) == 16, "muscaps_config_entry is frozen for ABI 1");
_Static_assert(offsetof(muscaps_event, id) == 8, "muscaps_event layout changed");
_Static_assert(offsetof(muscaps_event, t0) == 16, "muscaps_event layout changed");
_Static_assert(offsetof(muscaps_event, text) == 40, "muscaps_event layout changed");
_Static_assert(offsetof(muscaps_event, final) == 80, "muscaps_event layout changed");
_Static_assert(MUSCAPS_EVENT_V1_SIZE == 88, "muscaps_event ABI-1 size is 88");
_Static_assert(offsetof(muscaps_event, caption_error) == 88 && sizeof(muscaps_event) == 96, "muscaps_event appended fields");
_Static_assert(MUSCAPS_PLUGIN_CONFIG_V1_SIZE == 40, "muscaps_plugin_config ABI-1 size is 40");
_Static_assert(offsetof(muscaps_plugin_config, dbus_connection) == 40 && sizeof(muscaps_plugin_config) == 56,
               "muscaps_plugin_config: the D-Bus fields follow the ABI-1 prefix");
_Static_assert(MUSCAPS_PLUGIN_DESCRIPTOR_V1_SIZE == 64, "muscaps_plugin_desc ABI-1 size is 64");
#endif

#ifndef MUSCAPS_HOST_H
#define MUSCAPS_HOST_H
// Host side of the plugin ABI, in C because Swift cannot promise what a signal handler needs (no
// allocation, no locks, no reference counting): crash attribution and the guarded plugin calls.
//
// Crash attribution: every call into a plugin goes through muscaps_host_call_*, which stores the
// caller's label (a C string the caller keeps alive, allocated once per output) and the function's
// name in thread-local pointers for the duration of the call. The fatal-signal handler (SIGSEGV,
// SIGBUS, SIGABRT, SIGFPE, SIGILL; SA_ONSTACK on a per-thread sigaltstack so a stack overflow can
// be reported) writes one line naming that label with write(2) only, then lets the signal take its
// default action (or the action installed before ours: Swift's backtracer), so the process still
// dies by the signal, dumps core and is seen as crashed by systemd.
#include <stddef.h>
#include <stdint.h>
#include "muscaps_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Installs the fatal-signal handler once per process (later calls do nothing) and gives the calling
/// thread an alternate signal stack. With `chain` != 0, after printing its line the handler hands the
/// signal to whatever handler was installed before (e.g. Swift's runtime backtracer, which prints a
/// backtrace and then dies by the signal); with 0 it restores SIG_DFL directly. Returns 0 or errno.
int muscaps_host_install_crash_handler(int chain);

/// Whether the handler is installed (for tests and `--version`-style diagnostics).
int muscaps_host_crash_handler_installed(void);

/// Gives the calling thread its own alternate signal stack (each plugin worker calls this first),
/// so a stack overflow in a plugin is still reported. Returns 0 or errno. Idempotent per thread.
int muscaps_host_thread_prepare(void);

/// Removes and frees the calling thread's alternate signal stack (call before the thread exits).
void muscaps_host_thread_finish(void);

/// Records the code ranges of the shared object containing `address_in_image` (any symbol of the
/// plugin), so a crash on a thread that is NOT in a host call (a thread the plugin started itself) can
/// still be attributed by the faulting instruction's address. `label` is copied. Returns 0, or -1 when
/// the table (64 images) is full or the address belongs to no loaded object.
int muscaps_host_register_image(const void *address_in_image, const char *label);

/// Calls the plugin's exported descriptor function under the crash guard.
const muscaps_plugin_desc *muscaps_host_call_descriptor(const char *label, const void *symbol);

/// Guarded calls: set the thread's crash label to `label` (kept alive by the caller) and the call
/// name, call the plugin, clear both. `error` must hold at least `error_size` >= 1 bytes; it is set
/// to "" before the call and NUL-terminated after it.
void *muscaps_host_call_create(const char *label, const muscaps_plugin_desc *descriptor,
                               const muscaps_plugin_config *config, char *error, size_t error_size);
int muscaps_host_call_emit(const char *label, const muscaps_plugin_desc *descriptor, void *instance,
                           const muscaps_event *event, char *error, size_t error_size);
int muscaps_host_call_flush(const char *label, const muscaps_plugin_desc *descriptor, void *instance,
                            char *error, size_t error_size);
void muscaps_host_call_destroy(const char *label, const muscaps_plugin_desc *descriptor, void *instance);

#ifdef __cplusplus
}
#endif

#endif

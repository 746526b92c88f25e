/*
 * muscaps_plugin.h — the MusCaps Live output-plugin ABI.
 *
 * This header IS the contract between the daemon (`muscapsd`, or any other host such as
 * `muscaps-plugin-probe`) and an output plugin: a shared library that receives caption events and
 * writes them somewhere (a terminal, a subtitle file, a socket, a light show...). It is plain C99,
 * has no dependencies beyond <stddef.h>/<stdint.h>, and may be copied into a plugin's own source tree.
 *
 * ---------------------------------------------------------------------------------------------------
 * 1. Shape of a plugin
 * ---------------------------------------------------------------------------------------------------
 * A plugin is a shared library (`libmuscaps-plugin-<name>.so`) that exports exactly ONE symbol:
 *
 *     MUSCAPS_PLUGIN_EXPORT const muscaps_plugin_desc *muscaps_plugin_descriptor(void);
 *
 * which returns a pointer to a descriptor in static storage (valid for the life of the process; the
 * host never unloads a plugin). The descriptor names the plugin and carries four function pointers:
 *
 *     create(config)          -> instance       one output, configured by key=value pairs
 *     emit(instance, event)   -> 0 / error       one caption event
 *     flush(instance)         -> 0 / error       make everything emitted so far durable/visible
 *     destroy(instance)                          flush what is left, release everything
 *
 * The same plugin may be instantiated several times (e.g. two `file` outputs writing VTT and SRT);
 * keep all state in the instance.
 *
 * ---------------------------------------------------------------------------------------------------
 * 2. Versioning and forward compatibility
 * ---------------------------------------------------------------------------------------------------
 * - MUSCAPS_PLUGIN_ABI_VERSION is a MAJOR version. It changes only for incompatible changes
 *   (a field removed, retyped or moved, a semantic change). A host loads only plugins whose
 *   descriptor->abi_version equals its own, and refuses the others with a message naming the file.
 * - Compatible additions APPEND fields to the end of a struct; every extensible struct starts
 *   with `struct_size`, set by whoever filled the struct to sizeof() of the struct as *it* was
 *   compiled. The reader uses only the prefix both sides know:
 *     * The host refuses a descriptor whose struct_size is below MUSCAPS_PLUGIN_DESCRIPTOR_V1_SIZE,
 *       and ignores descriptor fields beyond struct_size (a plugin built against an older header
 *       simply has none of the newer fields).
 *     * The host passes events/configs with struct_size = sizeof() in the host's header. A plugin
 *       built against an OLDER header reads its known prefix and ignores the rest — nothing to do.
 *       A plugin built against a NEWER header must check MUSCAPS_HAS_FIELD() before reading a
 *       field that an older host might not provide.
 *     * A plugin may refuse (create() returns NULL) a config whose struct_size is below
 *       MUSCAPS_PLUGIN_CONFIG_V1_SIZE; the reference plugins do.
 * - muscaps_tag and muscaps_config_entry are array elements and therefore FROZEN for a given
 *   ABI major version (their stride must not change).
 *
 * ---------------------------------------------------------------------------------------------------
 * 3. Threading contract
 * ---------------------------------------------------------------------------------------------------
 * - Each plugin INSTANCE is driven by ONE dedicated host thread: create, every emit, every flush
 *   and destroy of that instance are called from that same thread, one at a time, never
 *   concurrently. No locking is needed for instance state.
 * - Different instances (of the same or different plugins) run on different threads at the same
 *   time: any state shared between instances (globals, statics) must be thread-safe.
 * - The host blocks SIGPIPE on the instance's thread: writing to a closed pipe or socket fails with
 *   EPIPE (report it as an error) instead of killing the daemon.
 * - Calls may block (write to a slow disk, a network peer): the host feeds each instance through a
 *   bounded queue, so a slow plugin only delays ITSELF — when its queue is full the host drops that
 *   instance's oldest queued events and counts them. It never stalls captioning or other outputs.
 * - Shutdown is bounded: the host waits a limited time (a few seconds) for the final
 *   flush/destroy; a plugin that does not return is abandoned (its thread is left behind and the
 *   process exits anyway). Do not rely on destroy() running when the process is killed.
 * - Plugins run in the daemon's process: a crash in a plugin kills the daemon. The host installs
 *   handlers for SIGSEGV/SIGBUS/SIGABRT/SIGFPE/SIGILL that name the plugin running on the crashing
 *   thread, then re-raise the signal with its default action. A plugin must NOT install signal
 *   handlers, call exit(), change process-wide state (locale, cwd, umask, rlimits, signal masks of
 *   other threads) or close file descriptors it did not open.
 *
 * ---------------------------------------------------------------------------------------------------
 * 4. Memory and strings
 * ---------------------------------------------------------------------------------------------------
 * - Every pointer passed IN by the host (config, entries, event, text, tags, model) is owned by the
 *   host and valid only for the duration of that call: copy what you keep.
 * - All strings are NUL-terminated UTF-8, never NULL (possibly empty "").
 * - Errors: create/emit/flush receive a host buffer `error` of `error_size` bytes (error_size >= 1,
 *   already holding ""). On failure write a one-line, NUL-terminated message there (truncate to
 *   fit, no trailing newline) and return NULL (create) or a non-zero value (emit/flush). The host
 *   logs it, prefixed with the output's name; failures of emit/flush are counted and the instance
 *   keeps receiving events (a plugin that wants to give up should do so quietly and keep returning
 *   errors cheaply).
 */
#ifndef MUSCAPS_PLUGIN_H
#define MUSCAPS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Major ABI version: a host loads a plugin only when descriptor->abi_version equals this. */
#define MUSCAPS_PLUGIN_ABI_VERSION 1u

/** The one symbol a plugin exports (for dlsym). */
#define MUSCAPS_PLUGIN_DESCRIPTOR_SYMBOL "muscaps_plugin_descriptor"

/** Marks the descriptor function as exported from the shared library (everything else can stay hidden). */
#if defined(__GNUC__) || defined(__clang__)
#define MUSCAPS_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define MUSCAPS_PLUGIN_EXPORT
#endif

/** True when a struct filled by the other side (its struct_size) contains `field` entirely. */
#define MUSCAPS_HAS_FIELD(ptr, type, field) \
    ((size_t)(ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* ================================================================================================
 * Events
 * ================================================================================================ */

/** What an event describes (muscaps_event.kind). Unknown future kinds must be ignored by plugins. */
#define MUSCAPS_EVENT_CAPTION 0u /**< Music was described: text and/or tags. */
#define MUSCAPS_EVENT_SILENCE 1u /**< The span was below the silence threshold: no text, no tags. */
#define MUSCAPS_EVENT_STATUS  2u /**< Daemon status for humans (text), e.g. "capture source lost";
                                      t0/t1 are the media time when it happened (t0 == t1). */

/** One tag and its probability. FROZEN for ABI 1 (array element). */
typedef struct muscaps_tag {
    const char *name; /**< Tag name from the model's vocabulary, e.g. "piano". UTF-8, never NULL. */
    float score;      /**< Probability in [0, 1] (sigmoid output of the tagger). */
} muscaps_tag;

/**
 * A caption event. Filled by the host; valid only during emit().
 *
 * Identity and `final`: a caption that stays the same across consecutive analysis windows is ONE
 * caption whose end time grows. The host announces it as soon as it appears (final = 0, the span
 * seen so far) and sends it again with the same `id` and its full span when it is over (final = 1).
 * Revisions of one id always have the same t0 and text; only t1 (and possibly tags) change.
 * Every id eventually gets exactly one final revision, unless the daemon dies. Outputs that cannot
 * revise what they wrote (subtitle files) use final events only; live displays may show the
 * non-final ones. A producer that does not merge sends each event once with final = 1.
 */
typedef struct muscaps_event {
    uint32_t struct_size;       /**< sizeof(muscaps_event) as the host was compiled. */
    uint32_t kind;              /**< MUSCAPS_EVENT_CAPTION / _SILENCE / _STATUS. */
    uint64_t id;                /**< Caption identity, > 0, increasing; revisions share it. */
    double t0;                  /**< Start, media time: seconds since the capture (or file) started. */
    double t1;                  /**< End, media time, seconds; t1 >= t0. */
    int64_t wall_start_ns;      /**< Wall-clock time of t0: nanoseconds since the Unix epoch (UTC). */
    const char *text;           /**< Caption text, UTF-8; "" when the daemon only tags (or for silence). */
    const muscaps_tag *tags;    /**< Top tags, highest score first; NULL only when tag_count == 0. */
    size_t tag_count;           /**< Number of entries in `tags` (0 for silence/status). */
    const char *model;          /**< Id of the model that produced the event, e.g. "musicnn-mtt"; may be "". */
    double latency_ms;          /**< Milliseconds from the end of the audio span to this event's
                                     creation (capture + inference delay); 0 when unknown. */
    uint32_t final;             /**< 1: last revision of this id; 0: more may follow (see above). */
    uint32_t reserved0;         /**< 0; keeps the struct's size a multiple of 8 on every ABI. */
    /* Appended in ABI 1 (after MUSCAPS_EVENT_V1_SIZE): check MUSCAPS_HAS_FIELD before reading. */
    const char *caption_error;  /**< Why the captioning model could not describe this span, one line;
                                     "" when it did (always "" for silence and status). The event then
                                     has tags and no text. */
} muscaps_event;

/** Size of the ABI-1 event: everything up to and including `reserved0`. */
#define MUSCAPS_EVENT_V1_SIZE (offsetof(muscaps_event, reserved0) + sizeof(uint32_t))

/* ================================================================================================
 * Configuration
 * ================================================================================================ */

/** One configuration item. FROZEN for ABI 1 (array element). */
typedef struct muscaps_config_entry {
    const char *key;   /**< e.g. "path", "format", "rotate_bytes"; never NULL. */
    const char *value; /**< Always a string ("" for a bare flag); the plugin parses numbers itself. */
} muscaps_config_entry;

/**
 * The configuration of one output, from the daemon's `--output NAME:ARGS` or its TOML file.
 *
 * `--output NAME:ARGS`: ARGS is a comma-separated list; an item `key=value` (key: letters, digits,
 * '_' and '-', starting with a letter) becomes that entry; any other item is POSITIONAL and becomes
 * an entry with key "arg" (so `file:captions.vtt,fsync=yes` gives arg=captions.vtt, fsync=yes and
 * `stdout:json` gives arg=json). Entries keep their order; a key may repeat. A plugin should
 * reject (create() fails) keys it does not know, naming them, so typos are not silently ignored.
 */
typedef struct muscaps_plugin_config {
    uint32_t struct_size;                /**< sizeof(muscaps_plugin_config) as the host was compiled. */
    uint32_t host_abi_version;           /**< MUSCAPS_PLUGIN_ABI_VERSION of the host. */
    const char *output_name;             /**< This output's name in logs, e.g. "file" or "file#2". */
    const char *host_version;            /**< Host program and version, e.g. "muscapsd 0.2.0". */
    const muscaps_config_entry *entries; /**< NULL only when entry_count == 0. */
    size_t entry_count;
    /* Appended in ABI 1 (after MUSCAPS_PLUGIN_CONFIG_V1_SIZE): check MUSCAPS_HAS_FIELD before reading. */
    void *dbus_connection;               /**< The host's own D-Bus connection, a libdbus `DBusConnection *`,
                                              when it serves a D-Bus interface; NULL otherwise. Borrowed:
                                              take dbus_connection_ref() to keep it, never close it. It is
                                              safe to send on from the instance's thread (libdbus locks);
                                              never read or dispatch on it — the host's bus thread does. */
    const char *dbus_object_path;        /**< The host's object path on that connection, e.g.
                                              "/org/muscaps/Daemon1"; "" when dbus_connection is NULL. */
} muscaps_plugin_config;

/** Size of the ABI-1 config: everything up to and including `entry_count`. */
#define MUSCAPS_PLUGIN_CONFIG_V1_SIZE (offsetof(muscaps_plugin_config, entry_count) + sizeof(size_t))

/* ================================================================================================
 * The descriptor
 * ================================================================================================ */

typedef struct muscaps_plugin_desc {
    uint32_t abi_version; /**< MUSCAPS_PLUGIN_ABI_VERSION the plugin was built against. */
    uint32_t struct_size; /**< sizeof(muscaps_plugin_desc) as the plugin was compiled. */
    const char *name;     /**< Short name, [a-z0-9_-]+, e.g. "file". Shown in every log line and crash report. */
    const char *version;  /**< The plugin's own version, e.g. "1.0.0". */
    const char *description; /**< One line for `--list-outputs`; may be "". */

    /**
     * Creates one output instance. Returns an opaque non-NULL instance, or NULL with a message in
     * `error`. Called on the instance's dedicated thread.
     */
    void *(*create)(const muscaps_plugin_config *config, char *error, size_t error_size);

    /** Handles one event. Returns 0, or non-zero with a message in `error`. */
    int (*emit)(void *instance, const muscaps_event *event, char *error, size_t error_size);

    /**
     * Makes everything emitted so far visible/durable (write out batched cues, fflush, maybe fsync).
     * Called on request (muscapsd: on SIGHUP, for the outputs kept across the reload) and before
     * destroy. Returns 0 or non-zero + error.
     */
    int (*flush)(void *instance, char *error, size_t error_size);

    /** Writes out whatever is still pending and frees the instance. The last call for it. */
    void (*destroy)(void *instance);
} muscaps_plugin_desc;

/** Size of the ABI-1 descriptor: everything up to and including `destroy`. */
#define MUSCAPS_PLUGIN_DESCRIPTOR_V1_SIZE \
    (offsetof(muscaps_plugin_desc, destroy) + sizeof(void (*)(void *)))

/** The type of the exported symbol. */
typedef const muscaps_plugin_desc *(*muscaps_plugin_descriptor_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* MUSCAPS_PLUGIN_H */

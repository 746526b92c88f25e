// The `dbus` output plugin: caption events as D-Bus signals of muscapsd's object.
//
//   --output dbus                 Caption and Silence signals on /org/muscaps/Daemon1, interface org.muscaps.Daemon1
//   --output dbus:interim=no      final revisions only
//
// Signals (documented in Systemd/dbus-1/interfaces/org.muscaps.Daemon1.xml and docs/DBUS.md):
//   Caption(t start_us, t end_us, s text, b final, a{sv} extra) for every caption and silence event
//     (every revision: a caption is announced when it appears and again, final, when it ends);
//     extra: org.muscaps.id (t), org.muscaps.revision (u, 0 for the first revision of an id),
//     org.muscaps.tags (a(sd), best first), org.muscaps.model (s), org.muscaps.latency_ms (d),
//     org.muscaps.silence (b), org.muscaps.wall_start_us (x, microseconds since the Unix epoch).
//   Silence(t start_us) once when the music stops (the first revision of a silence event).
// Status events are not signalled (the daemon's State property carries its state).
//
// Why the daemon's connection and not one of our own: a signal's sender is the connection that sends
// it. Clients follow the daemon by its bus name (match rules with sender='org.muscaps.Daemon1', gdbus
// proxies, `gdbus monitor --dest`), and the bus resolves that name to the unique name of the
// connection that owns it — signals from a second connection of ours would never reach them. So the
// host hands its connection to plugins (muscaps_plugin_config.dbus_connection, appended to the config
// compatibly: older plugins never see it, this one checks it is there). libdbus locks the connection,
// so sending from this instance's thread is safe; only the host's bus thread reads it.
#include "muscaps_plugin.h"
#include "muscaps_plugin_support.h"

#include <dbus/dbus.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MUSCAPS_DBUS_INTERFACE "org.muscaps.Daemon1"

typedef struct {
    DBusConnection *connection;
    char *path;
    int interim;
    uint64_t last_id;      // id of the last event signalled
    uint32_t revision;     // revisions of last_id signalled so far
} dbus_output;

static void *dbus_create(const muscaps_plugin_config *config, char *error, size_t error_size) {
    if (!msp_config_usable(config, error, error_size)) return NULL;
    if (!MUSCAPS_HAS_FIELD(config, muscaps_plugin_config, dbus_object_path) || config->dbus_connection == NULL) {
        msp_error(error, error_size, "no D-Bus connection from the host: the dbus output runs inside muscapsd on a bus "
                                     "(not with --bus none, and not in a host without D-Bus)");
        return NULL;
    }
    int interim = 1;
    for (size_t i = 0; i < config->entry_count; i++) {
        const char *key = config->entries[i].key, *value = config->entries[i].value;
        if (strcmp(key, "interim") == 0) {
            if (msp_parse_bool(key, value, &interim, error, error_size) != 0) return NULL;
        } else {
            msp_error(error, error_size, "unknown option '%s' (known: interim)", strcmp(key, "arg") == 0 ? value : key);
            return NULL;
        }
    }
    dbus_output *self = calloc(1, sizeof *self);
    if (self) self->path = strdup(config->dbus_object_path[0] ? config->dbus_object_path : "/org/muscaps/Daemon1");
    if (!self || !self->path) {
        free(self);
        msp_error(error, error_size, "out of memory");
        return NULL;
    }
    self->interim = interim;
    self->connection = dbus_connection_ref((DBusConnection *)config->dbus_connection);
    return self;
}

static uint64_t microseconds(double seconds) {
    return isfinite(seconds) && seconds > 0 ? (uint64_t)llround(seconds * 1e6) : 0;
}

// One `{sv}` entry of the extra dictionary.
static int append_entry(DBusMessageIter *dict, const char *key, int type, const char *signature, const void *value) {
    DBusMessageIter entry, variant;
    if (!dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry)) return 0;
    if (!dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key)) return 0;
    if (!dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, signature, &variant)) return 0;
    if (!dbus_message_iter_append_basic(&variant, type, value)) return 0;
    return dbus_message_iter_close_container(&entry, &variant) && dbus_message_iter_close_container(dict, &entry);
}

static int append_tags(DBusMessageIter *dict, const muscaps_event *e) {
    DBusMessageIter entry, variant, array, pair;
    const char *key = "org.muscaps.tags";
    if (!dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry)) return 0;
    if (!dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key)) return 0;
    if (!dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, "a(sd)", &variant)) return 0;
    if (!dbus_message_iter_open_container(&variant, DBUS_TYPE_ARRAY, "(sd)", &array)) return 0;
    for (size_t i = 0; i < e->tag_count; i++) {
        const char *name = e->tags[i].name;
        double score = (double)e->tags[i].score;
        if (!dbus_message_iter_open_container(&array, DBUS_TYPE_STRUCT, NULL, &pair)) return 0;
        if (!dbus_message_iter_append_basic(&pair, DBUS_TYPE_STRING, &name)) return 0;
        if (!dbus_message_iter_append_basic(&pair, DBUS_TYPE_DOUBLE, &score)) return 0;
        if (!dbus_message_iter_close_container(&array, &pair)) return 0;
    }
    return dbus_message_iter_close_container(&variant, &array) && dbus_message_iter_close_container(&entry, &variant)
        && dbus_message_iter_close_container(dict, &entry);
}

static int send_caption(dbus_output *self, const muscaps_event *e, uint32_t revision) {
    DBusMessage *signal = dbus_message_new_signal(self->path, MUSCAPS_DBUS_INTERFACE, "Caption");
    if (!signal) return 0;
    DBusMessageIter args, dict;
    dbus_message_iter_init_append(signal, &args);
    dbus_uint64_t start = microseconds(e->t0), end = microseconds(e->t1), id = e->id;
    dbus_bool_t final = e->final ? TRUE : FALSE, silence = e->kind == MUSCAPS_EVENT_SILENCE ? TRUE : FALSE;
    dbus_int64_t wall = e->wall_start_ns / 1000;
    double latency = e->latency_ms;
    const char *text = e->text, *model = e->model;
    int ok = dbus_message_iter_append_basic(&args, DBUS_TYPE_UINT64, &start)
        && dbus_message_iter_append_basic(&args, DBUS_TYPE_UINT64, &end)
        && dbus_message_iter_append_basic(&args, DBUS_TYPE_STRING, &text)
        && dbus_message_iter_append_basic(&args, DBUS_TYPE_BOOLEAN, &final)
        && dbus_message_iter_open_container(&args, DBUS_TYPE_ARRAY, "{sv}", &dict)
        && append_entry(&dict, "org.muscaps.id", DBUS_TYPE_UINT64, "t", &id)
        && append_entry(&dict, "org.muscaps.revision", DBUS_TYPE_UINT32, "u", &revision)
        && append_tags(&dict, e)
        && append_entry(&dict, "org.muscaps.model", DBUS_TYPE_STRING, "s", &model)
        && append_entry(&dict, "org.muscaps.latency_ms", DBUS_TYPE_DOUBLE, "d", &latency)
        && append_entry(&dict, "org.muscaps.silence", DBUS_TYPE_BOOLEAN, "b", &silence)
        && append_entry(&dict, "org.muscaps.wall_start_us", DBUS_TYPE_INT64, "x", &wall)
        && dbus_message_iter_close_container(&args, &dict);
    // dbus_connection_send queues without waiting for the bus (the host's bus thread writes it out).
    ok = ok && dbus_connection_send(self->connection, signal, NULL);
    dbus_message_unref(signal);
    return ok;
}

static int send_silence(dbus_output *self, const muscaps_event *e) {
    DBusMessage *signal = dbus_message_new_signal(self->path, MUSCAPS_DBUS_INTERFACE, "Silence");
    if (!signal) return 0;
    dbus_uint64_t start = microseconds(e->t0);
    DBusMessageIter args;
    dbus_message_iter_init_append(signal, &args);
    int ok = dbus_message_iter_append_basic(&args, DBUS_TYPE_UINT64, &start) && dbus_connection_send(self->connection, signal, NULL);
    dbus_message_unref(signal);
    return ok;
}

static int dbus_emit(void *instance, const muscaps_event *e, char *error, size_t error_size) {
    dbus_output *self = instance;
    if (e->kind != MUSCAPS_EVENT_CAPTION && e->kind != MUSCAPS_EVENT_SILENCE) return 0; // status: see State
    uint32_t revision = 0;
    if (e->id != 0 && e->id == self->last_id) revision = self->revision;
    self->last_id = e->id;
    self->revision = revision + 1;
    if (e->kind == MUSCAPS_EVENT_SILENCE && revision == 0 && !send_silence(self, e)) {
        msp_error(error, error_size, "cannot queue the Silence signal (out of memory or connection closed)");
        return -1;
    }
    if (!e->final && !self->interim) return 0;
    if (!send_caption(self, e, revision)) {
        msp_error(error, error_size, "cannot queue the Caption signal (out of memory or connection closed)");
        return -1;
    }
    return 0;
}

static int dbus_flush(void *instance, char *error, size_t error_size) {
    (void)error, (void)error_size;
    dbus_output *self = instance;
    // Waits (briefly) for the host's bus thread to write out what is queued.
    if (dbus_connection_get_is_connected(self->connection)) dbus_connection_flush(self->connection);
    return 0;
}

static void dbus_destroy(void *instance) {
    dbus_output *self = instance;
    if (dbus_connection_get_is_connected(self->connection)) dbus_connection_flush(self->connection);
    dbus_connection_unref(self->connection);
    free(self->path);
    free(self);
}

static const muscaps_plugin_desc descriptor = {
    .abi_version = MUSCAPS_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(muscaps_plugin_desc),
    .name = "dbus",
    .version = "1.0.0",
    .description = "Caption and Silence signals on the daemon's D-Bus object (org.muscaps.Daemon1)",
    .create = dbus_create,
    .emit = dbus_emit,
    .flush = dbus_flush,
    .destroy = dbus_destroy,
};

MUSCAPS_PLUGIN_EXPORT const muscaps_plugin_desc *muscaps_plugin_descriptor(void) { return &descriptor; }

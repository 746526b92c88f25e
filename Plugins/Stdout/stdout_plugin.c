// The `stdout` output plugin: caption events on standard output (or another open descriptor), as
// human-readable lines or as JSON Lines.
//
//   --output stdout                 [00:12.0–00:15.0] Gentle solo piano waltz — piano 0.83, classical 0.62
//   --output stdout:json            {"t0": 12.000, "t1": 15.000, "kind": "caption", ...} (every revision)
//
// Options: arg/format = text | json; interim = auto | yes | no (text: auto rewrites the current line
// on a terminal with each revision of a live caption and prints only final captions otherwise; json:
// every revision unless interim=no); tags = N (tags shown per text line, default 5); fd = N (write to
// this already-open descriptor instead of 1; it is never closed).
#include "muscaps_plugin.h"
#include "muscaps_plugin_support.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { INTERIM_NO, INTERIM_YES, INTERIM_AUTO };

typedef struct {
    int fd;
    int json;
    int interim;
    int terminal;
    unsigned tags;
    msp_buffer out;
    msp_buffer live; // the non-final line currently shown (terminal mode), to redraw it after a status line
} stdout_output;

static void *stdout_create(const muscaps_plugin_config *config, char *error, size_t error_size) {
    if (!msp_config_usable(config, error, error_size)) return NULL;
    stdout_output *self = calloc(1, sizeof *self);
    if (!self) return msp_error(error, error_size, "out of memory"), NULL;
    self->fd = STDOUT_FILENO;
    self->interim = INTERIM_AUTO;
    self->tags = 5;
    for (size_t i = 0; i < config->entry_count; i++) {
        const char *key = config->entries[i].key, *value = config->entries[i].value;
        int bad = 0;
        if (strcmp(key, "arg") == 0 || strcmp(key, "format") == 0) {
            if (strcmp(value, "json") == 0 || strcmp(value, "jsonl") == 0) self->json = 1;
            else if (strcmp(value, "text") == 0) self->json = 0;
            else msp_error(error, error_size, "unknown format '%s' (expected text or json)", value), bad = 1;
        } else if (strcmp(key, "interim") == 0) {
            int flag = 0;
            if (strcmp(value, "auto") == 0) self->interim = INTERIM_AUTO;
            else if (msp_parse_bool(key, value, &flag, error, error_size) == 0) self->interim = flag ? INTERIM_YES : INTERIM_NO;
            else bad = 1;
        } else if (strcmp(key, "tags") == 0) {
            bad = msp_parse_unsigned(key, value, 0, 50, &self->tags, error, error_size) != 0;
        } else if (strcmp(key, "fd") == 0) {
            unsigned fd = 0;
            bad = msp_parse_unsigned(key, value, 0, 1u << 20, &fd, error, error_size) != 0;
            self->fd = (int)fd;
        } else {
            msp_error(error, error_size, "unknown option '%s' (known: format, interim, tags, fd)", key);
            bad = 1;
        }
        if (bad) return free(self), NULL;
    }
    self->terminal = isatty(self->fd);
    return self;
}

static void append_line(stdout_output *self, msp_buffer *b, const muscaps_event *e) {
    msp_append_char(b, '[');
    msp_append_clock_tenths(b, e->t0);
    if (e->kind == MUSCAPS_EVENT_STATUS) {
        msp_append_string(b, "] status: ");
        msp_append_string(b, e->text);
        return;
    }
    msp_append_string(b, "\xE2\x80\x93"); // en dash
    msp_append_clock_tenths(b, e->t1);
    msp_append_string(b, "] ");
    if (e->kind == MUSCAPS_EVENT_SILENCE) {
        msp_append_string(b, "(silence)");
        return;
    }
    size_t shown = e->tag_count < self->tags ? e->tag_count : self->tags;
    if (e->text[0]) {
        msp_append_string(b, e->text);
        if (shown > 0) msp_append_string(b, " \xE2\x80\x94 "); // em dash
    } else if (shown == 0) {
        msp_append_string(b, "(no caption)");
    }
    for (size_t i = 0; i < shown; i++) {
        if (i > 0) msp_append_string(b, ", ");
        msp_append_string(b, e->tags[i].name);
        msp_append_char(b, ' ');
        msp_append_number(b, (double)e->tags[i].score, "%.2f");
    }
}

static int stdout_emit(void *instance, const muscaps_event *e, char *error, size_t error_size) {
    stdout_output *self = instance;
    msp_buffer *out = &self->out;
    msp_buffer_clear(out);
    int status_event = e->kind == MUSCAPS_EVENT_STATUS;
    if (self->json) {
        if (!e->final && !status_event && self->interim == INTERIM_NO) return 0;
        msp_append_event_json(out, e);
    } else if (self->terminal && self->interim != INTERIM_NO) {
        // Live terminal: a non-final caption is drawn on the current line and redrawn by each revision;
        // the final revision (or a status line) is committed with a newline.
        msp_append_string(out, "\r\x1b[2K");
        if (e->final || status_event) {
            append_line(self, out, e);
            msp_append_char(out, '\n');
            if (status_event && self->live.length > 0) msp_append(out, self->live.data, self->live.length);
            else msp_buffer_clear(&self->live);
        } else {
            msp_buffer_clear(&self->live);
            append_line(self, &self->live, e);
            if (self->live.length > 0) msp_append(out, self->live.data, self->live.length);
        }
    } else {
        if (!e->final && !status_event && self->interim != INTERIM_YES) return 0;
        append_line(self, out, e);
        msp_append_char(out, '\n');
    }
    if (out->failed || self->live.failed) {
        msp_error(error, error_size, "out of memory");
        msp_buffer_free(out);
        msp_buffer_free(&self->live);
        return -1;
    }
    int status = msp_write_all(self->fd, out->data, out->length);
    if (status != 0) {
        msp_error(error, error_size, "write to descriptor %d failed: %s", self->fd, strerror(status));
        return -1;
    }
    return 0;
}

static int stdout_flush(void *instance, char *error, size_t error_size) {
    (void)instance, (void)error, (void)error_size;
    return 0; // every line is written with write(2) as it comes: nothing is buffered here
}

static void stdout_destroy(void *instance) {
    stdout_output *self = instance;
    if (self->live.length > 0) msp_write_all(self->fd, "\n", 1); // leave the live line on screen
    msp_buffer_free(&self->out);
    msp_buffer_free(&self->live);
    free(self);
}

static const muscaps_plugin_desc descriptor = {
    .abi_version = MUSCAPS_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(muscaps_plugin_desc),
    .name = "stdout",
    .version = "1.0.0",
    .description = "caption lines or JSON Lines on standard output",
    .create = stdout_create,
    .emit = stdout_emit,
    .flush = stdout_flush,
    .destroy = stdout_destroy,
};

MUSCAPS_PLUGIN_EXPORT const muscaps_plugin_desc *muscaps_plugin_descriptor(void) { return &descriptor; }

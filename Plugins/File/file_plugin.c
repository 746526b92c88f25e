// The `file` output plugin: captions into a JSON Lines, WebVTT or SRT file.
//
//   --output file:captions.vtt                       WebVTT, format from the extension
//   --output file:captions.srt,fsync=yes             SRT, each cue fsync'ed as written
//   --output file:log.jsonl,rotate_bytes=10M         JSON Lines, a new file every 10 MiB
//   --output file:path=live.txt,format=vtt,rotate=daily
//
// Options
//   arg / path     the file (required); its directory must exist.
//   format         jsonl | vtt | srt; default from the extension (.jsonl .ndjson .json / .vtt / .srt).
//   fsync          yes: fdatasync after every cue/line (default no: written with write(2) as each cue
//                  is complete, so a crash of the daemon loses nothing written; fsync guards against
//                  a crash of the machine). flush() always fdatasyncs.
//   rotate_bytes   start a new file once the current one reaches this size (K/M/G suffixes).
//   rotate         daily: start a new file when the local date changes; none (default).
//   interim        JSON Lines only: also write non-final revisions (default yes; see muscaps_event).
//   line_chars, lines, min_duration, max_duration, tags: the cue rules below.
//
// JSON Lines: one record per event as received (status events too), in LiveCaptioning's format.
//
// WebVTT / SRT: final caption events only (a cue cannot be revised once written; silence and status
// events make no cue: the screen simply clears). Cue rules, after broadcast and accessibility practice:
//   - Music is described in brackets: "[Gentle solo piano waltz]" (first letter capitalised, final
//     period dropped); an event with tags only reads "[Music: piano, classical, slow]" (top `tags`,
//     default 3).
//   - At most `lines` (2) lines of `line_chars` (42) characters, wrapped at spaces; a longer
//     description is split into several cues, its time shared in proportion to their length.
//   - A cue lasts at least `min_duration` (1 s; the next cue starts no earlier than that) and at most
//     `max_duration` (7 s): a longer span shows the same text again in equal parts of at most 7 s.
//   - Identical consecutive captions (gap <= 0.5 s) merge into one cue while it stays within 7 s. To
//     do so the latest single cue (<= 7 s) is held back until the next different caption, flush() or
//     destroy(); everything else is written and flushed to the kernel as soon as it is complete.
//   - Media-time stamps (seconds since capture start) as HH:MM:SS.mmm (VTT) / HH:MM:SS,mmm (SRT).
//
// Files: the current file is always `path`; a rotated one is renamed to <stem>.<stamp><ext> (stamp:
// the local time it was opened, YYYYmmdd-HHMMSS, or its date, YYYY-MM-DD, for rotate=daily; "-N"
// appended if taken). Every file is complete on its own: a WebVTT file starts with its header and
// SRT numbering starts at 1. An existing non-empty VTT/SRT file at `path` is rotated away on start
// (a second header or restarted numbering would make it invalid); JSON Lines files are appended to.
#define _GNU_SOURCE
#include "muscaps_plugin.h"
#include "muscaps_plugin_support.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { FORMAT_UNKNOWN, FORMAT_JSONL, FORMAT_VTT, FORMAT_SRT };
#define MERGE_GAP 0.5

typedef struct {
    size_t start, length, chars;
} text_span;

typedef struct {
    // destination
    char *path, *prefix, *stem, *extension; // prefix: directory part with its '/', may be ""
    int format, fd;
    uint64_t bytes, rotate_bytes;
    int rotate_daily, fsync_each, interim;
    time_t opened_at;
    long opened_day;
    unsigned srt_index;
    // cue rules
    unsigned line_chars, max_lines, tags;
    double min_duration, max_duration;
    // the cue held back for merging
    int has_pending;
    double pending_t0, pending_t1;
    msp_buffer pending_label;
    double last_end; // end of the last cue written
    // the caption announced (final = 0) but not yet finalised, written by destroy() if it never is
    int has_open;
    uint64_t open_id;
    double open_t0, open_t1;
    msp_buffer open_label;
    // scratch
    msp_buffer out, label;
    text_span *lines;
    size_t line_capacity;
} file_output;

// MARK: - Paths and opening

static long local_day(time_t t) {
    struct tm tm;
    localtime_r(&t, &tm);
    return (tm.tm_year + 1900L) * 10000L + (tm.tm_mon + 1) * 100L + tm.tm_mday;
}

static int split_path(file_output *self) {
    const char *slash = strrchr(self->path, '/');
    const char *base = slash ? slash + 1 : self->path;
    const char *dot = strrchr(base, '.');
    if (dot == base) dot = NULL; // ".vtt" is a name, not an extension
    self->prefix = strndup(self->path, (size_t)(base - self->path));
    self->stem = dot ? strndup(base, (size_t)(dot - base)) : strdup(base);
    self->extension = strdup(dot ? dot : "");
    return self->prefix && self->stem && self->extension ? 0 : -1;
}

/// The name a rotated file gets: <prefix><stem>.<stamp>[-N]<extension>, not yet taken.
static char *rotated_name(const file_output *self, time_t opened) {
    char stamp[32];
    struct tm tm;
    localtime_r(&opened, &tm);
    strftime(stamp, sizeof stamp, self->rotate_daily ? "%Y-%m-%d" : "%Y%m%d-%H%M%S", &tm);
    for (int n = 0; n < 10000; n++) {
        msp_buffer name = {0};
        msp_append_format(&name, "%s%s.%s", self->prefix, self->stem, stamp);
        if (n > 0) msp_append_format(&name, "-%d", n);
        msp_append_string(&name, self->extension);
        struct stat st;
        if (name.failed) return msp_buffer_free(&name), NULL;
        if (lstat(name.data, &st) != 0 && errno == ENOENT) return name.data;
        msp_buffer_free(&name);
    }
    return NULL;
}

static int write_bytes(file_output *self, const char *bytes, size_t count, char *error, size_t error_size) {
    int status = msp_write_all(self->fd, bytes, count);
    if (status == 0 && self->fsync_each) status = fdatasync(self->fd) == 0 ? 0 : errno;
    if (status != 0) {
        msp_error(error, error_size, "cannot write %s: %s", self->path, strerror(status));
        close(self->fd);
        self->fd = -1; // reopened (appending) by the next write
        return -1;
    }
    self->bytes += count;
    return 0;
}

/// Opens `path` for appending. `fresh`: a new file begins (at start or after a rotation): an existing
/// non-empty VTT/SRT file is moved aside first, numbering restarts and a WebVTT header is written.
/// Otherwise (reopening after a write error) writing carries on where it stopped.
static int open_file(file_output *self, int fresh, char *error, size_t error_size) {
    struct stat st;
    if (fresh && self->format != FORMAT_JSONL && stat(self->path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        char *old = rotated_name(self, st.st_mtime);
        if (!old || rename(self->path, old) != 0) {
            msp_error(error, error_size, "%s exists and cannot be moved aside: %s", self->path,
                      old ? strerror(errno) : "no free name");
            free(old);
            return -1;
        }
        free(old);
    }
    self->fd = open(self->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (self->fd < 0) {
        msp_error(error, error_size, "cannot open %s: %s", self->path, strerror(errno));
        return -1;
    }
    self->bytes = fstat(self->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    if (fresh) {
        self->opened_at = time(NULL);
        self->opened_day = local_day(self->opened_at);
    }
    if (fresh || self->bytes == 0) self->srt_index = 1;
    if (self->format == FORMAT_VTT && self->bytes == 0) return write_bytes(self, "WEBVTT\n\n", 8, error, error_size);
    return 0;
}

static int rotate(file_output *self, char *error, size_t error_size) {
    if (self->fd >= 0) {
        fdatasync(self->fd);
        close(self->fd);
        self->fd = -1;
    }
    char *name = rotated_name(self, self->opened_at);
    if (!name || rename(self->path, name) != 0) {
        msp_error(error, error_size, "cannot rotate %s: %s", self->path, name ? strerror(errno) : "no free name");
        free(name);
        char ignored[8];
        open_file(self, 0, ignored, sizeof ignored); // keep appending to the current file
        return -1;
    }
    free(name);
    return open_file(self, 1, error, error_size);
}

/// Called before each record: reopens after an error, rotates at a date change.
static int ready_to_write(file_output *self, char *error, size_t error_size) {
    if (self->fd < 0 && open_file(self, 0, error, error_size) != 0) return -1;
    if (self->rotate_daily && local_day(time(NULL)) != self->opened_day) return rotate(self, error, error_size);
    return 0;
}

/// Called after each record: rotates at the size limit.
static int record_written(file_output *self, char *error, size_t error_size) {
    if (self->rotate_bytes > 0 && self->bytes >= self->rotate_bytes) return rotate(self, error, error_size);
    return 0;
}

// MARK: - Cues

/// The bracketed description of a final caption event; 0 when it makes no cue.
static int make_label(file_output *self, const muscaps_event *e, msp_buffer *label) {
    msp_buffer_clear(label);
    if (e->kind != MUSCAPS_EVENT_CAPTION) return 0;
    const char *text = e->text;
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r') text++;
    size_t length = strlen(text);
    while (length > 0 && strchr(" \t\r\n.", text[length - 1])) length--;
    if (length > 0) {
        if (text[0] == '[') {
            msp_append(label, text, length);
            if (text[length - 1] != ']') msp_append_char(label, ']');
        } else {
            msp_append_char(label, '[');
            char first = text[0] >= 'a' && text[0] <= 'z' ? (char)(text[0] - 'a' + 'A') : text[0];
            msp_append_char(label, first);
            msp_append(label, text + 1, length - 1);
            msp_append_char(label, ']');
        }
    } else if (e->tag_count > 0 && self->tags > 0) {
        msp_append_string(label, "[Music: ");
        size_t shown = e->tag_count < self->tags ? e->tag_count : self->tags;
        for (size_t i = 0; i < shown; i++) {
            if (i > 0) msp_append_string(label, ", ");
            msp_append_string(label, e->tags[i].name);
        }
        msp_append_char(label, ']');
    } else {
        return 0;
    }
    for (size_t i = 0; i < label->length; i++) // one paragraph: cue text must not contain blank lines
        if (label->data[i] == '\n' || label->data[i] == '\r' || label->data[i] == '\t') label->data[i] = ' ';
    return !label->failed;
}

static int add_line(file_output *self, size_t *count, size_t start, size_t length, size_t chars) {
    if (*count == self->line_capacity) {
        size_t capacity = self->line_capacity ? self->line_capacity * 2 : 8;
        text_span *lines = realloc(self->lines, capacity * sizeof *lines);
        if (!lines) return -1;
        self->lines = lines;
        self->line_capacity = capacity;
    }
    self->lines[(*count)++] = (text_span){start, length, chars};
    return 0;
}

/// Greedy word wrap of `text` into lines of at most line_chars characters (Unicode scalars); a word
/// longer than a line is broken. Lines are spans of `text`.
static size_t wrap(file_output *self, const char *text, size_t length) {
    size_t count = 0, line_start = 0, line_end = 0, line_chars = 0, i = 0;
    int has_line = 0;
    while (i < length) {
        while (i < length && text[i] == ' ') i++;
        if (i >= length) break;
        size_t word_start = i, word_chars = 0;
        while (i < length && text[i] != ' ') {
            i += msp_utf8_sequence_length((unsigned char)text[i]);
            word_chars++;
        }
        if (i > length) i = length;
        size_t word_end = i;
        if (has_line && line_chars + 1 + word_chars <= self->line_chars) {
            line_end = word_end;
            line_chars += 1 + word_chars;
            continue;
        }
        if (has_line && add_line(self, &count, line_start, line_end - line_start, line_chars) != 0) return 0;
        has_line = 0;
        // Start a new line with this word, breaking it if it is longer than a line.
        size_t p = word_start;
        while (word_chars > self->line_chars) {
            size_t q = p, n = 0;
            while (n < self->line_chars && q < word_end) q += msp_utf8_sequence_length((unsigned char)text[q]), n++;
            if (add_line(self, &count, p, q - p, n) != 0) return 0;
            p = q;
            word_chars -= n;
        }
        line_start = p;
        line_end = word_end;
        line_chars = word_chars;
        has_line = 1;
    }
    if (has_line && add_line(self, &count, line_start, line_end - line_start, line_chars) != 0) return 0;
    return count;
}

static void append_cue_text(file_output *self, msp_buffer *out, const char *text, size_t length) {
    if (self->format != FORMAT_VTT) {
        msp_append(out, text, length);
        return;
    }
    for (size_t i = 0; i < length; i++) { // WebVTT cue text: & < > are markup
        switch (text[i]) {
        case '&': msp_append_string(out, "&amp;"); break;
        case '<': msp_append_string(out, "&lt;"); break;
        case '>': msp_append_string(out, "&gt;"); break;
        default: msp_append_char(out, text[i]);
        }
    }
}

/// Writes one cue: lines [first, first + count) of the last wrap() of `text`.
static int write_cue(file_output *self, double t0, double t1, const char *text, size_t first, size_t count,
                     char *error, size_t error_size) {
    if (ready_to_write(self, error, error_size) != 0) return -1;
    msp_buffer *out = &self->out;
    msp_buffer_clear(out);
    char separator = self->format == FORMAT_VTT ? '.' : ',';
    if (self->format == FORMAT_SRT) msp_append_format(out, "%u\n", self->srt_index);
    msp_append_subtitle_time(out, t0, separator);
    msp_append_string(out, " --> ");
    msp_append_subtitle_time(out, t1, separator);
    msp_append_char(out, '\n');
    for (size_t i = first; i < first + count; i++) {
        append_cue_text(self, out, text + self->lines[i].start, self->lines[i].length);
        msp_append_char(out, '\n');
    }
    msp_append_char(out, '\n');
    if (out->failed) return msp_error(error, error_size, "out of memory"), msp_buffer_free(out), -1;
    if (write_bytes(self, out->data, out->length, error, error_size) != 0) return -1;
    self->srt_index++;
    if (t1 > self->last_end) self->last_end = t1;
    return record_written(self, error, error_size);
}

/// Writes a description over [t0, t1] as one or more cues (see the rules at the top).
static int write_block(file_output *self, const char *label, double t0, double t1, char *error, size_t error_size) {
    size_t line_count = wrap(self, label, strlen(label));
    if (line_count == 0) return 0;
    size_t chunk_count = (line_count + self->max_lines - 1) / self->max_lines;
    double span = t1 > t0 ? t1 - t0 : 0, total_chars = 0, longest = 0;
    for (size_t i = 0; i < line_count; i++) total_chars += (double)self->lines[i].chars;
    if (total_chars <= 0) total_chars = 1;
    for (size_t c = 0; c < chunk_count; c++) {
        double chars = 0;
        for (size_t i = c * self->max_lines; i < line_count && i < (c + 1) * self->max_lines; i++) chars += (double)self->lines[i].chars;
        double share = span * chars / total_chars;
        if (share > longest) longest = share;
    }
    // Show the whole sequence `repeats` times so that no cue exceeds max_duration.
    double repeats = longest > self->max_duration ? ceil(longest / self->max_duration - 1e-9) : 1;
    double start = t0;
    for (int r = 0; r < (int)repeats; r++) {
        for (size_t c = 0; c < chunk_count; c++) {
            size_t first = c * self->max_lines, count = line_count - first < self->max_lines ? line_count - first : self->max_lines;
            double chars = 0;
            for (size_t i = first; i < first + count; i++) chars += (double)self->lines[i].chars;
            int last = r == (int)repeats - 1 && c == chunk_count - 1;
            double end = last ? t1 : start + span * chars / total_chars / repeats;
            if (end < start) end = start;
            if (write_cue(self, start, end, label, first, count, error, error_size) != 0) return -1;
            start = end;
        }
    }
    return 0;
}

static int write_pending(file_output *self, char *error, size_t error_size) {
    if (!self->has_pending) return 0;
    self->has_pending = 0;
    double t1 = self->pending_t1;
    if (t1 < self->pending_t0 + self->min_duration) t1 = self->pending_t0 + self->min_duration;
    return write_block(self, self->pending_label.data, self->pending_t0, t1, error, error_size);
}

/// A final description over [t0, t1]: merge into the held-back cue, or write that and hold/write this.
static int add_caption(file_output *self, const char *label, double t0, double t1, char *error, size_t error_size) {
    if (t1 < t0) t1 = t0;
    if (self->has_pending && strcmp(label, self->pending_label.data) == 0 && t0 - self->pending_t1 <= MERGE_GAP
            && fmax(t1, self->pending_t1) - self->pending_t0 <= self->max_duration) {
        if (t1 > self->pending_t1) self->pending_t1 = t1;
        return 0;
    }
    if (write_pending(self, error, error_size) != 0) return -1;
    size_t line_count = wrap(self, label, strlen(label));
    if (line_count == 0) return 0;
    size_t cues = (line_count + self->max_lines - 1) / self->max_lines;
    // Never overlap the previous cue; give every cue at least min_duration.
    double start = fmax(t0, self->last_end), end = fmax(t1, start + (double)cues * self->min_duration);
    if (cues == 1 && end - start <= self->max_duration) {
        msp_buffer_clear(&self->pending_label);
        msp_append_string(&self->pending_label, label);
        if (self->pending_label.failed) return msp_error(error, error_size, "out of memory"), -1;
        self->pending_t0 = start;
        self->pending_t1 = end;
        self->has_pending = 1;
        return 0;
    }
    return write_block(self, label, start, end, error, error_size);
}

// MARK: - The plugin

static void file_free(file_output *self) {
    free(self->path);
    free(self->prefix);
    free(self->stem);
    free(self->extension);
    msp_buffer_free(&self->pending_label);
    msp_buffer_free(&self->open_label);
    msp_buffer_free(&self->out);
    msp_buffer_free(&self->label);
    free(self->lines);
    free(self);
}

static int format_named(const char *name) {
    if (!strcasecmp(name, "jsonl") || !strcasecmp(name, "json") || !strcasecmp(name, "ndjson")) return FORMAT_JSONL;
    if (!strcasecmp(name, "vtt") || !strcasecmp(name, "webvtt")) return FORMAT_VTT;
    if (!strcasecmp(name, "srt")) return FORMAT_SRT;
    return FORMAT_UNKNOWN;
}

static void *file_create(const muscaps_plugin_config *config, char *error, size_t error_size) {
    if (!msp_config_usable(config, error, error_size)) return NULL;
    file_output *self = calloc(1, sizeof *self);
    if (!self) return msp_error(error, error_size, "out of memory"), NULL;
    self->fd = -1;
    self->interim = 1;
    self->line_chars = 42;
    self->max_lines = 2;
    self->tags = 3;
    self->min_duration = 1.0;
    self->max_duration = 7.0;
    const char *path = NULL;
    for (size_t i = 0; i < config->entry_count; i++) {
        const char *key = config->entries[i].key, *value = config->entries[i].value;
        int bad = 0;
        if (!strcmp(key, "arg") || !strcmp(key, "path")) {
            path = value;
        } else if (!strcmp(key, "format")) {
            self->format = format_named(value);
            if (self->format == FORMAT_UNKNOWN) msp_error(error, error_size, "unknown format '%s' (expected jsonl, vtt or srt)", value), bad = 1;
        } else if (!strcmp(key, "fsync")) {
            bad = msp_parse_bool(key, value, &self->fsync_each, error, error_size) != 0;
        } else if (!strcmp(key, "interim")) {
            bad = msp_parse_bool(key, value, &self->interim, error, error_size) != 0;
        } else if (!strcmp(key, "rotate_bytes")) {
            bad = msp_parse_size(key, value, &self->rotate_bytes, error, error_size) != 0;
        } else if (!strcmp(key, "rotate")) {
            if (!strcmp(value, "daily")) self->rotate_daily = 1;
            else if (!strcmp(value, "none")) self->rotate_daily = 0;
            else msp_error(error, error_size, "option rotate=%s: expected daily or none (size: rotate_bytes=)", value), bad = 1;
        } else if (!strcmp(key, "line_chars")) {
            bad = msp_parse_unsigned(key, value, 10, 200, &self->line_chars, error, error_size) != 0;
        } else if (!strcmp(key, "lines")) {
            bad = msp_parse_unsigned(key, value, 1, 10, &self->max_lines, error, error_size) != 0;
        } else if (!strcmp(key, "tags")) {
            bad = msp_parse_unsigned(key, value, 0, 50, &self->tags, error, error_size) != 0;
        } else if (!strcmp(key, "min_duration")) {
            bad = msp_parse_seconds(key, value, 0.1, 60, &self->min_duration, error, error_size) != 0;
        } else if (!strcmp(key, "max_duration")) {
            bad = msp_parse_seconds(key, value, 0.5, 3600, &self->max_duration, error, error_size) != 0;
        } else {
            msp_error(error, error_size, "unknown option '%s' (known: path, format, fsync, rotate_bytes, rotate, interim, "
                      "line_chars, lines, min_duration, max_duration, tags)", key);
            bad = 1;
        }
        if (bad) return file_free(self), NULL;
    }
    if (!path || !*path) {
        msp_error(error, error_size, "no file given: use file:PATH or file:path=PATH");
        return file_free(self), NULL;
    }
    if (self->min_duration > self->max_duration) {
        msp_error(error, error_size, "min_duration %g is longer than max_duration %g", self->min_duration, self->max_duration);
        return file_free(self), NULL;
    }
    self->path = strdup(path);
    if (!self->path || split_path(self) != 0) return msp_error(error, error_size, "out of memory"), file_free(self), NULL;
    if (self->format == FORMAT_UNKNOWN) self->format = format_named(self->extension[0] ? self->extension + 1 : "");
    if (self->format == FORMAT_UNKNOWN) {
        msp_error(error, error_size, "cannot tell the format of %s from its extension: add format=jsonl, vtt or srt", path);
        return file_free(self), NULL;
    }
    if (open_file(self, 1, error, error_size) != 0) return file_free(self), NULL;
    return self;
}

static int file_emit(void *instance, const muscaps_event *e, char *error, size_t error_size) {
    file_output *self = instance;
    if (self->format == FORMAT_JSONL) {
        if (!e->final && e->kind != MUSCAPS_EVENT_STATUS && !self->interim) return 0;
        if (ready_to_write(self, error, error_size) != 0) return -1;
        msp_buffer_clear(&self->out);
        msp_append_event_json(&self->out, e);
        if (self->out.failed) return msp_error(error, error_size, "out of memory"), msp_buffer_free(&self->out), -1;
        if (write_bytes(self, self->out.data, self->out.length, error, error_size) != 0) return -1;
        return record_written(self, error, error_size);
    }
    if (e->kind == MUSCAPS_EVENT_STATUS) return 0;
    if (!e->final) { // remember it, in case it is never finalised (the daemon stops first)
        self->has_open = make_label(self, e, &self->open_label);
        self->open_id = e->id;
        self->open_t0 = e->t0;
        self->open_t1 = e->t1;
        return 0;
    }
    if (self->has_open && self->open_id == e->id) self->has_open = 0;
    if (!make_label(self, e, &self->label)) {
        // Silence (or an empty caption) ends the held cue: write it now, nothing to merge with.
        return write_pending(self, error, error_size);
    }
    return add_caption(self, self->label.data, e->t0, e->t1, error, error_size);
}

static int file_flush(void *instance, char *error, size_t error_size) {
    file_output *self = instance;
    if (write_pending(self, error, error_size) != 0) return -1;
    if (self->fd >= 0 && fdatasync(self->fd) != 0 && errno != EINVAL) {
        msp_error(error, error_size, "cannot sync %s: %s", self->path, strerror(errno));
        return -1;
    }
    return 0;
}

static void file_destroy(void *instance) {
    file_output *self = instance;
    char ignored[8];
    if (self->format != FORMAT_JSONL && self->has_open) {
        self->has_open = 0;
        add_caption(self, self->open_label.data, self->open_t0, self->open_t1, ignored, sizeof ignored);
    }
    file_flush(self, ignored, sizeof ignored);
    if (self->fd >= 0) close(self->fd);
    file_free(self);
}

static const muscaps_plugin_desc descriptor = {
    .abi_version = MUSCAPS_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(muscaps_plugin_desc),
    .name = "file",
    .version = "1.0.0",
    .description = "captions into JSON Lines, WebVTT or SRT files, with rotation",
    .create = file_create,
    .emit = file_emit,
    .flush = file_flush,
    .destroy = file_destroy,
};

MUSCAPS_PLUGIN_EXPORT const muscaps_plugin_desc *muscaps_plugin_descriptor(void) { return &descriptor; }

// Helpers shared by the bundled plugins; see include/muscaps_plugin_support.h.
#include "muscaps_plugin_support.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

// MARK: - Buffer
void msp_buffer_free(msp_buffer *buffer) {
    free(buffer->data);
    buffer->data = NULL;
    buffer->length = buffer->capacity = 0;
    buffer->failed = 0;
}

void msp_buffer_clear(msp_buffer *buffer) {
    buffer->length = 0;
    if (buffer->data) buffer->data[0] = '\0';
}

static int reserve(msp_buffer *buffer, size_t extra) {
    if (buffer->failed) return -1;
    size_t needed = buffer->length + extra + 1; // always room for a terminating NUL
    if (needed <= buffer->capacity) return 0;
    size_t capacity = buffer->capacity ? buffer->capacity : 256;
    while (capacity < needed) capacity *= 2;
    char *data = realloc(buffer->data, capacity);
    if (!data) {
        buffer->failed = 1;
        return -1;
    }
    buffer->data = data;
    buffer->capacity = capacity;
    return 0;
}

void msp_append(msp_buffer *buffer, const char *bytes, size_t count) {
    if (reserve(buffer, count) != 0) return;
    memcpy(buffer->data + buffer->length, bytes, count);
    buffer->length += count;
    buffer->data[buffer->length] = '\0';
}

void msp_append_string(msp_buffer *buffer, const char *string) { msp_append(buffer, string, strlen(string)); }

void msp_append_char(msp_buffer *buffer, char c) { msp_append(buffer, &c, 1); }

void msp_append_format(msp_buffer *buffer, const char *format, ...) {
    va_list args;
    va_start(args, format);
    char small[256];
    int n = vsnprintf(small, sizeof small, format, args);
    va_end(args);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        msp_append(buffer, small, (size_t)n);
        return;
    }
    if (reserve(buffer, (size_t)n) != 0) return;
    va_start(args, format);
    vsnprintf(buffer->data + buffer->length, (size_t)n + 1, format, args);
    va_end(args);
    buffer->length += (size_t)n;
}

void msp_append_number(msp_buffer *buffer, double value, const char *format) {
    if (!isfinite(value)) {
        msp_append_string(buffer, "null");
        return;
    }
    char text[64];
    int n = snprintf(text, sizeof text, format, value);
    if (n < 0 || (size_t)n >= sizeof text) {
        msp_append_string(buffer, "null");
        return;
    }
    for (int i = 0; i < n; i++)
        if (text[i] == ',') text[i] = '.'; // a host that called setlocale() must not break JSON
    msp_append(buffer, text, (size_t)n);
}

// MARK: - JSON
void msp_append_json_string(msp_buffer *buffer, const char *utf8) {
    msp_append_char(buffer, '"');
    const char *run = utf8;
    for (const char *p = utf8; *p; p++) {
        unsigned char c = (unsigned char)*p;
        const char *escape = NULL;
        char unicode[8];
        switch (c) {
        case '"': escape = "\\\""; break;
        case '\\': escape = "\\\\"; break;
        case '\n': escape = "\\n"; break;
        case '\r': escape = "\\r"; break;
        case '\t': escape = "\\t"; break;
        default:
            if (c < 0x20) {
                snprintf(unicode, sizeof unicode, "\\u%04x", c);
                escape = unicode;
            }
        }
        if (escape) {
            msp_append(buffer, run, (size_t)(p - run));
            msp_append_string(buffer, escape);
            run = p + 1;
        }
    }
    msp_append_string(buffer, run);
    msp_append_char(buffer, '"');
}

const char *msp_kind_name(uint32_t kind) {
    switch (kind) {
    case MUSCAPS_EVENT_CAPTION: return "caption";
    case MUSCAPS_EVENT_SILENCE: return "silence";
    case MUSCAPS_EVENT_STATUS: return "status";
    default: return "unknown";
    }
}

void msp_append_event_json(msp_buffer *buffer, const muscaps_event *event) {
    msp_append_string(buffer, "{\"t0\": ");
    msp_append_number(buffer, event->t0, "%.3f");
    msp_append_string(buffer, ", \"t1\": ");
    msp_append_number(buffer, event->t1, "%.3f");
    msp_append_string(buffer, ", \"kind\": ");
    msp_append_json_string(buffer, msp_kind_name(event->kind));
    msp_append_string(buffer, ", \"text\": ");
    msp_append_json_string(buffer, event->text ? event->text : "");
    msp_append_string(buffer, ", \"tags\": {");
    for (size_t i = 0; i < event->tag_count; i++) {
        if (i > 0) msp_append_string(buffer, ", ");
        msp_append_json_string(buffer, event->tags[i].name ? event->tags[i].name : "");
        msp_append_string(buffer, ": ");
        msp_append_number(buffer, (double)event->tags[i].score, "%.6g");
    }
    msp_append_string(buffer, "}, \"final\": ");
    msp_append_string(buffer, event->final ? "true" : "false");
    msp_append_format(buffer, ", \"id\": %llu, \"wall\": ", (unsigned long long)event->id);
    msp_append_char(buffer, '"');
    msp_append_iso8601(buffer, event->wall_start_ns);
    msp_append_string(buffer, "\", \"model\": ");
    msp_append_json_string(buffer, event->model ? event->model : "");
    msp_append_string(buffer, ", \"latency_ms\": ");
    msp_append_number(buffer, event->latency_ms, "%.1f");
    if (MUSCAPS_HAS_FIELD(event, muscaps_event, caption_error) && event->caption_error && event->caption_error[0]) {
        msp_append_string(buffer, ", \"caption_error\": ");
        msp_append_json_string(buffer, event->caption_error);
    }
    msp_append_string(buffer, "}\n");
}

// MARK: - Time
void msp_append_iso8601(msp_buffer *buffer, int64_t unix_ns) {
    int64_t seconds = unix_ns / 1000000000, rest = unix_ns % 1000000000;
    if (rest < 0) {
        rest += 1000000000;
        seconds -= 1;
    }
    time_t t = (time_t)seconds;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        msp_append_string(buffer, "1970-01-01T00:00:00.000Z");
        return;
    }
    msp_append_format(buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(rest / 1000000));
}

void msp_append_clock_tenths(msp_buffer *buffer, double seconds) {
    if (!isfinite(seconds) || seconds < 0) seconds = 0;
    long long tenths = llround(seconds * 10.0);
    long long hours = tenths / 36000, minutes = tenths / 600 % 60, secs = tenths / 10 % 60, tenth = tenths % 10;
    if (hours > 0) msp_append_format(buffer, "%lld:%02lld:%02lld.%lld", hours, minutes, secs, tenth);
    else msp_append_format(buffer, "%02lld:%02lld.%lld", minutes, secs, tenth);
}

void msp_append_subtitle_time(msp_buffer *buffer, double seconds, char separator) {
    if (!isfinite(seconds) || seconds < 0) seconds = 0;
    long long ms = llround(seconds * 1000.0);
    msp_append_format(buffer, "%02lld:%02lld:%02lld%c%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
                      separator, ms % 1000);
}

// MARK: - UTF-8
size_t msp_utf8_sequence_length(unsigned char lead) {
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) return 2;
    if ((lead & 0xF0) == 0xE0) return 3;
    if ((lead & 0xF8) == 0xF0) return 4;
    return 1; // stray continuation byte: count it alone rather than loop forever
}

size_t msp_utf8_count(const char *text, size_t length) {
    size_t count = 0;
    for (size_t i = 0; i < length; count++) i += msp_utf8_sequence_length((unsigned char)text[i]);
    return count;
}

// MARK: - I/O and errors
int msp_write_all(int fd, const char *bytes, size_t count) {
    while (count > 0) {
        ssize_t n = write(fd, bytes, count);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        bytes += n;
        count -= (size_t)n;
    }
    return 0;
}

void msp_error(char *error, size_t error_size, const char *format, ...) {
    if (!error || error_size == 0) return;
    va_list args;
    va_start(args, format);
    vsnprintf(error, error_size, format, args);
    va_end(args);
}

// MARK: - Options
int msp_parse_bool(const char *key, const char *value, int *out, char *error, size_t error_size) {
    static const char *yes[] = {"yes", "true", "on", "1", ""}, *no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (strcasecmp(value, yes[i]) == 0) return *out = 1, 0;
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (strcasecmp(value, no[i]) == 0) return *out = 0, 0;
    msp_error(error, error_size, "option %s=%s: expected yes or no", key, value);
    return -1;
}

int msp_parse_size(const char *key, const char *value, uint64_t *out, char *error, size_t error_size) {
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(value, &end, 10);
    if (errno == 0 && end != value && value[0] != '-') {
        uint64_t multiplier = 1;
        switch (*end) {
        case 'k': case 'K': multiplier = 1024ull; end++; break;
        case 'm': case 'M': multiplier = 1024ull * 1024; end++; break;
        case 'g': case 'G': multiplier = 1024ull * 1024 * 1024; end++; break;
        default: break;
        }
        if (*end == 'B' || *end == 'b') end++;
        if (*end == '\0' && n <= UINT64_MAX / multiplier) {
            *out = (uint64_t)n * multiplier;
            return 0;
        }
    }
    msp_error(error, error_size, "option %s=%s: expected a size in bytes, e.g. 1048576 or 10M", key, value);
    return -1;
}

int msp_parse_unsigned(const char *key, const char *value, unsigned minimum, unsigned maximum, unsigned *out,
                       char *error, size_t error_size) {
    char *end = NULL;
    errno = 0;
    unsigned long n = strtoul(value, &end, 10);
    if (errno == 0 && end != value && *end == '\0' && value[0] != '-' && n >= minimum && n <= maximum) {
        *out = (unsigned)n;
        return 0;
    }
    msp_error(error, error_size, "option %s=%s: expected a whole number from %u to %u", key, value, minimum, maximum);
    return -1;
}

int msp_parse_seconds(const char *key, const char *value, double minimum, double maximum, double *out,
                      char *error, size_t error_size) {
    char *end = NULL;
    errno = 0;
    double n = strtod(value, &end);
    if (errno == 0 && end != value && *end == '\0' && isfinite(n) && n >= minimum && n <= maximum) {
        *out = n;
        return 0;
    }
    msp_error(error, error_size, "option %s=%s: expected seconds from %g to %g", key, value, minimum, maximum);
    return -1;
}

int msp_config_usable(const muscaps_plugin_config *config, char *error, size_t error_size) {
    if (!config || config->struct_size < MUSCAPS_PLUGIN_CONFIG_V1_SIZE) {
        msp_error(error, error_size, "host passed a config of %u bytes; ABI 1 needs at least %zu",
                  config ? config->struct_size : 0u, (size_t)MUSCAPS_PLUGIN_CONFIG_V1_SIZE);
        return 0;
    }
    return 1;
}

#ifndef MUSCAPS_PLUGIN_SUPPORT_H
#define MUSCAPS_PLUGIN_SUPPORT_H
// Helpers shared by the plugins built in this package (stdout, file): a growable text buffer, the
// JSON Lines encoding of an event (byte for byte the same as LiveCaptioning's CaptionEvent.jsonLine),
// time stamps, option parsing. Linked statically into each plugin with hidden visibility, so a
// plugin exports nothing but muscaps_plugin_desc and two plugins never bind to each other's copy.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "muscaps_plugin.h"

#define MSP_HIDDEN __attribute__((visibility("hidden")))

/// A growable byte buffer. `failed` is set (and appends are ignored) once an allocation fails.
typedef struct msp_buffer {
    char *data;
    size_t length, capacity;
    int failed;
} msp_buffer;

MSP_HIDDEN void msp_buffer_free(msp_buffer *buffer);
MSP_HIDDEN void msp_buffer_clear(msp_buffer *buffer);
MSP_HIDDEN void msp_append(msp_buffer *buffer, const char *bytes, size_t count);
MSP_HIDDEN void msp_append_string(msp_buffer *buffer, const char *string);
MSP_HIDDEN void msp_append_char(msp_buffer *buffer, char c);
/// printf-style for integers and strings only: never format floating point with it (locale).
MSP_HIDDEN void msp_append_format(msp_buffer *buffer, const char *format, ...) __attribute__((format(printf, 2, 3)));
/// A finite number with printf `format` (e.g. "%.3f"), always with '.' as decimal point; "null" if not finite.
MSP_HIDDEN void msp_append_number(msp_buffer *buffer, double value, const char *format);
/// A JSON string literal, quotes included.
MSP_HIDDEN void msp_append_json_string(msp_buffer *buffer, const char *utf8);
/// ISO 8601 UTC with milliseconds: 2026-11-26T15:30:00.123Z.
MSP_HIDDEN void msp_append_iso8601(msp_buffer *buffer, int64_t unix_ns);
/// Media time for humans: MM:SS.d, or H:MM:SS.d from one hour on.
MSP_HIDDEN void msp_append_clock_tenths(msp_buffer *buffer, double seconds);
/// Media time for subtitles: HH:MM:SS<separator>mmm ('.' for WebVTT, ',' for SRT).
MSP_HIDDEN void msp_append_subtitle_time(msp_buffer *buffer, double seconds, char separator);

/// The event as one JSON Lines record, newline included. Key order and number formats are part of
/// the format: {"t0": 12.000, "t1": 15.000, "kind": "caption", "text": "...", "tags": {"piano": 0.83},
/// "final": true, "id": 3, "wall": "2026-...Z", "model": "...", "latency_ms": 85.2}
MSP_HIDDEN void msp_append_event_json(msp_buffer *buffer, const muscaps_event *event);
MSP_HIDDEN const char *msp_kind_name(uint32_t kind);

/// Unicode scalar count of the first `length` bytes of UTF-8 text.
MSP_HIDDEN size_t msp_utf8_count(const char *text, size_t length);
/// Byte length of the UTF-8 sequence starting with `lead`.
MSP_HIDDEN size_t msp_utf8_sequence_length(unsigned char lead);

/// write(2) all of it, retrying on EINTR and short writes. Returns 0 or errno.
MSP_HIDDEN int msp_write_all(int fd, const char *bytes, size_t count);

/// One-line error message into the host's buffer.
MSP_HIDDEN void msp_error(char *error, size_t error_size, const char *format, ...) __attribute__((format(printf, 3, 4)));

/// Option parsing. Each returns 0 on success, -1 (with a message in `error`) on a bad value.
MSP_HIDDEN int msp_parse_bool(const char *key, const char *value, int *out, char *error, size_t error_size);
/// Non-negative integer with an optional K/M/G suffix (powers of 1024).
MSP_HIDDEN int msp_parse_size(const char *key, const char *value, uint64_t *out, char *error, size_t error_size);
MSP_HIDDEN int msp_parse_unsigned(const char *key, const char *value, unsigned minimum, unsigned maximum,
                                  unsigned *out, char *error, size_t error_size);
MSP_HIDDEN int msp_parse_seconds(const char *key, const char *value, double minimum, double maximum,
                                 double *out, char *error, size_t error_size);
/// Whether the host's config is at least ABI-1 sized; otherwise sets `error`.
MSP_HIDDEN int msp_config_usable(const muscaps_plugin_config *config, char *error, size_t error_size);

#endif

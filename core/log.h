/* Diagnostics on stderr with the "libcontend: " prefix.
 *
 * Formats into a 512-byte stack buffer with vsnprintf (integer and string
 * conversions only: glibc does not allocate for those) and writes with one
 * write(2). errno is preserved. Async-signal-safe for %s %d %u %ld %lu %x
 * %zu %p; thread-safe. Lines longer than the buffer are cut. */
#ifndef CT_LOG_H
#define CT_LOG_H

__attribute__((format(printf, 1, 2))) void ct_log(const char *fmt, ...);

#endif

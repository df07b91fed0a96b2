/* Diagnostics on stderr with the "libcontend: " prefix.
 *
 * Formats into a 512-byte stack buffer with vsnprintf (integer and string
 * conversions only: glibc does not allocate for those) and writes with one
 * write(2). errno is preserved. Async-signal-safe for %s %d %u %ld %lu %x
 * %zu %p; thread-safe. Lines longer than the buffer are cut. Writes
 * nothing when descriptor 2 is a regular file open for reading and
 * writing (a program's own file that took the number of a closed stderr)
 * or is not open for writing. */
#ifndef CT_LOG_H
#define CT_LOG_H

#include <stdbool.h>

__attribute__((format(printf, 1, 2))) void ct_log(const char *fmt, ...);

#endif

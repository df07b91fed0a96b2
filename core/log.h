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

/* True when notices (where the profiles went, the exit summary of stuck
 * and leaked threads, other "for your information" lines) must not be
 * printed: CONTEND_QUIET=1, or CONTEND_QUIET=auto (the default) and
 * stderr is not a terminal now. A program whose stderr is captured (a
 * test suite comparing it, a server's log file) then gets nothing of
 * ours mixed in; a person at a terminal still sees where the files went.
 * Errors (a file that could not be written, a bad variable) are printed
 * whatever this says. One ioctl at most; errno preserved;
 * async-signal-safe. */
bool ct_notices_off(void);

#endif

/* Gzip'd output files for report/: pprof profiles are gzip-compressed on
 * disk (pprof-format.md §1.3), written so that readers never see a
 * partial file.
 *
 * Error messages go to errbuf (may be NULL/0): one line, no newline, no
 * "libcontend:" prefix, naming the path and strerror, e.g.
 * "cannot create directory 'out/x': Permission denied".
 *
 * Allocates. Thread-safe as long as two callers do not write the same
 * name in the same directory from one process. Not async-signal-safe.
 */
#ifndef CT_GZOUT_H
#define CT_GZOUT_H

#include <stddef.h>
#include <stdint.h>

/* Compresses data[0..len) into one gzip member (zlib level 1: Go's
 * gzip.BestSpeed) in a malloc'd buffer. Returns 0 or -ENOMEM / -EIO. */
int ct_gzout_compress(const void *data, size_t len, uint8_t **out, size_t *outlen);

/* mkdir -p: creates dir and any missing parents (mode 0777 & ~umask).
 * An existing directory is fine. Returns 0 or a negative errno. */
int ct_gzout_mkdirs(const char *dir, char *errbuf, size_t errlen);

/* Writes gzip(data) to <dir>/<name>: first to "<dir>/.<name>.tmp.<pid>",
 * then rename(2)s it into place, so the file appears complete or not at
 * all; the temporary is removed on failure. dir must exist. Returns 0 or
 * a negative errno. */
int ct_gzout_write(const char *dir, const char *name, const void *data, size_t len,
		   char *errbuf, size_t errlen);

/* The same for text files that stay uncompressed (threads.txt). */
int ct_gzout_write_plain(const char *dir, const char *name, const void *data, size_t len,
			 char *errbuf, size_t errlen);

#endif

/* Gzip'd output files for report/: pprof profiles are gzip-compressed on
 * disk (pprof-format.md §1.3), written so that readers never see a
 * partial file.
 *
 * Error messages go to errbuf (may be NULL/0): one line, no newline, no
 * "libcontend:" prefix, naming the path and strerror, e.g.
 * "cannot create directory 'out/x': Permission denied".
 *
 * Files follow the rules of core/outfile.h: directory 0700 owned by us,
 * files 0600 created exclusively, nothing existing ever replaced.
 *
 * Allocates. Thread-safe as long as two callers do not write the same
 * name in the same directory from one process. Not async-signal-safe.
 */
#ifndef CT_GZOUT_H
#define CT_GZOUT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/outfile.h"

/* data[0..len) as one gzip member in a malloc'd buffer: deflated at zlib
 * level 1 (Go's gzip.BestSpeed), or, up to 32 KiB, stored (level 0, the
 * bytes as they are): a profile of a few KiB (a fork-per-connection
 * child's, mostly its mapping table) would shrink by a few KiB for about
 * 300,000 instructions and tens of KiB of fresh zlib state per file, paid
 * by every child at exit. Either way a valid gzip file for every reader
 * (gzip, Go's compress/gzip, pprof). Returns 0 or -ENOMEM / -EIO. */
int ct_gzout_compress(const void *data, size_t len, uint8_t **out, size_t *outlen);

/* One dump's files in one directory (outfile.h has the rules). Errors
 * and notices are appended to errbuf as lines (no trailing newline), one
 * per failed file, each naming the path and strerror; the first error is
 * kept in err. A failed file never stops the next one. */
struct ct_gzout {
	const char *dir;    /* as given, for messages */
	int dirfd;
	const char *suffix; /* "" or ".0001" */
	struct ct_output *out;
	int quiet;          /* no notice when this process's names get its pid */
	char *errbuf;
	size_t errlen;
	int err;            /* first failure, 0 if none */
	int fds;            /* ct_outfile_open_fds, opened at the first file: -1 not yet */
	int nwrote;         /* files placed */
	char wrote[4][256]; /* the first listed names placed, for the 'wrote' line */
	int nlisted;
	struct ct_output local; /* when the caller keeps none */
};

/* Opens (creating, mode 0700) and checks dir for a dump whose files end
 * in suffix. out (NULL: a fresh per-call state) remembers across dumps
 * the names this process uses. Returns 0 or a negative errno (then
 * nothing can be written: the reason is in errbuf). Always pair with
 * ct_gzout_close. */
int ct_gzout_open(struct ct_gzout *w, const char *dir, const char *suffix, struct ct_output *out,
		  int quiet, char *errbuf, size_t errlen);

/* Writes <base>[.pid<pid>]<suffix><ext>, gzip'd when compress, through
 * a new temporary file moved into place, never replacing a file another
 * process wrote: when a plain name is taken, this process switches to
 * pid-qualified names for good (one notice line). listed: name it in the
 * 'wrote' line. 0 or a negative errno (recorded in w). */
int ct_gzout_put(struct ct_gzout *w, const char *base, const char *ext, const void *data,
		 size_t len, int compress, int listed);

/* Records a failure that happened before a file could be written
 * (rendering, say): one line, and err if it is the first. */
void ct_gzout_fail(struct ct_gzout *w, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "mutex.pb.gz, block.pb.gz and threads.txt": the listed files placed. */
void ct_gzout_wrote(const struct ct_gzout *w, char *buf, size_t len);

/* Closes the directory. Returns w->err. */
int ct_gzout_close(struct ct_gzout *w);

/* Writes gzip(data) to <dir>/<name> as ct_gzout_put does (one-file
 * convenience for tests and tools). Returns 0 or a negative errno. */
int ct_gzout_write(const char *dir, const char *name, const void *data, size_t len,
		   char *errbuf, size_t errlen);

#endif

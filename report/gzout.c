/* Gzip'd atomic file output (see gzout.h). Compresses in memory, so every
 * I/O error comes back as an errno from write/close/link rather than
 * through zlib's gzFile error state. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../core/names.h"
#include "../core/outfile.h"
#include "gzout.h"

/* Inputs up to this size are stored, not deflated (see gzout.h): one
 * stored deflate block, which holds at most 65535 bytes. */
#define CT_GZ_STORE_MAX (32 * 1024)
_Static_assert(CT_GZ_STORE_MAX <= 65535, "one stored block");

static uint8_t *
gz_le(uint8_t *p, uint32_t v, int n)
{
	for (int i = 0; i < n; i++)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

/* One gzip member holding one final stored deflate block (RFC 1951
 * 3.2.4, RFC 1952): what deflate writes at level 0, without zlib's
 * state. */
static int
gz_store(const uint8_t *data, size_t len, uint8_t **out, size_t *outlen)
{
	static const uint8_t head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 /* Unix */};
	uint8_t *p = malloc(sizeof(head) + 5 + len + 8);

	if (!(*out = p))
		return -ENOMEM;
	memcpy(p, head, sizeof(head));
	p += sizeof(head);
	*p++ = 1; /* BFINAL, BTYPE 00: stored */
	p = gz_le(p, (uint32_t)len, 2);
	p = gz_le(p, ~(uint32_t)len & 0xffff, 2);
	if (len)
		memcpy(p, data, len);
	p += len;
	p = gz_le(p, (uint32_t)crc32(0, data, (uInt)len), 4);
	p = gz_le(p, (uint32_t)len, 4);
	*outlen = (size_t)(p - *out);
	return 0;
}

int
ct_gzout_compress(const void *data, size_t len, uint8_t **out, size_t *outlen)
{
	z_stream zs = {0};
	uLong cap;
	int rc, wbits = 9;

	*out = NULL;
	*outlen = 0;
	if (len > UINT32_MAX) /* uInt avail_in; profiles are far smaller */
		return -EFBIG;
	if (len <= CT_GZ_STORE_MAX)
		return gz_store(data, len, out, outlen);
	/* A window no larger than the input compresses it the same, and
	 * zlib's state (window, hash chains, pending buffer: 256 KiB at
	 * windowBits 15, memLevel 8) shrinks with it. */
	while (wbits < 15 && ((size_t)1 << wbits) < len)
		wbits++;
	/* windowBits + 16 asks zlib for a gzip header and trailer. */
	if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, wbits + 16, wbits - 7,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&zs, (uLong)len);
	*out = malloc(cap);
	if (!*out) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)data;
	zs.avail_in = (uInt)len;
	zs.next_out = *out;
	zs.avail_out = (uInt)cap;
	rc = deflate(&zs, Z_FINISH); /* deflateBound guarantees one call */
	*outlen = zs.total_out;
	deflateEnd(&zs);
	if (rc != Z_STREAM_END) {
		free(*out);
		*out = NULL;
		*outlen = 0;
		return -EIO;
	}
	return 0;
}

/* Appends one line to w->errbuf. */
static void
gz_line(struct ct_gzout *w, const char *fmt, va_list ap)
{
	if (!w->errbuf || w->errlen == 0)
		return;
	size_t n = strnlen(w->errbuf, w->errlen);
	if (n > 0 && n + 1 < w->errlen)
		w->errbuf[n++] = '\n';
	if (n + 1 < w->errlen)
		vsnprintf(w->errbuf + n, w->errlen - n, fmt, ap);
}

static void __attribute__((format(printf, 2, 3)))
gz_note(struct ct_gzout *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	gz_line(w, fmt, ap);
	va_end(ap);
}

void
ct_gzout_fail(struct ct_gzout *w, int err, const char *fmt, ...)
{
	va_list ap;
	if (!w->err)
		w->err = err;
	va_start(ap, fmt);
	gz_line(w, fmt, ap);
	va_end(ap);
}

/* Where dir ends without its trailing slashes, for "<dir>/<name>". */
static int
gz_dirlen(const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return (int)n;
}

/* Names taken by a race between ct_gzout_open's look and the write. */
#define GZ_NAME_TRIES 8

/* The names a dump with this suffix may write (core/names.h): if another
 * process wrote any of them, this one uses pid-qualified names (then
 * generations) for all of its own, so one dump's files never mix two. */
static const struct {
	const char *base, *ext;
} gz_dump_names[] = {
#define GZ_DUMP_NAME(base, ext) {base, ext},
	CT_DUMP_FILES(GZ_DUMP_NAME)
#undef GZ_DUMP_NAME
};

/* Says once on stderr (a notice) that this dump moved the process's
 * naming from `from` to `to`, past the name `taken` of another process:
 * mutex.pid<pid>.pb.gz..., or mutex.pid<pid>-<gen>.pb.gz... where an
 * earlier process with its pid wrote those. */
static void
gz_say_naming(struct ct_gzout *w, int from, int to, const char *taken)
{
	char example[64];
	if (w->quiet || to < 0 || to == from ||
	    ct_outfile_name(example, sizeof(example), CT_NAME_MUTEX, to, w->out->pid, w->suffix,
			    CT_EXT_PB) < 0)
		return;
	if (to == CT_OUT_NAMES_PID)
		gz_note(w,
			"%.*s/%s was written by another process: not replacing it; this process "
			"names its files with its pid (%s ...)",
			gz_dirlen(w->dir), w->dir, taken, example);
	else
		gz_note(w,
			"%.*s/%s was written by an earlier process with pid %ld: not replacing it; "
			"this process names its files %s ...",
			gz_dirlen(w->dir), w->dir, taken, w->out->pid, example);
}

/* The first name of a dump with w's suffix under naming that exists and
 * is not this process's own (into taken), or NULL. */
static const char *
gz_first_taken(const struct ct_gzout *w, int naming, char *taken, size_t len)
{
	for (size_t i = 0; i < sizeof(gz_dump_names) / sizeof(gz_dump_names[0]); i++)
		if (ct_outfile_name(taken, len, gz_dump_names[i].base, naming, w->out->pid,
				    w->suffix, gz_dump_names[i].ext) >= 0 &&
		    strcmp(taken, w->out->own) != 0 && ct_outfile_exists(w->dirfd, taken))
			return taken;
	return NULL;
}

int
ct_gzout_open(struct ct_gzout *w, const char *dir, const char *suffix, struct ct_output *out,
	      int quiet, char *errbuf, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->dir = dir;
	w->suffix = suffix ? suffix : "";
	w->quiet = quiet;
	w->errbuf = errbuf;
	w->errlen = errlen;
	w->dirfd = -1;
	w->fds = -1;
	w->local.pid = (long)getpid();
	w->out = out ? out : &w->local;
	if (errbuf && errlen)
		errbuf[0] = '\0';

	const char *why = NULL;
	bool made_now = false;
	int fd = ct_outfile_open_dir_made(dir, w->out, &why, &made_now);
	if (fd < 0) {
		if (why)
			ct_gzout_fail(w, fd, "not writing to '%s': it %s", dir, why);
		else if (fd == -ENOTDIR)
			ct_gzout_fail(w, fd, "cannot use '%s' as the output directory: %s", dir,
				      strerror(-fd));
		else
			ct_gzout_fail(w, fd, "cannot create directory '%s': %s", dir,
				      strerror(-fd));
		return fd;
	}
	w->dirfd = fd;
	/* A directory this call made is empty: no name in it is taken (one
	 * another process places meanwhile still is never replaced: see
	 * ct_gzout_put). */
	if (made_now)
		return 0;
	/* Never one dump's files under two namings. */
	char taken[256];
	int from = __atomic_load_n(&w->out->naming, __ATOMIC_ACQUIRE), naming = from;
	while (naming >= 0 && gz_first_taken(w, naming, taken, sizeof(taken)))
		naming = ct_outfile_next_naming(w->out, naming);
	gz_say_naming(w, from, naming, taken);
	return 0;
}

/* Set once unnamed files failed in this process (a file system without
 * O_TMPFILE, no /proc): it then goes straight to temporary names. */
static int gz_no_unnamed;

/* Writes data to an unnamed file in w's directory and links it as name:
 * 1 when unnamed files cannot be used here, else 0 or -errno. Four
 * system calls and one directory entry, against six and three (a
 * temporary created, then renamed) for each of a fork child's five
 * files. */
static int
gz_put_unnamed(struct ct_gzout *w, const char *name, const void *data, size_t len)
{
	if (__atomic_load_n(&gz_no_unnamed, __ATOMIC_RELAXED))
		return 1;
	if (w->fds < 0 && (w->fds = ct_outfile_open_fds()) < 0) {
		__atomic_store_n(&gz_no_unnamed, 1, __ATOMIC_RELAXED);
		return 1;
	}
	int fd = ct_outfile_create_unnamed(w->dirfd);
	if (fd == -EOPNOTSUPP || fd == -EISDIR || fd == -EINVAL) {
		__atomic_store_n(&gz_no_unnamed, 1, __ATOMIC_RELAXED);
		return 1;
	}
	if (fd < 0)
		return fd;
	int err = ct_outfile_write_all(fd, data, len);
	if (!err) {
		err = ct_outfile_link_unnamed(w->fds, fd, w->dirfd, name);
		if (err == -ENOENT || err == -EACCES || err == -EPERM || err == -EXDEV) {
			/* a /proc that refuses: name it the old way */
			__atomic_store_n(&gz_no_unnamed, 1, __ATOMIC_RELAXED);
			close(fd);
			return 1;
		}
		/* close() reports delayed write errors (NFS, quota): then the
		 * file just linked goes again. */
		if (close(fd) != 0 && !err) {
			err = -errno;
			unlinkat(w->dirfd, name, 0);
		}
		return err;
	}
	close(fd);
	return err;
}

/* Writes data to a new file in w's directory and gives it name: an
 * unnamed file linked, or a fresh temporary file moved; the temporary
 * never outlives a failure. */
static int
gz_put_named(struct ct_gzout *w, const char *name, const void *data, size_t len)
{
	bool replace = !strcmp(name, w->out->own);
	/* linkat cannot replace: the crash dump's own file is renamed over. */
	if (!replace) {
		int err = gz_put_unnamed(w, name, data, len);
		if (err <= 0)
			return err;
	}
	char tmp[512];
	int fd = ct_outfile_create_tmp(w->dirfd, name, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	int err = ct_outfile_write_all(fd, data, len);
	/* close() reports delayed write errors (NFS, quota). */
	if (close(fd) != 0 && !err)
		err = -errno;
	if (err) {
		unlinkat(w->dirfd, tmp, 0);
		return err;
	}
	return ct_outfile_place(w->dirfd, tmp, name, replace);
}

int
ct_gzout_put(struct ct_gzout *w, const char *base, const char *ext, const void *data,
	     size_t len, int compress, int listed)
{
	uint8_t *gz = NULL;
	size_t gzlen = 0;
	char name[256];
	int err, naming = __atomic_load_n(&w->out->naming, __ATOMIC_ACQUIRE);

	if (ct_outfile_name(name, sizeof(name), base, naming, w->out->pid, w->suffix, ext) < 0) {
		ct_gzout_fail(w, -ENAMETOOLONG, "cannot name the output file %s%s%s", base,
			      w->suffix, ext);
		return -ENAMETOOLONG;
	}
	if (w->dirfd < 0) {
		err = -EBADF;
		goto out;
	}
	if (compress) {
		err = ct_gzout_compress(data, len, &gz, &gzlen);
		if (err)
			goto out;
		data = gz;
		len = gzlen;
	}
	err = gz_put_named(w, name, data, len);
	/* Somebody else's file, placed since ct_gzout_open looked: never
	 * replaced. */
	char taken[256];
	for (int tries = 0, from = naming; err == -EEXIST && tries < GZ_NAME_TRIES; tries++) {
		snprintf(taken, sizeof(taken), "%s", name);
		naming = ct_outfile_next_naming(w->out, naming);
		if (naming < 0 ||
		    ct_outfile_name(name, sizeof(name), base, naming, w->out->pid, w->suffix, ext) < 0)
			break;
		err = gz_put_named(w, name, data, len);
		if (err != -EEXIST)
			gz_say_naming(w, from, naming, taken);
	}
	if (!err) {
		int expect = CT_OUT_NAMES_UNDECIDED;
		__atomic_compare_exchange_n(&w->out->naming, &expect, CT_OUT_NAMES_PLAIN, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		w->nwrote++;
		if (listed && w->nlisted < (int)(sizeof(w->wrote) / sizeof(w->wrote[0])))
			snprintf(w->wrote[w->nlisted++], sizeof(w->wrote[0]), "%s", name);
	}
out:
	if (err) {
		/* EFBIG: the file would pass the process's RLIMIT_FSIZE, which the
		 * write was refused for rather than raise SIGXFSZ (core/sys.h). */
		char why[96] = "";
		struct rlimit rl;
		if (err == -EFBIG && getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
			snprintf(why, sizeof(why), " (%zu bytes, over the file size limit of %llu)",
				 gzlen ? gzlen : len, (unsigned long long)rl.rlim_cur);
		ct_gzout_fail(w, err, "cannot write '%.*s/%s': %s%s", gz_dirlen(w->dir), w->dir,
			      name, strerror(-err), why);
	}
	free(gz);
	return err;
}

void
ct_gzout_wrote(const struct ct_gzout *w, char *buf, size_t len)
{
	size_t n = 0;
	if (len)
		buf[0] = '\0';
	for (int i = 0; i < w->nlisted && n < len; i++) {
		const char *sep = i == 0 ? "" : i == w->nlisted - 1 ? " and " : ", ";
		int k = snprintf(buf + n, len - n, "%s%s", sep, w->wrote[i]);
		if (k < 0)
			break;
		n += (size_t)k;
	}
}

int
ct_gzout_close(struct ct_gzout *w)
{
	if (w->dirfd >= 0)
		close(w->dirfd);
	if (w->fds >= 0)
		close(w->fds);
	w->dirfd = -1;
	w->fds = -1;
	return w->err;
}

int
ct_gzout_write(const char *dir, const char *name, const void *data, size_t len, char *errbuf,
	       size_t errlen)
{
	struct ct_gzout w;
	char base[256];
	if (ct_gzout_open(&w, dir, "", NULL, 1, errbuf, errlen) == 0) {
		/* the whole name as the base: no suffix, no extension */
		snprintf(base, sizeof(base), "%s", name);
		ct_gzout_put(&w, base, "", data, len, 1, 0);
	}
	return ct_gzout_close(&w);
}

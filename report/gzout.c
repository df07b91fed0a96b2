/* Gzip'd atomic file output (see gzout.h). Compresses in memory, so every
 * I/O error comes back as an errno from write/close/rename rather than
 * through zlib's gzFile error state. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "gzout.h"

static void __attribute__((format(printf, 3, 4)))
gz_error(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errbuf || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

int
ct_gzout_compress(const void *data, size_t len, uint8_t **out, size_t *outlen)
{
	z_stream zs = {0};
	uLong cap;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (len > UINT32_MAX) /* uInt avail_in; profiles are far smaller */
		return -EFBIG;
	/* windowBits 15 + 16 asks zlib for a gzip header and trailer. */
	if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
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

static int
gz_mkdir_one(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0777) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	/* EEXIST for a regular file must not pass as "directory exists". */
	if (stat(dir, &st) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Creates path, first creating its parents when it has to; path is a
 * writable copy that is cut and restored in place. */
static int
gz_mkdirs(char *path)
{
	char *slash;
	int err = gz_mkdir_one(path);

	if (err != -ENOENT)
		return err;
	slash = strrchr(path, '/');
	while (slash && slash > path && slash[-1] == '/')
		slash--; /* "a//b" */
	if (!slash || slash == path)
		return err;
	*slash = '\0';
	err = gz_mkdirs(path);
	*slash = '/';
	return err ? err : gz_mkdir_one(path);
}

int
ct_gzout_mkdirs(const char *dir, char *errbuf, size_t errlen)
{
	char *copy = strdup(dir);
	size_t n;
	int err;

	if (!copy)
		return -ENOMEM;
	n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0'; /* "out/" */
	err = n ? gz_mkdirs(copy) : -ENOENT;
	if (err)
		gz_error(errbuf, errlen, "cannot create directory '%s': %s", dir, strerror(-err));
	free(copy);
	return err;
}

static int
gz_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes buf to a new file tmp; on failure tmp is gone. */
static int
gz_write_file(const char *tmp, const uint8_t *buf, size_t len)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	int err;

	if (fd < 0)
		return -errno;
	err = gz_write_all(fd, buf, len);
	/* close() reports delayed write errors (NFS, quota). */
	if (close(fd) != 0 && !err)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

static int
gz_write_named(const char *dir, const char *name, const void *data, size_t len, bool compress,
	       char *errbuf, size_t errlen)
{
	char *tmp = NULL, *dst = NULL;
	uint8_t *gz = NULL;
	size_t gzlen;
	int err;

	/* "<dir>/.<name>.tmp.<pid>": hidden, and per process so a forked
	 * child writing into the same directory cannot collide. */
	if (asprintf(&tmp, "%s/.%s.tmp.%ld", dir, name, (long)getpid()) < 0) {
		tmp = NULL;
		err = -ENOMEM;
		goto out;
	}
	if (asprintf(&dst, "%s/%s", dir, name) < 0) {
		dst = NULL;
		err = -ENOMEM;
		goto out;
	}
	if (compress) {
		err = ct_gzout_compress(data, len, &gz, &gzlen);
		if (err) {
			gz_error(errbuf, errlen, "cannot compress '%s': %s", dst, strerror(-err));
			goto out;
		}
	}
	err = gz_write_file(tmp, compress ? gz : data, compress ? gzlen : len);
	if (err) {
		gz_error(errbuf, errlen, "cannot write '%s': %s", tmp, strerror(-err));
		goto out;
	}
	if (rename(tmp, dst) != 0) {
		err = -errno;
		unlink(tmp);
		gz_error(errbuf, errlen, "cannot rename '%s' to '%s': %s", tmp, dst,
			 strerror(-err));
		goto out;
	}
out:
	if (err == -ENOMEM)
		gz_error(errbuf, errlen, "cannot write '%s/%s': %s", dir, name, strerror(ENOMEM));
	free(gz);
	free(tmp);
	free(dst);
	return err;
}

int
ct_gzout_write(const char *dir, const char *name, const void *data, size_t len,
	       char *errbuf, size_t errlen)
{
	return gz_write_named(dir, name, data, len, true, errbuf, errlen);
}

int
ct_gzout_write_plain(const char *dir, const char *name, const void *data, size_t len,
		     char *errbuf, size_t errlen)
{
	return gz_write_named(dir, name, data, len, false, errbuf, errlen);
}

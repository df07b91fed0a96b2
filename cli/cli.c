/* Helpers shared by the contend subcommands: error and usage messages in
 * one format, strict number parsing, loading a profile with a message
 * that names the file. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../report/names.h"

int
ct_cli_bad_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "contend %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see contend %s --help)\n", cmd);
	return 2;
}

int
ct_cli_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "contend: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int
ct_cli_parse_count(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int
ct_cli_load(const char *path, struct ct_profile **p)
{
	char err[512];
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return ct_cli_error("%s: is a directory (expected a profile such as %s/" CT_NAME_MUTEX
				    CT_EXT_PB ")",
				    path, path);
	if (ct_profile_load(path, p, err, sizeof(err)) < 0)
		return ct_cli_error("%s: %s", path, err);
	return 0;
}

int
ct_cli_read_all(int fd, size_t max, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	ssize_t r = 0;

	*out = NULL;
	*len = 0;
	while (buf && (r = read(fd, buf + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (n >= max) {
			free(buf);
			return -EFBIG;
		}
		if (cap - n - 1 == 0) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				free(buf);
			buf = nb;
			cap *= 2;
		}
	}
	if (!buf)
		return -ENOMEM;
	buf[n] = 0;
	*out = buf;
	*len = n;
	return r < 0 ? -errno : 0;
}

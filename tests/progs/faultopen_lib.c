/* Preloaded with the shim: file creation fails with FAULTOPEN_ERRNO
 * (default ENOSPC, a full disk) for every name containing one of the
 * comma-separated FAULTOPEN_MATCH strings; all else is passed on. Lets a
 * test make one output file unwritable while the others are fine. A file
 * made unnamed (O_TMPFILE) gets its name from linkat, which fails the
 * same way (a directory entry that finds the disk full). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "open_mode.h"

int openat(int dirfd, const char *path, int flags, ...);
int open(const char *path, int flags, ...);
int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags);

static int
faulty(const char *path, int flags)
{
	const char *m = getenv("FAULTOPEN_MATCH");
	if (!(flags & O_CREAT) || !m || !*m)
		return 0;
	char list[256];
	strncpy(list, m, sizeof(list) - 1);
	list[sizeof(list) - 1] = 0;
	char *save = NULL;
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (strstr(path, t)) {
			const char *e = getenv("FAULTOPEN_ERRNO");
			return e ? atoi(e) : ENOSPC;
		}
	return 0;
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	static int (*real)(int, const char *, int, ...);
	mode_t mode = OPEN_MODE(flags);
	int e = faulty(path, flags);
	if (e) {
		errno = e;
		return -1;
	}
	if (!real)
		real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
	return real(dirfd, path, flags, mode);
}

/* open(path, ...) is openat(AT_FDCWD, path, ...): one place decides. */
int
open(const char *path, int flags, ...)
{
	mode_t mode = OPEN_MODE(flags);
	return openat(AT_FDCWD, path, flags, mode);
}

int
linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
	static int (*real)(int, const char *, int, const char *, int);
	int e = faulty(newpath, O_CREAT);
	if (e) {
		errno = e;
		return -1;
	}
	if (!real)
		real = (int (*)(int, const char *, int, const char *, int))dlsym(RTLD_NEXT, "linkat");
	return real(olddirfd, oldpath, newdirfd, newpath, flags);
}

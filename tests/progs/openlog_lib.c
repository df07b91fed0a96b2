/* Preloaded with the shim: appends "<pid> <path>" to the file named by
 * OPENLOG_FILE for every file opened for reading through open, open64,
 * openat or openat64 (what libdw and libelf use), then opens it as asked.
 * Lets a test see which processes read a program's ELF file or its debug
 * information. One write(2) per line on an O_APPEND descriptor, so lines
 * of concurrent processes do not mix. */
/* open and open64 are defined separately here: no redirection. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "open_mode.h"

int open(const char *path, int flags, ...);
int open64(const char *path, int flags, ...);
int openat(int dirfd, const char *path, int flags, ...);
int openat64(int dirfd, const char *path, int flags, ...);

static void
note(const char *path, int flags)
{
	const char *log = getenv("OPENLOG_FILE");
	if (!log || !*log || (flags & O_ACCMODE) != O_RDONLY || (flags & O_DIRECTORY))
		return;
	char line[4200];
	int n = snprintf(line, sizeof(line), "%d %s\n", (int)getpid(), path);
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	/* Raw calls: not through the wrappers being defined here. */
	int fd = (int)syscall(SYS_openat, AT_FDCWD, log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			      0600);
	if (fd < 0)
		return;
	if (syscall(SYS_write, fd, line, (size_t)n) < 0) {
	}
	syscall(SYS_close, fd);
}

#define OPENLOG_AT(name)                                                             \
	int name(int dirfd, const char *path, int flags, ...)                        \
	{                                                                            \
		static int (*real)(int, const char *, int, ...);                     \
		mode_t mode = OPEN_MODE(flags);                                      \
		note(path, flags);                                                   \
		if (!real)                                                           \
			real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, #name); \
		return real(dirfd, path, flags, mode);                               \
	}
#define OPENLOG(name)                                                                \
	int name(const char *path, int flags, ...)                                   \
	{                                                                            \
		static int (*real)(const char *, int, ...);                          \
		mode_t mode = OPEN_MODE(flags);                                      \
		note(path, flags);                                                   \
		if (!real)                                                           \
			real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, #name); \
		return real(path, flags, mode);                                      \
	}

OPENLOG(open)
OPENLOG(open64)
OPENLOG_AT(openat)
OPENLOG_AT(openat64)

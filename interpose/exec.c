/* The exec family: what the process recorded would be lost with its
 * image, so it is written first (core/dump.h ct_dump_before_exec: only
 * when something was recorded, never from a signal handler or a vfork()
 * child). A launcher that does its work with threads and then execs the
 * real program, nginx's binary upgrade, a test runner's exec: their
 * profiles were gone before.
 *
 * The calls pass through untouched, errno included. glibc's execl,
 * execle and execlp call execve and execvpe inside libc, not through the
 * wrappers, so they are wrapped themselves, building the argument array as
 * glibc does (on the stack: they are async-signal-safe and used between
 * vfork and exec). posix_spawn, system and popen exec in a child of their
 * own, which records nothing. Thread-safe; async-signal-safe where the
 * calls are (the dump is skipped in handlers). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#include "../core/compiler.h"
#include "../core/dump.h"
#include "interpose.h"
#include "real.h"

CT_EXPORT int
execve(const char *path, char *const argv[], char *const envp[])
{
	ct_dump_before_exec();
	return real_execve(path, argv, envp);
}

CT_EXPORT int
execv(const char *path, char *const argv[])
{
	ct_dump_before_exec();
	return real_execv(path, argv);
}

CT_EXPORT int
execvp(const char *file, char *const argv[])
{
	ct_dump_before_exec();
	return real_execvp(file, argv);
}

CT_EXPORT int
execvpe(const char *file, char *const argv[], char *const envp[])
{
	ct_dump_before_exec();
	return real_execvpe(file, argv, envp);
}

CT_EXPORT int
fexecve(int fd, char *const argv[], char *const envp[])
{
	ct_dump_before_exec();
	return real_fexecve(fd, argv, envp);
}

CT_EXPORT int
execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	ct_dump_before_exec();
	return real_execveat(dirfd, path, argv, envp, flags);
}

/* The number of arguments after arg up to the terminating null pointer,
 * counting arg (glibc's execl* rule: E2BIG past INT_MAX). */
#define CT_EXECL_COUNT(ap, arg, argc)                                  \
	do {                                                           \
		va_start(ap, arg);                                     \
		for (argc = 1; va_arg(ap, const char *); argc++)       \
			if (argc == INT_MAX) {                         \
				va_end(ap);                            \
				errno = E2BIG;                         \
				return -1;                             \
			}                                              \
		va_end(ap);                                            \
	} while (0)

/* argv[0] = arg, then the rest up to and with the null pointer; leaves ap
 * after it (execle's environment follows). */
#define CT_EXECL_FILL(ap, arg, argc, argv)                             \
	do {                                                           \
		va_start(ap, arg);                                     \
		argv[0] = (char *)arg;                                 \
		for (ptrdiff_t i = 1; i <= argc; i++)                  \
			argv[i] = va_arg(ap, char *);                  \
	} while (0)

/* return call, with argv the arguments from arg on (execl, execlp). */
#define CT_EXECL_ARGV(arg, call)                                       \
	do {                                                           \
		va_list ap;                                            \
		ptrdiff_t argc;                                        \
		CT_EXECL_COUNT(ap, arg, argc);                         \
		char *argv[argc + 1];                                  \
		CT_EXECL_FILL(ap, arg, argc, argv);                    \
		va_end(ap);                                            \
		return call;                                           \
	} while (0)

CT_EXPORT int
execl(const char *path, const char *arg, ...)
{
	CT_EXECL_ARGV(arg, execv(path, argv));
}

CT_EXPORT int
execlp(const char *file, const char *arg, ...)
{
	CT_EXECL_ARGV(arg, execvp(file, argv));
}

CT_EXPORT int
execle(const char *path, const char *arg, ...)
{
	va_list ap;
	ptrdiff_t argc;
	CT_EXECL_COUNT(ap, arg, argc);
	char *argv[argc + 1];
	CT_EXECL_FILL(ap, arg, argc, argv);
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}

/* The files of /proc/self/task/<tid>/ that core reads about a thread (its
 * name, the system call it is in), and which of them the kernel refused.
 * A leaf module: the thread registry (threads.c) and the remote stack
 * reader (stack_remote.c) both read them. */
#ifndef CT_TASK_H
#define CT_TASK_H

#include <sys/types.h>

/* Reads /proc/self/task/<tid>/<file> into buf (NUL-terminated, at most
 * len - 1 bytes). Returns the length or -1. Async-signal-safe. A file
 * closed to the process (EACCES, EPERM: after a uid/gid change or
 * PR_SET_DUMPABLE 0) is remembered for ct_task_denied. */
ssize_t ct_task_read(int tid, const char *file, char *buf, size_t len);

/* Which task files were refused so far (struct ct_snapshot.task_denied):
 * bit 0 any but comm, bit 1 comm. Thread-safe. */
unsigned ct_task_denied(void);

#endif

/* Reading /proc/self/task/<tid>/ files; see task.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sys.h"
#include "task.h"

static unsigned ct_task_denied_bits;

unsigned
ct_task_denied(void)
{
	return __atomic_load_n(&ct_task_denied_bits, __ATOMIC_RELAXED);
}

ssize_t
ct_task_read(int tid, const char *file, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", tid, file);
	ssize_t n = ct_sys_read_file(path, buf, len);
	if (n < 0 && (errno == EACCES || errno == EPERM))
		__atomic_fetch_or(&ct_task_denied_bits, strcmp(file, "comm") ? 1u : 2u,
				  __ATOMIC_RELAXED);
	return n;
}

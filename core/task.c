/* Reading /proc/self/task/<tid>/ files; see task.h. */
#include <errno.h>
#include <fcntl.h>
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
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES || errno == EPERM)
			__atomic_fetch_or(&ct_task_denied_bits, strcmp(file, "comm") ? 1u : 2u,
					  __ATOMIC_RELAXED);
		return -1;
	}
	ssize_t n = ct_sys_read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

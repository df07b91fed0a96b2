/* The table of core/sys.h, holding libc's own functions until the shim
 * installs the real ones. */
#include <fcntl.h>
#include <unistd.h>

#include "sys.h"

struct ct_sys ct_sys = {
#define CT_SYS_LIBC(name) .name = name,
	CT_SYS_FUNCS(CT_SYS_LIBC)
#undef CT_SYS_LIBC
};

void
ct_sys_install(const struct ct_sys *real)
{
	ct_sys = *real;
}

ssize_t
ct_sys_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = ct_sys_read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* ct_log: see log.h. Never uses stdio (the program's buffers and locks are
 * not ours to touch). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "sys.h"

bool
ct_notices_off(void)
{
	if (ct_cfg.quiet >= 0)
		return ct_cfg.quiet != 0;
	int saved = errno;
	bool tty = isatty(STDERR_FILENO);
	errno = saved;
	return !tty;
}

void
ct_log(const char *fmt, ...)
{
	char buf[512];
	int saved = errno;
	size_t pre = strlen("libcontend: ");
	memcpy(buf, "libcontend: ", pre);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + pre, sizeof(buf) - pre - 1, fmt, ap);
	va_end(ap);
	size_t len = pre + (n < 0 ? 0 : (size_t)n);
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	for (size_t off = 0; off < len;) {
		ssize_t w = ct_sys_write(STDERR_FILENO, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	errno = saved;
}

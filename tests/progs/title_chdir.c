/* A server that hides where it writes, as redis-server does: it writes its
 * process title over its environment block (so /proc/<pid>/environ shows
 * no CONTEND_OUT, CONTEND_DUMP_SIGNAL or PWD) and changes directory to
 * "/" (so its current directory is not where it started), prints ready=1,
 * and waits in poll() until its stdin is closed. */
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "progs.h"

int
main(void)
{
	write_title("title_chdir: serving");
	if (chdir("/") != 0)
		die("chdir", 0);
	printf("ready=1\n");
	fflush(stdout);
	struct pollfd in = {.fd = 0, .events = POLLIN};
	char c;
	while (poll(&in, 1, -1) >= 0 && read(0, &c, 1) > 0) {
	}
	return 0;
}

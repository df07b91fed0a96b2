/* std_closed: runs itself ("child") with stdin, stdout and stderr closed,
 * as a daemon, a posix_spawn with close actions or CPython's
 * test_no_stdin does, and prints "child=N", its exit status. The child
 * (with the shim and CONTEND_HTTP/CONTEND_DUMP_SIGNAL from the
 * environment) makes a thread, waits until the shim's thread ("libcontend")
 * is blocked in its poll (its wake-up channel, socket and signalfd made;
 * 60 s at most), and exits 0 when descriptors 0, 1 and 2 are all still
 * closed, else 10 + the first one open (the shim's pipe, as it was then,
 * took the number of a closed stdin, and the program took it for its
 * stdin). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static void *
nothing(void *arg)
{
	return arg;
}

/* The shim's thread is blocked in its poll. */
static int
shim_in_poll(void)
{
	char path[64];
	int tid = shim_thread_tid();
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	return tid && proc_syscall(path) == SYS_poll;
}

static int
child(void)
{
	pthread_t t;
	pthread_create(&t, NULL, nothing, NULL);
	pthread_join(t, NULL);
	for (int i = 0; i < 60000 && !shim_in_poll(); i++)
		pause_us_raw(1000);
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			return 10 + fd;
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "child"))
		return child();
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		close(0);
		close(1);
		close(2);
		execl("/proc/self/exe", argv[0], "child", (char *)NULL);
		_exit(127);
	}
	int st = -1;
	waitpid(c, &st, 0);
	printf("child=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

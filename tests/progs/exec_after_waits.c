/* exec_after_waits MODE: one mutex contention by construction (a waiter
 * blocked 20 ms behind exec_hold), then "before" and:
 *   execve execv execvp execvpe execl execle execlp fexecve
 *     replaces itself with /bin/true (or `true` on PATH) that way;
 *   fail    an execl of a path that does not exist: prints its result and
 *           errno, contends once more and exits 0;
 *   vfork   a vfork() child execs /bin/true; prints its exit status.
 * The test (tests/integration/test_lifecycle.c exec_*) checks that the
 * contention is in the profiles of the pid, written before the image was
 * replaced. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

SCENARIO_MUTEX(exec_hold, exec_wait, m)

static void
contend(void)
{
	struct scenario s = {.hold = exec_hold, .wait = exec_wait, .waiters = 1,
			     .hold_us = 20000, .rounds = 1};
	scenario_run(&s);
}

int
main(int argc, char **argv)
{
	need_args(argc, 2,
		  "exec_after_waits execve|execv|execvp|execvpe|execl|execle|execlp|fexecve|"
		  "fail|vfork");
	const char *mode = argv[1];
	char *const targv[] = {"true", NULL};
	contend();
	printf("before\n");
	fflush(stdout);
	if (!strcmp(mode, "fail")) {
		int r = execl("/nonexistent/ct-exec-after-waits", "x", (char *)NULL);
		printf("failed=%d errno=%s\n", r, strerrorname_np(errno));
		contend();
		return 0;
	}
	if (!strcmp(mode, "vfork")) {
		pid_t c = vfork();
		if (c == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		int st = -1;
		waitpid(c, &st, 0);
		printf("child=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return 0;
	}
	if (!strcmp(mode, "execve"))
		execve("/bin/true", targv, environ);
	else if (!strcmp(mode, "execv"))
		execv("/bin/true", targv);
	else if (!strcmp(mode, "execvp"))
		execvp("true", targv);
	else if (!strcmp(mode, "execvpe"))
		execvpe("true", targv, environ);
	else if (!strcmp(mode, "execl"))
		execl("/bin/true", "true", (char *)NULL);
	else if (!strcmp(mode, "execle"))
		execle("/bin/true", "true", (char *)NULL, environ);
	else if (!strcmp(mode, "execlp"))
		execlp("true", "true", (char *)NULL);
	else if (!strcmp(mode, "fexecve")) {
		int fd = open("/bin/true", O_RDONLY);
		fexecve(fd, targv, environ);
	}
	printf("exec failed: %s\n", strerror(errno));
	return 1;
}

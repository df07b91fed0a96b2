/* A vfork() child that calls exit() instead of _exit() after a failed
 * exec (undefined, yet common): it runs the atexit handlers in its
 * parent's memory.
 *   vfork_exit          (run with CONTEND_INTERVAL and CONTEND_OUT=DIR)
 * makes a recorded wait, vforks such a child, then waits (at most 60 s)
 * for a numbered snapshot written after the child's exit to appear in
 * $CONTEND_OUT, and prints child_status=N and later_snapshot=0|1. The
 * shim's thread is the parent's: the child's exit must not stop it.
 *   vfork_exit name
 * starts a thread that names itself "parentname", vforks a child that
 * names itself "childname" (prctl), then "childname2"
 * (pthread_setname_np) and _exit()s, and the thread ends unjoined; main makes a
 * recorded wait and exits 0: the thread dump lists the ended thread by
 * the parent's name. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

/* The highest snapshot number among dir's threads.NNNN.txt. */
static int
last_snapshot(const char *dir)
{
	int last = 0;
	DIR *d = opendir(dir);
	for (struct dirent *e; d && (e = readdir(d));) {
		int n;
		if (sscanf(e->d_name, "threads.%d.txt", &n) == 1 && n > last)
			last = n;
	}
	if (d)
		closedir(d);
	return last;
}

static int named_done;

/* Names itself, has a vfork() child name itself otherwise, and ends
 * unjoined: the thread dump at exit lists it (a leak) by the name the
 * shim kept for it. */
static void *
named(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "parentname");
	pid_t p = vfork();
	if (p == 0) {
		prctl(PR_SET_NAME, "childname");
		pthread_setname_np(pthread_self(), "childname2");
		_exit(0);
	}
	if (p < 0 || waitpid(p, NULL, 0) != p)
		die("vfork", 0);
	__atomic_store_n(&named_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "name")) {
		pthread_t t;
		XPT(pthread_create(&t, NULL, named, NULL));
		contended_wait(&m, 20000);
		while (!__atomic_load_n(&named_done, __ATOMIC_ACQUIRE))
			usleep(1000);
		usleep(20000); /* until the kernel has let it go */
		return 0;
	}
	const char *dir = getenv("CONTEND_OUT");
	if (!dir)
		die("CONTEND_OUT unset", 0);
	contended_wait(&m, 20000);
	pid_t p = vfork();
	if (p == 0) {
		execl("/nonexistent/vfork_exit", "x", (char *)NULL);
		exit(127);
	}
	int st;
	if (p < 0 || waitpid(p, &st, 0) != p)
		die("vfork", 0);
	printf("child_status=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	int before = last_snapshot(dir), later = 0;
	for (int i = 0; i < 6000 && !later; i++) {
		usleep(10000);
		later = last_snapshot(dir) > before + 1;
	}
	printf("later_snapshot=%d\n", later);
	fflush(stdout);
	_exit(0); /* the child used up the atexit handlers, as natively */
}

/* fork() under the shim. The parent makes contention (parent_hold), then
 * forks three children:
 *   child        makes contention of its own (child_hold) with new
 *                threads and leaves with exit(0): it must keep working
 *                and write its own profiles (CONTEND_OUT=...%p);
 *   idle child   records nothing and exit(0)s: writes nothing;
 *   _exit child  makes contention (child_hold) and leaves with _exit(0):
 *                writes nothing (documented: _exit skips the dump);
 *   pshared child blocks (pshared_child_lock) on a process-shared mutex
 *                in shared memory that the parent holds until 50 ms
 *                after the child sleeps on it, then bumps a shared
 *                counter under it.
 * Prints child_pid=, idle_child_pid=, quick_child_pid=, pshared_child_pid=;
 * exit 1 if a
 * child failed or a result differs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t pm = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;

SCENARIO_MUTEX(parent_hold, parent_wait, pm)

SCENARIO_MUTEX(child_hold, child_wait, cm)

struct shared {
	pthread_mutex_t m;
	int counter;
};

static NOINLINE int
pshared_child_lock(struct shared *sh)
{
	int r = pthread_mutex_lock(&sh->m);
	if (r == 0) {
		sh->counter++;
		r = pthread_mutex_unlock(&sh->m);
	}
	return r;
}

/* Children report through their exit status only: the parent's stdout
 * is flushed first, and the child's goes to /dev/null, so the output does
 * not depend on who flushes when. */
static pid_t
fork_or_die(void)
{
	fflush(NULL);
	pid_t p = fork();
	if (p < 0)
		die("fork", errno);
	if (p == 0)
		stdout_to_devnull();
	return p;
}

static void
check_child(pid_t pid, const char *name)
{
	int st;
	CHECK_EQ(waitpid(pid, &st, 0) == pid, 1);
	printf("%s: ", name);
	CHECK_EQ(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), 0);
}

int
main(void)
{
	struct scenario ps = {.hold = parent_hold, .wait = parent_wait, .waiters = 2,
			      .hold_us = 50000, .rounds = 2};
	scenario_run(&ps);

	/* Fork while another parent thread holds pm with a waiter queued:
	 * the child must not inherit the parent's waiter bookkeeping. */
	struct bg_hold h = {.lock = bg_mutex_lock, .unlock = bg_mutex_unlock, .obj = &pm,
			    .hold_us = 20000, .manual = 1};
	bg_hold_start(&h, 1);
	pid_t child = fork_or_die();
	if (child == 0) {
		struct scenario cs = {.hold = child_hold, .wait = child_wait, .waiters = 2,
				      .hold_us = 50000, .rounds = 2};
		scenario_run(&cs);
		/* pm was held by a parent thread that does not exist here;
		 * it stays held: trylock must say so. */
		CHECK_EQ(pthread_mutex_trylock(&pm), EBUSY);
		exit(check_status());
	}
	bg_release(&h);
	bg_hold_join(&h);

	pid_t idle = fork_or_die();
	if (idle == 0)
		exit(0);

	pid_t quick = fork_or_die();
	if (quick == 0) {
		struct scenario cs = {.hold = child_hold, .wait = child_wait, .waiters = 1,
				      .hold_us = 20000, .rounds = 1};
		scenario_run(&cs);
		fflush(stdout);
		_exit(0);
	}

	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap", errno);
	pthread_mutexattr_t a;
	XPT(pthread_mutexattr_init(&a));
	XPT(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED));
	XPT(pthread_mutex_init(&sh->m, &a));
	CHECK_EQ(pthread_mutex_lock(&sh->m), 0);
	pid_t psh = fork_or_die();
	if (psh == 0)
		exit(pshared_child_lock(sh) == 0 && sh->counter == 1 ? 0 : 1);
	/* Until the child sleeps on the lock (glibc's word 2: locked with
	 * waiters), then 50 ms more: the child waits at least that long. */
	while (__atomic_load_n(&sh->m.__data.__lock, __ATOMIC_ACQUIRE) != 2)
		sleep_us(1000);
	sleep_us(50000);
	sh->counter = 0;
	CHECK_EQ(pthread_mutex_unlock(&sh->m), 0);

	check_child(child, "child");
	check_child(idle, "idle child");
	check_child(quick, "_exit child");
	check_child(psh, "pshared child");
	CHECK_EQ(pthread_mutex_lock(&sh->m), 0);
	CHECK_EQ(sh->counter, 1);
	CHECK_EQ(pthread_mutex_unlock(&sh->m), 0);

	printf("child_pid=%d\nidle_child_pid=%d\nquick_child_pid=%d\npshared_child_pid=%d\n",
	       (int)child, (int)idle, (int)quick, (int)psh);
	return check_status();
}

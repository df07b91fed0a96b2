/* Threads that finish without being joined, each named another way, for
 * the names of exited threads in thread dumps (the shim keeps a thread's
 * name as it changes instead of asking the kernel at its exit):
 *   "viaprctl"    prctl(PR_SET_NAME)          by itself
 *   "viasetname"  pthread_setname_np(self)    by itself
 *   "viasyscall"  syscall(SYS_prctl, PR_SET_NAME) by itself
 *   "byother"     pthread_setname_np(t)       by main, while it runs
 *   "creator"     not renamed: main's name (main renames itself first)
 * Main joins none of them; each has ended (main waits until the
 * thread's CPU clock is gone) before main returns (the exit dump). */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "progs.h"

static sem_t named, go_on;
static clockid_t clocks[5]; /* each thread's CPU clock: gone once it ends */

enum how { PRCTL, SETNAME, SYSCALL, OTHER, NONE };

static void *
named_thread(void *arg)
{
	enum how how = (enum how)(long)arg;
	XPT(pthread_getcpuclockid(pthread_self(), &clocks[how]));
	if (how == PRCTL)
		prctl(PR_SET_NAME, "viaprctl", 0, 0, 0);
	else if (how == SETNAME)
		pthread_setname_np(pthread_self(), "viasetname");
	else if (how == SYSCALL)
		syscall(SYS_prctl, PR_SET_NAME, "viasyscall", 0, 0, 0);
	sem_post(&named);
	if (how == OTHER)
		sem_wait(&go_on); /* main names it meanwhile */
	return NULL;
}

int
main(void)
{
	pthread_t t[5];
	if (sem_init(&named, 0, 0) || sem_init(&go_on, 0, 0))
		return 1;
	prctl(PR_SET_NAME, "creator", 0, 0, 0);
	for (long i = 0; i < 5; i++) {
		XPT(pthread_create(&t[i], NULL, named_thread, (void *)i));
		while (sem_wait(&named) != 0)
			;
		if (i == OTHER) {
			XPT(pthread_setname_np(t[i], "byother"));
			sem_post(&go_on);
		}
	}
	/* Each thread's CPU clock stops existing once the kernel has seen
	 * it exit (after the shim's exit handler ran). */
	for (int i = 0; i < 5; i++) {
		struct timespec ts;
		while (clock_gettime(clocks[i], &ts) == 0)
			usleep(1000);
	}
	printf("ready\n");
	return 0;
}

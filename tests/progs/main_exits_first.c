/* main creates two joinable threads and leaves with pthread_exit; each
 * thread returns at once and nobody joins them, so the process ends when
 * the last of the three exits, and that is never main. Whichever thread
 * is last runs the exit dump: the dump must show the two finished,
 * unjoined threads as leaks and no running thread (the shim's own exit
 * helper once showed up as one). Known by construction, whatever the
 * order in which the threads end. */
#include <pthread.h>
#include <stdio.h>

static void *
finish(void *arg)
{
	return arg;
}

int
main(void)
{
	pthread_t a, b;
	if (pthread_create(&a, NULL, finish, NULL) != 0 ||
	    pthread_create(&b, NULL, finish, NULL) != 0) {
		perror("pthread_create");
		return 1;
	}
	pthread_exit(NULL);
}

/* The last thread left, with a small stack of the program's choosing,
 * calls exit():
 *   small_stack_exit
 * main starts a thread with the smallest stack (PTHREAD_STACK_MIN, 16 KiB)
 * and leaves by pthread_exit; that thread makes a recorded wait
 * (contended_wait, its holder on a default stack), then calls exit(3). Natively the status is 3; the
 * shim's final dump, which needs far more stack than that, must not
 * change it. */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *
last(void *arg)
{
	(void)arg;
	usleep(20000); /* main is gone */
	contended_wait(&m, 20000);
	exit(3);
}

int
main(void)
{
	pthread_attr_t a;
	pthread_t t;
	XPT(pthread_attr_init(&a));
	XPT(pthread_attr_setstacksize(&a, PTHREAD_STACK_MIN));
	XPT(pthread_create(&t, &a, last, NULL));
	pthread_exit(NULL);
}

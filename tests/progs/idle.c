/* A program that records nothing: only uncontended locks and waits that
 * cannot block. Prints one line on stdout and exits with argv[1] (default
 * 0), so tests can check that output and status pass through unchanged
 * and that no profile directory appears.
 *   idle [status] */
#include <semaphore.h>
#include <stdio.h>

#include "progs.h"

int
main(int argc, char **argv)
{
	static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	static pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;
	sem_t s;
	int status = argc > 1 ? (int)arg_long(argc, argv, 1, 0) : 0;
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&m);
		pthread_mutex_unlock(&m);
		pthread_rwlock_rdlock(&l);
		pthread_rwlock_unlock(&l);
	}
	if (sem_init(&s, 0, 1) != 0 || sem_wait(&s) != 0)
		return 98;
	printf("idle: hello\n");
	return status;
}

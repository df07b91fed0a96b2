/* A shared library whose constructor locks before libcontend's
 * constructor has run (the dynamic linker runs a program's DT_NEEDED
 * libraries' constructors before LD_PRELOAD ones): uncontended and
 * contended mutex locks, a condvar wait and a semaphore wait, all with
 * threads started from the constructor. ctor_lock_status() says whether
 * every call behaved; ctor_prog checks it. */
#include <errno.h>
#include <semaphore.h>

#include "progs.h"

static int status = -1;

int ctor_lock_status(void);
int
ctor_lock_status(void)
{
	return status;
}

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static sem_t held;
static int flag;

static void *
ctor_helper(void *arg)
{
	pthread_mutex_lock(&m);
	sem_post(&held);
	sleep_us(20000); /* the constructor blocks on m meanwhile */
	pthread_mutex_unlock(&m);
	sleep_us(20000); /* the constructor waits on c meanwhile */
	pthread_mutex_lock(&m);
	flag = 1;
	pthread_cond_signal(&c);
	pthread_mutex_unlock(&m);
	return arg;
}

__attribute__((constructor)) static void
ctor_lock_init(void)
{
	int bad = 0;
	pthread_t t;
	void *ret = NULL;
	bad += pthread_mutex_lock(&m) != 0;
	bad += pthread_mutex_unlock(&m) != 0;
	bad += sem_init(&held, 0, 0) != 0;
	bad += pthread_create(&t, NULL, ctor_helper, &status) != 0;
	while (sem_wait(&held) != 0) /* a semaphore wait until it holds m */
		bad += errno != EINTR;
	bad += pthread_mutex_lock(&m) != 0; /* contended */
	while (!flag)
		bad += pthread_cond_wait(&c, &m) != 0;
	bad += pthread_mutex_unlock(&m) != 0;
	bad += pthread_join(t, &ret) != 0;
	bad += ret != &status;
	status = bad;
}

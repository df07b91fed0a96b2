/* Read-write lock contention by construction, two directions:
 *   rwlock_hold wr [waiters] [hold_us] [rounds] [plain|timed|clock]
 *     a writer holds (writer_hold_and_sleep), readers wait in
 *     pthread_rwlock_rdlock (reader_rdlock);
 *   rwlock_hold rd [waiters] [hold_us] [rounds] [plain|timed|clock]
 *     a reader holds (reader_hold_and_sleep), writers wait in
 *     pthread_rwlock_wrlock (writer_wrlock).
 * Mutex profile: pthread_rwlock_unlock <- *_hold_and_sleep; block profile:
 * the lock call <- the waiter function; both about rounds*waiters*hold_us. */

#include "progs.h"

static pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;

static NOINLINE void
writer_hold_and_sleep(struct scenario *s)
{
	pthread_rwlock_wrlock(&l);
	scenario_go(s);
	pthread_rwlock_unlock(&l);
}

static NOINLINE void
reader_rdlock(struct scenario *s)
{
	WAIT_FLAVOURED(s, pthread_rwlock, rdlock, &l);
	pthread_rwlock_unlock(&l);
}

static NOINLINE void
reader_hold_and_sleep(struct scenario *s)
{
	pthread_rwlock_rdlock(&l);
	scenario_go(s);
	pthread_rwlock_unlock(&l);
}

static NOINLINE void
writer_wrlock(struct scenario *s)
{
	WAIT_FLAVOURED(s, pthread_rwlock, wrlock, &l);
	pthread_rwlock_unlock(&l);
}

SCENARIO_MODES_MAIN("rwlock_hold", {"wr", writer_hold_and_sleep, reader_rdlock},
		    {"rd", reader_hold_and_sleep, writer_wrlock})

/* Locks with known names and a known wait distribution, for
 * tests/integration/test_locks.c (issue 14):
 *   - ledger_lock: a static mutex, 10 waits of 2 ms in wait_ledger();
 *   - table_lock: a static rwlock, 10 reader waits of 2 ms in wait_table();
 *   - a heap mutex made by pthread_mutex_init in make_account(), 10 waits
 *     of 2 ms in wait_account();
 *   - a heap mutex set up with PTHREAD_MUTEX_INITIALIZER (never init'ed):
 *     10 waits of 2 ms in wait_cache(), its first wait;
 *   - mix_lock: a static mutex, 90 waits of 1 ms then 10 of 50 ms in
 *     wait_mix().
 * Each wait is made by construction: the main thread holds the lock, lets
 * the waiter thread go, waits until the kernel shows it blocked in
 * futex(), then sleeps the wait's length and unlocks; so every wait lasts
 * at least that long. The waiter measures each of its waits and prints
 * the sums (<lock>_wait_ns=) and the count of each. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "progs.h"

static pthread_mutex_t ledger_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t mix_lock = PTHREAD_MUTEX_INITIALIZER;

struct account {
	long balance;
	pthread_mutex_t mu;
};

struct cache {
	pthread_mutex_t mu;
	int hits;
};

static struct account *the_account;
static struct cache *cache;

enum which { LEDGER, TABLE, ACCOUNT, CACHE, MIX, NLOCKS };
static const char *const names[NLOCKS] = {"ledger", "table", "account", "cache", "mix"};

/* One round's orders from main to the waiter thread. */
static int order = -1;         /* enum which, or NLOCKS: stop */
static int go_round, ready_round, done_round;
static int waiter_tid;
static int64_t waited_ns[NLOCKS];
static long waits[NLOCKS];

static NOINLINE struct account *
make_account(void)
{
	struct account *a = calloc(1, sizeof(*a));
	if (!a)
		die("calloc", 12);
	XPT(pthread_mutex_init(&a->mu, NULL));
	return a;
}

static NOINLINE struct cache *
make_cache(void)
{
	struct cache *c = malloc(sizeof(*c));
	if (!c)
		die("malloc", 12);
	c->mu = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	c->hits = 0;
	return c;
}

/* The waits, each in a function of its own (the test isolates each lock
 * with -tagfocus and looks for these). */
static NOINLINE void
wait_ledger(void)
{
	MUST0(pthread_mutex_lock(&ledger_lock));
	MUST0(pthread_mutex_unlock(&ledger_lock));
}

static NOINLINE void
wait_table(void)
{
	MUST0(pthread_rwlock_rdlock(&table_lock));
	MUST0(pthread_rwlock_unlock(&table_lock));
}

static NOINLINE void
wait_account(void)
{
	MUST0(pthread_mutex_lock(&the_account->mu));
	the_account->balance++;
	MUST0(pthread_mutex_unlock(&the_account->mu));
}

static NOINLINE void
wait_cache(void)
{
	MUST0(pthread_mutex_lock(&cache->mu));
	cache->hits++;
	MUST0(pthread_mutex_unlock(&cache->mu));
}

static NOINLINE void
wait_mix(void)
{
	MUST0(pthread_mutex_lock(&mix_lock));
	MUST0(pthread_mutex_unlock(&mix_lock));
}

static void *
waiter(void *arg)
{
	(void)arg;
	__atomic_store_n(&waiter_tid, self_tid(), __ATOMIC_RELEASE);
	for (int round = 1;; round++) {
		while (__atomic_load_n(&go_round, __ATOMIC_ACQUIRE) < round)
			pause_us_raw(100);
		int w = __atomic_load_n(&order, __ATOMIC_ACQUIRE);
		if (w == NLOCKS)
			return NULL;
		__atomic_store_n(&ready_round, round, __ATOMIC_RELEASE);
		int64_t t0 = now_ns();
		switch (w) {
		case LEDGER: wait_ledger(); break;
		case TABLE: wait_table(); break;
		case ACCOUNT: wait_account(); break;
		case CACHE: wait_cache(); break;
		case MIX: wait_mix(); break;
		}
		waited_ns[w] += now_ns() - t0;
		waits[w]++;
		__atomic_store_n(&done_round, round, __ATOMIC_RELEASE);
	}
}

static int round_no;

/* The mutex of lock w; NULL for TABLE, the rwlock. */
static pthread_mutex_t *
mutex_of(enum which w)
{
	switch (w) {
	case LEDGER: return &ledger_lock;
	case ACCOUNT: return &the_account->mu;
	case CACHE: return &cache->mu;
	case MIX: return &mix_lock;
	default: return NULL;
	}
}

/* Makes the waiter wait about hold_us on lock w, by construction. */
static void
one_wait(enum which w, long hold_us)
{
	/* Taken and released here: one_wait is the holders' site. */
	pthread_mutex_t *m = mutex_of(w);
	MUST0(m ? pthread_mutex_lock(m) : pthread_rwlock_wrlock(&table_lock));
	round_no++;
	__atomic_store_n(&order, (int)w, __ATOMIC_RELEASE);
	__atomic_store_n(&go_round, round_no, __ATOMIC_RELEASE);
	while (__atomic_load_n(&ready_round, __ATOMIC_ACQUIRE) < round_no)
		pause_us_raw(50);
	/* Blocked in the lock's futex wait (bounded: 10 s, then on anyway). */
	int tid = __atomic_load_n(&waiter_tid, __ATOMIC_ACQUIRE);
	for (int i = 0; i < 100000 && !in_syscall(tid, SYS_futex); i++)
		pause_us_raw(100);
	pause_us_raw(200); /* when in_syscall cannot tell */
	sleep_us(hold_us);
	MUST0(m ? pthread_mutex_unlock(m) : pthread_rwlock_unlock(&table_lock));
	while (__atomic_load_n(&done_round, __ATOMIC_ACQUIRE) < round_no)
		pause_us_raw(50);
}

/* "stuck": ends with the waiter blocked on ledger_lock for good (the
 * thread dump must name it); "serve": after the waits, says ready=1 and
 * waits for stdin to close (live /debug/pprof/locks). */
int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	pthread_t t;
	the_account = make_account();
	cache = make_cache();
	XPT(pthread_create(&t, NULL, waiter, NULL));
	for (int i = 0; i < 10; i++) {
		one_wait(LEDGER, 2000);
		one_wait(TABLE, 2000);
		one_wait(ACCOUNT, 2000);
		one_wait(CACHE, 2000);
	}
	for (int i = 0; i < 90; i++)
		one_wait(MIX, 1000);
	for (int i = 0; i < 10; i++)
		one_wait(MIX, 50000);
	if (!strcmp(mode, "stuck")) {
		/* The waiter blocks on ledger_lock, which main never releases. */
		MUST0(pthread_mutex_lock(&ledger_lock));
		round_no++;
		__atomic_store_n(&order, (int)LEDGER, __ATOMIC_RELEASE);
		__atomic_store_n(&go_round, round_no, __ATOMIC_RELEASE);
		int tid = __atomic_load_n(&waiter_tid, __ATOMIC_ACQUIRE);
		for (int i = 0; i < 100000 && !in_syscall(tid, SYS_futex); i++)
			pause_us_raw(100);
		sleep_us(1500 * 1000);
		printf("stuck_tid=%d\n", tid);
		fflush(stdout);
		exit(0);
	}
	if (!strcmp(mode, "serve")) {
		char c;
		printf("ready=1\n");
		fflush(stdout);
		while (read(0, &c, 1) > 0)
			;
	}
	round_no++;
	__atomic_store_n(&order, NLOCKS, __ATOMIC_RELEASE);
	__atomic_store_n(&go_round, round_no, __ATOMIC_RELEASE);
	XPT(pthread_join(t, NULL));
	for (int w = 0; w < NLOCKS; w++)
		printf("%s_waits=%ld\n%s_wait_ns=%lld\n", names[w], waits[w], names[w],
		       (long long)waited_ns[w]);
	free(the_account);
	free(cache);
	return check_status();
}

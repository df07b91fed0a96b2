/* A toy bank: a pool of teller threads moves money between accounts.
 * The hot spot is on purpose: audit_transfer() runs its slow audit while
 * holding the one global ledger lock, so every other teller waits.
 *
 *   LD_PRELOAD=build/libcontend.so build/examples/bank
 *   go tool pprof -top contend.<pid>/mutex.pb.gz      (who made others wait)
 *   go tool pprof -list audit_transfer contend.<pid>/mutex.pb.gz
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ACCOUNTS 64
#define TELLERS 4
#define TRANSFERS 200

static pthread_mutex_t ledger_lock = PTHREAD_MUTEX_INITIALIZER;
static long balance[ACCOUNTS];

static void
slow_audit(void)
{
	/* Stands for a log write or a fraud check: 200 us of "work". */
	struct timespec ts = {0, 200 * 1000};
	nanosleep(&ts, NULL);
}

static void
audit_transfer(int from, int to, long amount)
{
	pthread_mutex_lock(&ledger_lock);
	balance[from] -= amount;
	balance[to] += amount;
	slow_audit(); /* the culprit: slow work inside the critical section */
	pthread_mutex_unlock(&ledger_lock);
}

static void *
teller(void *arg)
{
	unsigned seed = (unsigned)(size_t)arg;
	for (int i = 0; i < TRANSFERS; i++) {
		int from = rand_r(&seed) % ACCOUNTS, to = rand_r(&seed) % ACCOUNTS;
		audit_transfer(from, to, 1 + rand_r(&seed) % 100);
	}
	return NULL;
}

int
main(void)
{
	pthread_t t[TELLERS];
	for (int i = 0; i < ACCOUNTS; i++)
		balance[i] = 1000;
	for (long i = 0; i < TELLERS; i++)
		pthread_create(&t[i], NULL, teller, (void *)(i + 1));
	for (int i = 0; i < TELLERS; i++)
		pthread_join(t[i], NULL);
	long total = 0;
	for (int i = 0; i < ACCOUNTS; i++)
		total += balance[i];
	printf("bank: %d transfers done, total balance %ld (expected %d)\n", TELLERS * TRANSFERS,
	       total, ACCOUNTS * 1000);
	return total == ACCOUNTS * 1000 ? 0 : 1;
}

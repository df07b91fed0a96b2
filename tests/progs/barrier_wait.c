/* Barrier waits by construction: waiters arrive at barrier b at once
 * (barrier_early), the main thread arrives hold_us later (barrier_late).
 *   barrier_wait [waiters=4] [hold_us=100000] [rounds=3]
 * Block profile: pthread_barrier_wait <- barrier_early, about
 * rounds*waiters*hold_us. Also checks that exactly one thread per round
 * gets PTHREAD_BARRIER_SERIAL_THREAD and the others 0 (exit 1 if not). */
#include "progs.h"

static pthread_barrier_t b;
static int serial, zero, other;

static void
count_result(int r)
{
	int *slot = r == PTHREAD_BARRIER_SERIAL_THREAD ? &serial : r == 0 ? &zero : &other;
	__atomic_fetch_add(slot, 1, __ATOMIC_RELAXED);
}

static NOINLINE void
barrier_late(struct scenario *s)
{
	scenario_go(s);
	count_result(pthread_barrier_wait(&b));
}

static NOINLINE void
barrier_early(struct scenario *s)
{
	count_result(pthread_barrier_wait(&b));
}

int
main(int argc, char **argv)
{
	struct scenario s = {.hold = barrier_late, .wait = barrier_early};
	scenario_args(&s, argc, argv, 1);
	XPT(pthread_barrier_init(&b, NULL, (unsigned)s.waiters + 1));
	scenario_run(&s);
	CHECK_EQ(serial, s.rounds);
	CHECK_EQ(zero, s.rounds * s.waiters);
	CHECK_EQ(other, 0);
	return check_status();
}

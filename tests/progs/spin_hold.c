/* Spinlock contention by construction: the main thread holds a
 * pthread_spinlock_t for hold_us per round (spin_hold_and_sleep) while
 * waiters spin in pthread_spin_lock (spin_waiter). Spinning burns a CPU,
 * so keep waiters at 1 on small machines.
 *   spin_hold [waiters=1] [hold_us=100000] [rounds=3]
 * Mutex profile: pthread_spin_unlock <- spin_hold_and_sleep; block
 * profile: pthread_spin_lock <- spin_waiter. */
#include "progs.h"

static pthread_spinlock_t sl;

static NOINLINE void
spin_hold_and_sleep(struct scenario *s)
{
	pthread_spin_lock(&sl);
	scenario_go(s);
	pthread_spin_unlock(&sl);
}

static NOINLINE void
spin_waiter(struct scenario *s)
{
	pthread_spin_lock(&sl);
	pthread_spin_unlock(&sl);
}

int
main(int argc, char **argv)
{
	struct scenario s = {.hold = spin_hold_and_sleep, .wait = spin_waiter, .spins = 1};
	XPT(pthread_spin_init(&sl, PTHREAD_PROCESS_PRIVATE));
	scenario_args(&s, argc, argv, 1);
	if (argc < 2)
		s.waiters = 1;
	scenario_run(&s);
	return 0;
}

/* Linked against libctor_lock.so, whose constructor locks before
 * libcontend's constructor runs. Checks that those calls behaved, then
 * makes contention (ctor_prog_hold) that must be profiled normally.
 *   ctor_prog [waiters] [hold_us] [rounds] */
#include <stdio.h>

#include "progs.h"

int ctor_lock_status(void);

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

SCENARIO_MUTEX(ctor_prog_hold, ctor_prog_wait, m)

int
main(int argc, char **argv)
{
	CHECK_EQ(ctor_lock_status(), 0);
	struct scenario s = {.hold = ctor_prog_hold, .wait = ctor_prog_wait};
	scenario_args(&s, argc, argv, 1);
	scenario_run(&s);
	return check_status();
}

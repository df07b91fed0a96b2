/* The state the fork protocol leaves for other modules; see forkstate.h.
 * Plain words: written by the forking thread's child handler (or a test
 * seam) before any other thread of the child exists. */
#include <time.h>

#include "forkstate.h"
#include "sys.h"

static int ct_heap_bad;

bool
ct_forkstate_heap_unsafe(void)
{
	return ct_heap_bad;
}

void
ct_forkstate_set_heap_unsafe(void)
{
	ct_heap_bad = 1;
}

#ifdef CT_TEST_SEAMS
static int *ct_test_held;

void
ct_forkstate_test_held(int *held)
{
	ct_test_held = held;
}

void
ct_forkstate_test_sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	if (ct_test_held)
		__atomic_store_n(ct_test_held, 1, __ATOMIC_RELEASE);
	while (ct_sys_nanosleep(&ts, &ts) != 0) {
	}
	if (ct_test_held)
		__atomic_store_n(ct_test_held, 0, __ATOMIC_RELEASE);
}
#endif

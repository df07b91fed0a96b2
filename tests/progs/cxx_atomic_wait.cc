// C++20 std::atomic<int>::wait / notify: libstdc++ sleeps and wakes
// through syscall(SYS_futex) (bits/atomic_wait.h, inlined into this
// program), so the waits are futex waits. With the harness of progs.h:
// each round, contend_test::atomic_notifier releases the waiters, sleeps
// hold_us, stores the next round number and notifies (notify_one for one
// waiter, notify_all for more); each waiter, in contend_test::atomic_waiter,
// waits for the number to move past its round.
//   cxx_atomic_wait [waiters=1] [hold_us=200000] [rounds=2]
// Block profile: futex_wait, contend_test::atomic_waiter on the stack,
// about rounds*waiters*hold_us. Mutex profile: futex_wake,
// contend_test::atomic_notifier on the stack, the same.
#include <atomic>

#include "progs.h"

namespace contend_test {

static std::atomic<int> value{0};

NOINLINE void
atomic_notifier(scenario *s)
{
	int next = value.load() + 1;
	scenario_go(s);
	value.store(next);
	if (s->waiters == 1)
		value.notify_one();
	else
		value.notify_all();
}

NOINLINE void
atomic_waiter(scenario *)
{
	static thread_local int round;
	value.wait(round);
	round++;
}

} // namespace contend_test

int
main(int argc, char **argv)
{
	scenario s = {};
	s.hold = contend_test::atomic_notifier;
	s.wait = contend_test::atomic_waiter;
	s.waiters = (int)arg_long(argc, argv, 1, 1);
	s.hold_us = arg_long(argc, argv, 2, 200000);
	s.rounds = (int)arg_long(argc, argv, 3, 2);
	s.flavour = FLAVOUR_PLAIN;
	scenario_run(&s);
	return 0;
}

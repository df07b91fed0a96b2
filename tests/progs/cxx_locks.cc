// The C++ standard library's locks go through the pthread functions the
// shim wraps. Three scenarios in one run, each with the harness of
// progs.h (waiters block about rounds*waiters*hold_us in total):
//   std::mutex:              contend_test::cxx_mutex_hold (holder),
//                            contend_test::cxx_mutex_wait (waiters)
//   std::shared_mutex:       contend_test::cxx_shared_hold (exclusive),
//                            contend_test::cxx_shared_wait (shared waiters)
//   std::condition_variable: contend_test::cxx_cv_notify,
//                            contend_test::cxx_cv_wait (waiters)
//   cxx_locks [waiters=2] [hold_us=50000] [rounds=2]
// Prints the harness lines of each scenario, prefixed by its name. Then
// std::timed_mutex::try_lock_for on a held mutex (pthread_mutex_clocklock
// in libstdc++) must give up after its time-out (contend_test::cxx_try_for;
// exit 1 otherwise).
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <shared_mutex>

#include "progs.h"

namespace contend_test {

static std::mutex mtx;
static std::shared_mutex smtx;
static std::mutex cv_mtx;
static std::condition_variable cv;
static int cv_round;

// The holder and the waiters of lock m: hold owns it through a HoldGuard
// for the scenario's round, wait blocks in a WaitGuard's constructor.
// Functions of their own (not a template), since the tests name them.
#define HOLD_AND_WAIT(hold, wait, m, HoldGuard, WaitGuard)                                       \
	NOINLINE void hold(scenario *s)                                                          \
	{                                                                                        \
		HoldGuard g(m);                                                                  \
		scenario_go(s);                                                                  \
	}                                                                                        \
	NOINLINE void wait(scenario *)                                                           \
	{                                                                                        \
		WaitGuard g(m);                                                                  \
	}
HOLD_AND_WAIT(cxx_mutex_hold, cxx_mutex_wait, mtx, std::lock_guard<std::mutex>,
	      std::lock_guard<std::mutex>)
HOLD_AND_WAIT(cxx_shared_hold, cxx_shared_wait, smtx, std::unique_lock<std::shared_mutex>,
	      std::shared_lock<std::shared_mutex>)

NOINLINE void
cxx_cv_notify(scenario *s)
{
	int next;
	{
		std::lock_guard<std::mutex> g(cv_mtx);
		next = cv_round + 1;
	}
	scenario_go(s);
	std::lock_guard<std::mutex> g(cv_mtx);
	cv_round = next;
	cv.notify_all();
}

NOINLINE void
cxx_cv_wait(scenario *)
{
	std::unique_lock<std::mutex> g(cv_mtx);
	int seen = cv_round;
	cv.wait(g, [seen] { return cv_round != seen; });
}

static std::timed_mutex tmtx;

NOINLINE bool
cxx_try_for(long us)
{
	return tmtx.try_lock_for(std::chrono::microseconds(us));
}

} // namespace contend_test

int
main(int argc, char **argv)
{
	using namespace contend_test;
	static const struct {
		const char *name;
		void (*hold)(scenario *);
		void (*wait)(scenario *);
	} kinds[] = {
		{"mutex", cxx_mutex_hold, cxx_mutex_wait},
		{"shared_mutex", cxx_shared_hold, cxx_shared_wait},
		{"condition_variable", cxx_cv_notify, cxx_cv_wait},
	};
	for (const auto &k : kinds) {
		scenario s{};
		s.hold = k.hold;
		s.wait = k.wait;
		scenario_args(&s, argc, argv, 1);
		if (argc < 2)
			s.waiters = 2, s.hold_us = 50000, s.rounds = 2;
		std::printf("%s: ", k.name);
		scenario_run(&s);
	}

	struct bg_hold h = {};
	h.lock = [](void *m) { static_cast<std::timed_mutex *>(m)->lock(); return 0; };
	h.unlock = [](void *m) { static_cast<std::timed_mutex *>(m)->unlock(); return 0; };
	h.obj = &tmtx;
	h.manual = 1;
	bg_hold_start(&h, 1);
	int64_t t0 = now_ns();
	CHECK_EQ(cxx_try_for(50000), false);
	std::printf("try_for_ns=%lld\n", (long long)(now_ns() - t0));
	bg_release(&h);
	bg_hold_join(&h);
	return check_status();
}

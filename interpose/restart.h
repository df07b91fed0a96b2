/* Restarting the calls that a signal handler interrupts with EINTR
 * whatever SA_RESTART says, where only libcontend's own handler did: the
 * wrappers of io_poll.c, io_wait.c, sem.c and futex.c. Inline; no lock,
 * no allocation; reads the clock only for a call with a finite timeout
 * the kernel does not update. Async-signal-safe like the wrappers. */
#ifndef CT_INTERPOSE_RESTART_H
#define CT_INTERPOSE_RESTART_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../core/dumper.h"
#include "../core/hot.h"
#include "../core/thread.h"

/* Calls that a signal handler interrupts with EINTR whatever SA_RESTART
 * says (signal(7): poll, select, epoll, sleeps, sigsuspend, pause,
 * sigtimedwait, msgrcv, msgsnd; sem_timedwait, a futex wait with a
 * timeout). A signal whose action is libcontend's, standing for the
 * default (CONTEND_DUMP_SIGNAL: SIGWINCH, say), would
 * not have interrupted them natively: a default that ignores interrupts
 * nothing, and one that stops restarts them. So when only our handler
 * ran (ct_self.sig_intr, core/thread.h), CT_RESTART makes the call again,
 * after `again` set its timeout to what is left of it, with errno as it
 * was before the call: the program sees one call, and thread dumps one
 * wait (the dump the signal asked for finds the thread still in it).
 * A program handler that ran (CT_INTR_PROG) ends it with EINTR, as
 * natively. The dumper a single-threaded process starts at the end of a
 * wait (core/dumper.h) is started here instead. Evaluates to the result
 * of the last call; intr tells, from rv_, that it failed with EINTR. A
 * process with no such action (no CONTEND_DUMP_SIGNAL, ct_hot.restart_on)
 * makes the call once, at the cost of one load. */
#define CT_RESTART(type, call, intr, again)                                   \
	({                                                                    \
		type rv_;                                                     \
		if (!__atomic_load_n(&ct_hot.restart_on, __ATOMIC_RELAXED)) { \
			rv_ = (call);                                         \
		} else {                                                      \
			int e0_ = errno;                                      \
			ct_self.sig_intr = 0;                                 \
			while ((rv_ = (call)), (intr) && ct_io_intr_ours()) { \
				errno = e0_;                                  \
				again;                                        \
			}                                                     \
		}                                                             \
		rv_;                                                          \
	})

#define CT_EINTR(r) ((r) < 0 && errno == EINTR)

/* After an EINTR: whether only libcontend's handlers caused it; then
 * clears the record for the next call and starts a dumper due. */
static inline bool
ct_io_intr_ours(void)
{
	if (ct_self.sig_intr != CT_INTR_OURS)
		return false;
	ct_self.sig_intr = 0;
	if (!ct_guard_held()) /* not the shim's own call */
		ct_dumper_start_if_wanted();
	return true;
}

/* When a call with a timeout of its own (finite: not infinite, not
 * zero) began, for what is left of it after a restart; 0 otherwise, and
 * 0 in a process where no action of ours returns (no CONTEND_DUMP_SIGNAL:
 * ct_hot.restart_on), which then reads no clock. From 0, the helpers
 * below give the whole timeout again. CLOCK_MONOTONIC, as the kernel's
 * own timeouts of these calls. */
static inline int64_t
ct_io_began(bool finite)
{
	return finite && __atomic_load_n(&ct_hot.restart_on, __ATOMIC_RELAXED) ? ct_now_ns() : 0;
}

/* What is left of ms milliseconds begun at t0 (ct_io_began), rounded up
 * as the kernel rounds a timeout; a negative ms (infinite) stays. */
static inline int
ct_io_left_ms(int64_t t0, int ms)
{
	if (ms <= 0 || !t0)
		return ms;
	int64_t left = t0 + (int64_t)ms * 1000000 - ct_now_ns();
	return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

/* What is left of *t begun at t0, into *left; a relative timespec. */
static inline void
ct_io_left_ts(int64_t t0, const struct timespec *t, struct timespec *left)
{
	if (!t0 || t->tv_sec >= 1000000000) { /* "for ever": 31 years and more */
		*left = *t;
		return;
	}
	int64_t ns = t0 + (int64_t)t->tv_sec * 1000000000 + t->tv_nsec - ct_now_ns();
	if (ns < 0)
		ns = 0;
	left->tv_sec = ns / 1000000000;
	left->tv_nsec = ns % 1000000000;
}

/* What is left of us microseconds begun at t0. */
static inline useconds_t
ct_io_left_us(int64_t t0, useconds_t us)
{
	if (!t0)
		return us;
	int64_t left = t0 + (int64_t)us * 1000 - ct_now_ns();
	return left <= 0 ? 0 : (useconds_t)((left + 999) / 1000);
}

/* left, set to what is left of t (ct_io_left_ts); NULL (no timeout)
 * stays NULL. */
static inline const struct timespec *
ct_io_left_ts_or(int64_t t0, const struct timespec *t, struct timespec *left)
{
	if (!t)
		return NULL;
	ct_io_left_ts(t0, t, left);
	return left;
}

#endif

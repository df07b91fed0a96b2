/* Per-entry sequence counters: how snapshots read the recording tables
 * (core/table.c, core/locks.c) without taking a lock a recording thread
 * takes, so that a snapshot never pauses the program.
 *
 * The writer already excludes other writers (it holds the entry's stripe
 * lock); the counter is odd while it changes the entry's values, which it
 * writes with relaxed atomic stores. A reader loads them with relaxed
 * atomic loads between ct_seq_read_begin and ct_seq_read_ok and retries
 * until the counter was even and unchanged: the values then belong to one
 * moment between two updates. Writers never wait for readers; a reader
 * waits only while a writer is inside one update (ct_seq_patience).
 * Keys an entry keeps for good are published once, before the entry is
 * marked used with a release store, and need no counter.
 * All inline; thread-safe; the write side is async-signal-safe. */
#ifndef CT_SEQCOUNT_H
#define CT_SEQCOUNT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "clock.h"
#include "spin.h"
#include "sys.h"

/* Writer, with the entry's lock held: returns the value to pass to
 * ct_seq_write_end. */
static inline uint32_t
ct_seq_write_begin(uint32_t *seq)
{
	uint32_t v = *seq;
	__atomic_store_n(seq, v + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	return v;
}

static inline void
ct_seq_write_end(uint32_t *seq, uint32_t v)
{
	__atomic_store_n(seq, v + 2, __ATOMIC_RELEASE);
}

static inline uint32_t
ct_seq_read_begin(const uint32_t *seq)
{
	return __atomic_load_n(seq, __ATOMIC_ACQUIRE);
}

/* True when the values loaded since ct_seq_read_begin returned v are
 * whole. */
static inline bool
ct_seq_read_ok(const uint32_t *seq, uint32_t v)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return (v & 1) == 0 && __atomic_load_n(seq, __ATOMIC_RELAXED) == v;
}

/* How long a reader waits for one entry's writer: a writer is inside an
 * update for a few instructions, unless it was preempted there; one that
 * never finishes is a thread of the parent that a fork copied in the
 * middle of an update (a signal dump's child reads its parent's tables). */
#define CT_SEQ_SETTLE_NS (100 * 1000 * 1000)
#define CT_SEQ_SETTLE_SPINS 1000

struct ct_seq_wait {
	unsigned long spins;
	int64_t give_up;
};

/* After a failed ct_seq_read_ok: spins a little, then sleeps 20 us at a
 * time so a preempted writer can run. False once CT_SEQ_SETTLE_NS went
 * by: the caller takes the values as read. */
static inline bool
ct_seq_patience(struct ct_seq_wait *w)
{
	if (w->spins++ < CT_SEQ_SETTLE_SPINS) {
		ct_cpu_relax();
		return true;
	}
	int64_t now = ct_now_ns();
	if (w->give_up == 0)
		w->give_up = now + CT_SEQ_SETTLE_NS;
	else if (now >= w->give_up)
		return false;
	struct timespec ts = {0, 20 * 1000};
	ct_sys_nanosleep(&ts, NULL);
	return true;
}

/* The whole reader side, stated once: runs the statements given (the
 * relaxed atomic loads of an entry's values) until they saw the entry
 * between two updates of the counter at seq, or until ct_seq_patience
 * gives up (the values are then as last read). Evaluates to true in the
 * first case, false in the second. */
#define CT_SEQ_READ(seq, ...)                                                                    \
	__extension__({                                                                          \
		struct ct_seq_wait ct_sw_ = {0};                                                 \
		bool ct_settled_;                                                                \
		for (;;) {                                                                       \
			uint32_t ct_sv_ = ct_seq_read_begin(seq);                                \
			__VA_ARGS__                                                              \
			if ((ct_settled_ = ct_seq_read_ok(seq, ct_sv_)) ||                       \
			    !ct_seq_patience(&ct_sw_))                                           \
				break;                                                           \
		}                                                                                \
		ct_settled_;                                                                     \
	})

#endif

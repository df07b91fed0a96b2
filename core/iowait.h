/* The narrow interface the I/O, sleep and process-wait wrappers
 * (interpose/io*.c) use, beside event.h for locks.
 *
 * Every call of a wrapped function that may block is timed with ticks.h
 * and published as the thread's current wait (threads.h), because nothing
 * tells in advance whether it will block. The fast path is inline: two
 * tick reads, the wait record, one compare. Only a call that took at
 * least CT_IOWAIT_MIN_NS goes on to ct_iowait_record, which samples with
 * CONTEND_BLOCK_RATE and, for a sampled event, classifies the fd and
 * captures the stack. Thread-safe; no allocation; errno preserved; not
 * async-signal-safe on the recording path (like event.h). */
#ifndef CT_IOWAIT_H
#define CT_IOWAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "dumper.h"
#include "event.h"
#include "hot.h"
#include "threads.h"
#include "ticks.h"

/* A call that returned sooner did not wait: a system call that does not
 * sleep (a ready pipe read, a write into a socket buffer) takes 0.2-3 us.
 * Shorter calls are kernel work, not blocking, and recording them would
 * put a stack walk on a fraction of all ready calls. */
#define CT_IOWAIT_MIN_NS 5000

/* CONTEND_IO (0 turns every I/O wrapper into a plain forward) and
 * CT_IOWAIT_MIN_NS in ticks are ct_hot's io_on and io_min_ticks
 * (hot.h). */

struct ct_iowait {
	uint64_t t0;      /* ticks */
	uintptr_t caller; /* return address into the program */
	unsigned op;      /* enum ct_op */
	int fd;           /* the fd waited on, -1 if none (or several) */
};

/* True when this thread times I/O now: CONTEND_IO on, profiling set up,
 * not inside the shim (its own I/O is never recorded). */
static inline bool
ct_iowait_active(void)
{
	return __atomic_load_n(&ct_hot.io_on, __ATOMIC_RELAXED) && ct_active();
}

/* Before the real call. caller = the wrapper's return address. _aux
 * also notes what else the wait is on (a poll's array: threads.h
 * ct_wait_enter_aux). */
static inline void
ct_iowait_begin_aux(struct ct_iowait *w, unsigned op, int fd, uintptr_t caller, uintptr_t aux,
		    uint32_t naux)
{
	ct_dumper_start_if_wanted();
	w->t0 = ct_ticks();
	w->caller = caller;
	w->op = op;
	w->fd = fd;
	ct_wait_enter_aux(op, NULL, fd, ct_ticks_to_mono(w->t0), caller, aux, naux);
}

/* ct_iowait_begin of an op of rule CT_SITE_CALL (threads.h), out of line
 * beside the wait record's code (CT_HOT_TEXT): in the wrapper it took
 * three of the lines of code a timed call runs between its two system
 * calls, once for each wrapped function. */
void ct_iowait_begin_call(struct ct_iowait *w, unsigned op, int fd, uintptr_t caller);

static inline void
ct_iowait_begin(struct ct_iowait *w, unsigned op, int fd, uintptr_t caller)
{
	if (ct_site_rule(op) == CT_SITE_CALL) { /* known at compile time */
		ct_iowait_begin_call(w, op, fd, caller);
		return;
	}
	ct_dumper_start_if_wanted();
	w->t0 = ct_ticks();
	w->caller = caller;
	w->op = op;
	w->fd = fd;
	ct_wait_enter(op, NULL, fd, ct_ticks_to_mono(w->t0), caller);
}

void ct_iowait_record(const struct ct_iowait *w, uint64_t t1);

/* After the real call returned. A thread cancelled in the call never
 * gets here: nothing is recorded for a wait that did not complete (as in
 * Go), and the registry clears its wait record when it exits. */
static inline void
ct_iowait_end(struct ct_iowait *w)
{
	uint64_t t1 = ct_ticks();
	ct_wait_leave();
	if (CT_UNLIKELY(t1 - w->t0 >= __atomic_load_n(&ct_hot.io_min_ticks, __ATOMIC_RELAXED)))
		ct_iowait_record(w, t1);
}

/* At init, after the configuration is read and before ct_hot.ready is set. */
void ct_iowait_init(void);

#endif

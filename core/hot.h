/* The words of core's static state that every timed call reads around
 * its system call, besides its thread's own (thread.h): the tick clock,
 * CONTEND_IO's switch, the dumper's flag, the shim's readiness and the
 * I/O threshold, on one cache line of their own. On the VMs we measure
 * on, each line a call touches after a system call costs about 5 ns
 * (issue 12); they were on four lines (the dumper's flag alone was one,
 * 4585358).
 *
 * Written rarely (init, a calibration, a dump request, the dumper's
 * start, the exit dump, a fork child's reset), read by every timed call
 * and every wrapper slow path (ct_active): relaxed atomics on single
 * words. In CT_FORK_HOT: a fork child writes dumper_wanted, and a
 * calibration the clock's words, on pages it copies anyway. */
#ifndef CT_HOT_H
#define CT_HOT_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"

/* The tick clock's state (ticks.h, ticks.c). */
struct ct_ticks_state {
	bool tsc;          /* ticks are TSC cycles (else ns) */
	uint64_t base;     /* ticks at ct_ticks_init */
	int64_t base_ns;   /* CLOCK_MONOTONIC at the same moment */
	uint64_t mult;     /* ns per tick, 32.32 fixed point; 0 = not yet known */
	uint64_t cal_span; /* ticks since base at the last calibration */
};

struct ct_hot {
	struct ct_ticks_state tk; /* clock.h, ticks.h */
	int io_on;                /* iowait.h: CONTEND_IO at init; 0 = every I/O wrapper forwards */
	int dumper_wanted;        /* dumper.h: an armed dumper without a thread has work now */
	int ready;                /* profiles.h: profiling is set up (ct_active) */
	int restart_on;           /* interpose/restart.h: an action of ours returns (the dump signal) */
	uint64_t io_min_ticks;    /* iowait.h: CT_IOWAIT_MIN_NS in ticks; 0 until known */
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct ct_hot) == 64, "one cache line");

/* Defined in ticks.c. */
extern CT_HIDDEN struct ct_hot ct_hot;

#endif

/* Shape of the I/O, sleep and process-wait wrappers (io_*.c).
 *
 * A wrapper forwards untouched when CONTEND_IO=0, when the shim is not
 * set up or is working for this thread (its own I/O), or when the
 * arguments say the call cannot block (a zero poll timeout, MSG_DONTWAIT,
 * WNOHANG, LOCK_NB, ...). Otherwise it times the call with two tick reads
 * and publishes it as the thread's current wait; see core/iowait.h.
 *
 * The program's pointers are never read before the real call has
 * accepted them (a bad one must give EFAULT, not a crash in the shim).
 * Return value and errno are the real call's: nothing between the call
 * and the return touches errno except the recording path, which restores
 * it. Cancellation points stay cancellation points: a thread cancelled in
 * the real call unwinds through the wrapper (its .eh_frame is enough; it
 * has nothing to undo), and the wait record it published is cleared by
 * the thread registry's exit handler, which runs for cancelled threads
 * too. Not using __attribute__((cleanup)) spares -fexceptions, whose
 * landing pads would make libcontend.so need libgcc_s.so.1: 90 us more
 * start-up for every preloaded process. */
#ifndef CT_INTERPOSE_IO_H
#define CT_INTERPOSE_IO_H

#include <errno.h>

#include "../core/iowait.h"
#include "../core/ops.h"
#include "real.h"
#include "restart.h"

/* The return address into the program (only valid in the wrapper). */
#define CT_IO_CALLER() ((uintptr_t)__builtin_return_address(0))

/* return call, timed as op waiting on fd when may_block. */
#define CT_IO_WAIT(type, op, fd, may_block, call)                                         \
	do {                                                                               \
		if (!(may_block) || !ct_iowait_active())                                   \
			return call;                                                       \
		struct ct_iowait w_;                                                       \
		ct_iowait_begin(&w_, op, fd, CT_IO_CALLER());                              \
		type r_ = call;                                                            \
		ct_iowait_end(&w_);                                                        \
		if (r_ <= 0)                                                               \
			ct_wait_unwoken(op, (long)r_, errno);                              \
		return r_;                                                                 \
	} while (0)

#define CT_IO_CALL(type, op, fd, call) CT_IO_WAIT(type, op, fd, 1, call)

/* return call, a sleep timed as op (a select or poll of no descriptor:
 * apr_sleep, Apache's master between two checks of its children): a loop
 * of them is the program's own doing, as one of nanosleep, never one
 * re-armed wait in thread dumps. */
#define CT_IO_SLEEP(type, op, call)                                    \
	do {                                                           \
		if (!ct_iowait_active())                               \
			return call;                                   \
		struct ct_iowait w_;                                   \
		ct_iowait_begin(&w_, op, -1, CT_IO_CALLER());          \
		type r_ = call;                                        \
		ct_iowait_end(&w_);                                    \
		return r_;                                             \
	} while (0)

/* Sets up the tick clock and the leaf addresses of the I/O ops. Called
 * from ct_init_once after resolution, before profiling starts. */
void ct_io_init(void);

#endif

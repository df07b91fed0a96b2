/* Recording of I/O waits; see iowait.h. Runs only for calls that took
 * at least CT_IOWAIT_MIN_NS: samples first, and only then classifies the
 * fd and unwinds. */
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "dumper.h"
#include "fdkind.h"
#include "iowait.h"
#include "ops.h"
#include "profiles.h"
#include "sample.h"
#include "stack.h"

static uint64_t ct_iowait_min_mult CT_INIT_HOT; /* the multiplier ct_hot.io_min_ticks is for */

void
ct_iowait_init(void)
{
	ct_ticks_init();
	__atomic_store_n(&ct_hot.io_min_ticks, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ct_iowait_min_mult, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ct_hot.io_on, ct_cfg.io ? 1 : 0, __ATOMIC_RELAXED);
}

static unsigned
ct_iowait_fd_kind(const struct ct_iowait *w)
{
	if (w->fd < 0)
		return CT_FD_NONE;
	/* A message queue descriptor is an fd of the mqueue file system,
	 * which fstat cannot tell from a file. */
	if (w->op == CT_OP_MQ_RECEIVE || w->op == CT_OP_MQ_TIMEDRECEIVE ||
	    w->op == CT_OP_MQ_SEND || w->op == CT_OP_MQ_TIMEDSEND)
		return CT_FD_MQUEUE;
	/* What an epoll wait waits on is an epoll instance (or the call
	 * failed at once): no fstat and no readlink of /proc/self/fd to say
	 * so, the two system calls an event loop's sampled waits made. */
	if (w->op == CT_OP_EPOLL_WAIT || w->op == CT_OP_EPOLL_PWAIT ||
	    w->op == CT_OP_EPOLL_PWAIT2)
		return CT_FD_EPOLL;
	return ct_fdkind_classify(w->fd);
}

/* True while the process has a child, running or not yet reaped (any
 * thread's, clone children included). WNOWAIT: nothing is reaped, and
 * WNOHANG: never blocks. A raw system call: async-signal-safe, and our
 * own waitid wrapper stays out of it. */
static bool
ct_iowait_has_children(void)
{
	siginfo_t si;
	return syscall(SYS_waitid, P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL, NULL) == 0;
}

/* Waits that only a child ends: wait*() always, and a signal wait
 * (sigsuspend, sigwait*, pause) when the process has children as it
 * ends, as a supervisor waiting for SIGCHLD does (timeout, shells,
 * init-like launchers); the child is still a zombie then. */
static bool
ct_iowait_is_child_wait(unsigned op)
{
	switch (op) {
	case CT_OP_WAIT:
	case CT_OP_WAITPID:
	case CT_OP_WAITID:
	case CT_OP_WAIT3:
	case CT_OP_WAIT4:
		return true;
	case CT_OP_SIGSUSPEND:
	case CT_OP_SIGWAIT:
	case CT_OP_SIGWAITINFO:
	case CT_OP_SIGTIMEDWAIT:
	case CT_OP_PAUSE:
		return ct_iowait_has_children();
	default:
		return false;
	}
}

/* A sampled I/O wait: classifies the fd, captures the stack, adds it to
 * the block profile. Out of line, with the errno it may change: the wait
 * that is not sampled stays a leaf with a small frame. */
static CT_NOINLINE void
ct_iowait_sampled(const struct ct_iowait *w, double count, double delay)
{
	int saved = errno;
	uintptr_t pcs[CT_STACK_MAX];
	int depth = (int)__atomic_load_n(&ct_cfg.stack_depth, __ATOMIC_RELAXED);
	ct_guard_enter();
	unsigned kind = ct_iowait_fd_kind(w);
	int n = 1;
	pcs[0] = w->caller;
	/* Loading the unwinder costs a single-threaded process (one
	 * that created no thread yet) about 0.6 ms: not for a helper
	 * like cat whose short waits will not be written anyway. Until
	 * the waits reach CT_PROFILES_IO_DUMP_MIN_NS such a process keeps
	 * only the caller of the wrapped function. */
	if (ct_stack_unwinder_loaded() ||
	    __atomic_load_n(&ct_profiles_io_ns, __ATOMIC_RELAXED) + (uint64_t)delay >=
		    CT_PROFILES_IO_DUMP_MIN_NS) {
		n = ct_stack_capture(pcs, depth);
		if (n <= 0) { /* no unwinder: the caller is still known */
			pcs[0] = w->caller;
			n = 1;
		}
	}
	ct_table_add_fd(&ct_profiles[CT_PROF_BLOCK], w->op, kind, pcs, (unsigned)n, count, delay);
	/* Waiting for children alone never makes a process worth a
	 * profile: every shell running a pipeline would write one. */
	if (!ct_iowait_is_child_wait(w->op))
		__atomic_fetch_add(&ct_profiles_io_ns, (uint64_t)delay, __ATOMIC_RELAXED);
	ct_guard_leave();
	errno = saved;
}

static CT_NOINLINE void
ct_iowait_begin_call_slow(struct ct_iowait *w, unsigned op, int fd, uintptr_t caller)
{
	ct_dumper_start_if_wanted();
	w->t0 = ct_ticks();
	w->caller = caller;
	w->op = op;
	w->fd = fd;
	ct_wait_enter_call(op, fd, ct_ticks_to_mono(w->t0), caller);
}

/* The usual case (a calibrated TSC, no dumper to start: dumper.h
 * ct_dumper_start_if_wanted) calls nothing but the wait record, so it
 * needs no stack frame; the others are the function above. */
CT_HOT_TEXT void
ct_iowait_begin_call(struct ct_iowait *w, unsigned op, int fd, uintptr_t caller)
{
	uint64_t m = __atomic_load_n(&ct_hot.tk.mult, __ATOMIC_RELAXED);
	if (CT_UNLIKELY(!ct_hot.tk.tsc || m == 0 ||
			__atomic_load_n(&ct_hot.dumper_wanted, __ATOMIC_RELAXED))) {
		ct_iowait_begin_call_slow(w, op, fd, caller);
		return;
	}
	w->t0 = ct_ticks();
	w->caller = caller;
	w->op = op;
	w->fd = fd;
	ct_wait_enter_call(op, fd, ct_ticks_to_mono_m(w->t0, m), caller);
}

/* The threshold in ticks follows the multiplier in force; the division
 * only when that changed (a calibration), out of the way of the usual
 * record. Racing threads store equal values, and a stale threshold only
 * lets a few more calls get to ct_iowait_record, where the wait in ns is
 * checked again. */
static CT_NOINLINE void
ct_iowait_rethreshold(uint64_t m)
{
	uint64_t min_ticks = ((uint64_t)CT_IOWAIT_MIN_NS << 32) / m;
	if (__atomic_load_n(&ct_hot.tk.mult, __ATOMIC_RELAXED) == m) {
		__atomic_store_n(&ct_hot.io_min_ticks, min_ticks, __ATOMIC_RELAXED);
		__atomic_store_n(&ct_iowait_min_mult, m, __ATOMIC_RELAXED);
	}
}

/* A wait the draw r kept: its scaling and the sampled part, out of line
 * (their doubles gave the usual record a stack frame). */
static CT_NOINLINE void
ct_iowait_keep(const struct ct_iowait *w, uint64_t rate, int64_t wait, uint64_t r)
{
	double count, delay;
	if (ct_sample_block_r(rate, wait, r, &count, &delay))
		ct_iowait_sampled(w, count, delay);
}

CT_HOT_TEXT void
ct_iowait_record(const struct ct_iowait *w, uint64_t t1)
{
	uint64_t m = ct_ticks_mult(t1);
	if (CT_UNLIKELY(__atomic_load_n(&ct_iowait_min_mult, __ATOMIC_RELAXED) != m))
		ct_iowait_rethreshold(m);
	int64_t wait = (int64_t)(((unsigned __int128)(t1 - w->t0) * m) >> 32);
	uint64_t rate = __atomic_load_n(&ct_cfg.block_rate, __ATOMIC_RELAXED), r;
	/* Neither the clock nor the draw touches errno (the calibration's
	 * clock_gettime cannot fail), nor does the dumper's check. */
	if (CT_LIKELY(wait >= CT_IOWAIT_MIN_NS) && ct_sample_block_draw(rate, wait, &r))
		ct_iowait_keep(w, rate, wait, r);
	/* A single-threaded program's live snapshots start here (dumper.h). */
	ct_dumper_start_if_due();
}

/* Per-thread state of the shim, in initial-exec TLS so that reaching it
 * never calls into the dynamic linker (which may take locks or allocate).
 * Each field is touched only by its own thread, except that a fork child
 * resets the forking thread's copy. Async-signal-safe to read. */
#ifndef CT_THREAD_H
#define CT_THREAD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "compiler.h"

struct ct_thread_slot;

#define CT_SIG_FRAMES 4
#define CT_SIG_PC_WAITING ((uintptr_t)1)

struct ct_thread {
	int busy;     /* the guard's depth: touched only by ct_guard_* below */
	int tid;      /* cached gettid(); 0 until the first slow path needs it */
	uint64_t rng; /* xorshift64* state; 0 until seeded */
	struct ct_thread_slot *slot; /* registry slot (threads.h), claimed lazily */
	int no_slot;  /* never claim a registry slot: the thread has exited, or
	               * found the registry full */
	/* How the thread's last wait went (threads.c, ct_wait_unwoken): its
	 * op + 1, when it began, and when it ended unwoken (0: woken, or
	 * still waiting). Only the thread reads them, at the start of its
	 * next wait: here they share the line of the fields above, which
	 * every wait reads anyway. */
	uint32_t wlastop;
	int64_t wstart, wunwoken;
	/* When the thread's last wait re-armed after a signal interrupted
	 * its run (EINTR) began; 0: none pending. That wait's wake-up may be
	 * the leftover of the signal (a self-pipe or signalfd its handler
	 * wrote): see wrun. */
	int64_t wgrace;
	/* Program signal handlers running on this thread (the trampoline in
	 * interpose/signal.c counts them), and the frame address of each of
	 * the innermost CT_SIG_FRAMES: a handler left with siglongjmp never
	 * decrements, and ct_in_handler drops such entries once the thread
	 * runs above their frame again. */
	int sig_depth;
	uintptr_t sig_frame[CT_SIG_FRAMES];
	/* Where each of them interrupted the thread: the program counter,
	 * CT_SIG_PC_WAITING inside a wrapper's wait (a blocking call holds
	 * none of libc's locks), 0 when unknown (a handler the guard
	 * deferred). For an exit() from the handler (core/dump.h). */
	uintptr_t sig_pc[CT_SIG_FRAMES];
	/* Program signal handlers that arrived while this thread held the
	 * guard, queued by interpose/signal.c and run when it leaves the
	 * guard (ct_guard_leave). */
	int sig_deferred;
	/* The run that wait (wgrace) continued: its op + 1, site, object or
	 * fd, first wait's start and re-arms so far. The thread's next wait
	 * there, begun within CT_REARM_GAP_NS of that wait's start, continues
	 * the run once more whatever came between (threads.c,
	 * ct_wait_graced). Read and written by the thread only, on slow
	 * paths: off the line above. */
	struct {
		uint32_t op;
		int fd;
		uintptr_t caller;
		const void *obj;
		int64_t since;
		uint32_t rearms;
		bool intr; /* the thread's last wait ended with EINTR */
	} wrun;
	/* Which handlers ran on this thread since a wrapper of a call that a
	 * handler interrupts whatever SA_RESTART says last cleared it
	 * (interpose/restart.h, CT_RESTART): CT_INTR_OURS for a signal whose
	 * action libcontend stands for (the dump signal; natively its
	 * default, which interrupts nothing), CT_INTR_PROG for one of the
	 * program's handlers. Set by interpose/signal.c. */
	unsigned sig_intr;
} __attribute__((aligned(64)));

#define CT_INTR_OURS 1u
#define CT_INTR_PROG 2u

/* Runs this thread's deferred program signal handlers (set by
 * interpose/signal.c at init; only called when sig_deferred > 0). */
extern CT_HIDDEN void (*ct_guard_run_deferred)(void);


/* Aligned (struct ct_thread) so that the fields every timed call reads,
 * busy to sig_depth, share one cache line. */
extern CT_TLS struct ct_thread ct_self;

/* The shim's re-entrancy guard. While a thread holds it (depth > 0) the
 * shim is working for that thread, and every wrapper it re-enters (from
 * libunwind, dlopen, malloc, or core's own locks and I/O) passes straight
 * through to the real function, unrecorded. Nests: each enter is paired
 * with a leave, except on paths that never return to the program (_exit,
 * a dying signal handler, the dumper thread, which holds it for good).
 * A program signal handler never runs while its thread holds the guard:
 * one that left with siglongjmp would leave the shim's locks held (every
 * later recording thread spinning on them) and the guard raised; the
 * trampoline queues it instead (interpose/signal.c), and the leave that
 * drops the depth to 0 runs it, as if the signal had arrived then.
 * Enter is one TLS increment; leave also one test: safe on the lock fast
 * path, in signal handlers and in a fork child. Touches only the calling
 * thread. */
static inline void
ct_guard_enter(void)
{
	ct_self.busy++;
}

static inline void
ct_guard_leave(void)
{
	if (--ct_self.busy == 0 && CT_UNLIKELY(ct_self.sig_deferred))
		ct_guard_run_deferred();
}

/* True while the calling thread holds the guard. */
static inline bool
ct_guard_held(void)
{
	return ct_self.busy != 0;
}

/* The caller's kernel thread id. The first call in a thread makes one
 * system call; only slow paths call this. */
static inline int
ct_tid(void)
{
	if (CT_UNLIKELY(ct_self.tid == 0))
		ct_self.tid = (int)syscall(SYS_gettid);
	return ct_self.tid;
}

#endif

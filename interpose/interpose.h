/* Internal glue between the interpose/ files. */
#ifndef CT_INTERPOSE_H
#define CT_INTERPOSE_H

#include <errno.h>
#include <signal.h>
#include <stdbool.h>

#include "../core/clock.h"
#include "../core/event.h"
#include "../core/threads.h"

/* The value glibc stores in an unlocked pthread_spinlock_t (1 on x86-64,
 * 0 on generic ports), probed at init. */
extern int ct_spin_unlocked_value;

/* Puts ours in place of the default action of SIGINT/SIGTERM (dump,
 * then death by the signal) and of the crash signals (crash dump, then the
 * same death), where the program left them at it (signal.c). */
void ct_signals_init(void);

/* The fork child's part of signal.c: this process now owns the handler
 * slot tables (a vfork child, which shares them, never calls this).
 * Async-signal-safe. */
void ct_signals_fork_child(void);

/* Installs handler for sig the same invisible way (only where the program
 * left the default; the program's own handler replaces ours). Call from
 * init only. 0, or -1 if sig is already tracked or the table is full. */
int ct_signals_track(int sig, void (*handler)(int));

/* Gives the kernel back the default action of every signal the shim
 * stood for (ct_signals_track), so that the kernel alone acts on them from
 * now on, and tracks none again: before the program confines itself with
 * seccomp (sandbox.c), whose filter may forbid the system calls our
 * handlers make. Program thread, no lock of ours held. */
void ct_signals_untrack(void);

/* syscall(SYS_seccomp, ...) and syscall(SYS_prctl, ...), which the
 * syscall() wrapper (futex.c) hands to sandbox.c with its seven words:
 * the result and errno of the system call. */
long ct_sandbox_syscall(long nr, long a, long b, long c, long d, long e, long f);

/* The program waits for the signals of set itself (sigwait*, signalfd):
 * from now on the dumper thread never takes one of them from the pending
 * set (core/dumper.h). Thread-safe, async-signal-safe, no lock. */
void ct_signals_program_waits(const sigset_t *set);

/* Live profiles: starts the dumper thread (core/dumper.h) when
 * CONTEND_HTTP, CONTEND_INTERVAL or CONTEND_DUMP_SIGNAL asks for it, and
 * tracks the dump signal as above. From init, after ct_signals_init. */
void ct_signals_live_start(void);

/* Points core's table of wrapped functions (core/sys.h) at the real ones.
 * From init, before any thread of ours starts (sys.c). */
void ct_interpose_sys_init(void);

#include <pthread.h>
#include <stdint.h>

/* The kind and attributes of an initialised mutex (core/locks.h), from
 * glibc's __kind (lockinit.c). */
unsigned ct_mutex_lock_kind(const pthread_mutex_t *m);


/* For condvar waits: the delay of m's waiters to charge because the wait
 * is about to release m inside glibc, or 0. */
int64_t ct_mutex_handover_begin(pthread_mutex_t *m);

/* A wait without a holder to charge (semaphore, barrier, join): timed
 * only when it may block and this thread records. */
/* The return address into the program: the caller of the exported
 * wrapper (only valid in the wrapper itself, not in helpers it calls). */
#define CT_CALLER() ((uintptr_t)__builtin_return_address(0))

/* A wait for lock obj (its holder is charged when it releases): timed as
 * op only when hint says it may wait and this thread records. A failed
 * wait may be a timeout that the caller re-arms (core/threads.h). */
#define CT_LOCK_WAIT(hint, op, obj, call)                                  \
	do {                                                               \
		if (CT_LIKELY(!(hint)) || !ct_active())                    \
			return call;                                       \
		struct ct_wait w_;                                         \
		ct_lock_wait_begin(&w_, obj, op, CT_CALLER());             \
		int r_ = call;                                             \
		ct_lock_wait_end(&w_);                                     \
		if (r_ != 0)                                               \
			ct_wait_unwoken(op, r_, errno);                    \
		return r_;                                                 \
	} while (0)

/* An unlock of obj that may hand it to waiters: the delay they have
 * waited so far is charged to this caller as op once the unlock
 * succeeded (core/event.h). */
#define CT_RELEASE(op, obj, call)                                          \
	do {                                                               \
		int64_t delay_ = ct_release_begin(obj);                    \
		int r_ = call;                                             \
		if (r_ == 0)                                               \
			ct_release_end(op, delay_);                        \
		return r_;                                                 \
	} while (0)

#define CT_TIMED_WAIT(may_wait, op, obj, call)                    \
	do {                                                      \
		if (CT_LIKELY(!(may_wait)) || !ct_active())       \
			return call;                              \
		int64_t t0_ = ct_block_begin(op, obj, CT_CALLER());\
		int r_ = call;                                    \
		ct_block_end(op, t0_);                            \
		if (r_ != 0)                                      \
			ct_wait_unwoken(op, r_, errno);           \
		return r_;                                        \
	} while (0)

#endif

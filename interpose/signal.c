/* The program's signal dispositions, as it sees them, and ours.
 *
 * Every handler the program installs with sigaction(), signal() and their
 * flavours reaches the kernel as one of our trampolines, with the
 * program's flags and mask unchanged: the trampoline counts the running
 * handler in ct_self.sig_depth (so that wrappers called from a handler
 * record nothing: recording is not async-signal-safe, see ct_active) and
 * calls the program's handler with signo, siginfo and ucontext as the
 * kernel passed them. SA_RESETHAND, SA_NODEFER, SA_ONSTACK and SA_RESTART
 * are the kernel's to honour, exactly as without us.
 *
 * Where the program left SIGINT, SIGTERM or a crash signal (SIGSEGV,
 * SIGBUS, SIGFPE, SIGILL, SIGABRT) at its default action, a trampoline
 * stands for that default too and runs ours: SIGINT/SIGTERM write the
 * profiles and then kill the process with the same signal
 * (ct_dump_fatal); crash signals first write a crash dump of the threads.
 * Other modules may track more (the dump signal) with ct_signals_track.
 *
 * What the program sees is what it set: the `old` answers of sigaction(),
 * signal() ... report its own handler, flags and mask, never a trampoline,
 * and SIG_DFL (with the flags and mask it gave) where ours stands for the
 * default. The kernel's action is the truth: the trampoline it holds
 * names the record (slot) of the program's action, so one rt_sigaction
 * system call changes both atomically, and calls that race each other or
 * with delivery behave as they would without us.
 *
 * Lock-free: no lock is held across anything, so nothing can be left
 * held by a fork and nothing deadlocks when sigaction() is called from a
 * signal handler that interrupted sigaction(). Slots are claimed with a
 * compare-and-swap and given back by whoever removes them from the kernel
 * (the next sigaction(), or the trampoline of an SA_RESETHAND handler,
 * whose delivery removed it). A record is immutable while installed; a
 * freed slot is reused only after the other slots of its signal came
 * round, so a trampoline (or a query) reads a replaced record only if the
 * program changed the same signal's handler CT_SLOTS times between the
 * delivery and the trampoline's first loads. When every slot is taken
 * (sigaction() calls of forked-away threads never finished), the handler
 * is installed directly, without the trampoline: still what the program
 * asked for, only wrappers in it are not known to run in a handler.
 *
 * Every function here is async-signal-safe and makes no allocation. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "../core/dump.h"
#include "../core/dumper.h"
#include "../core/ownstack.h"
#include "interpose.h"
#include "real.h"

/* Long enough to symbolize a big program, short enough that a stuck dump
 * cannot keep a Ctrl-C'd server alive for long. */
#define CT_SIGNAL_DUMP_TIMEOUT_MS 10000
/* glibc's fork() of even a large process takes milliseconds; a fork that
 * takes this long waits for a lock the signalled thread holds. */
#define CT_SIGNAL_FORK_TIMEOUT_MS 2000

/* A crash dump must not keep a crashed process alive for long. */
#define CT_CRASH_DUMP_TIMEOUT_MS 5000

#define CT_NSIG 65 /* signals 1..64: the kernel's */
#define CT_SLOTS 8

/* The kernel's sigset is the first 64 bits of glibc's sigset_t: what
 * sigaction() copies in and out. */
#define CT_KSIGSET_BYTES 8

/* The program's action behind a trampoline. */
struct ct_act {
	void *fn;      /* its handler (sa_handler or sa_sigaction); SIG_DFL
	                * where ours stands for the default */
	int flags;     /* its sa_flags (SA_SIGINFO selects the call) */
	/* Only for SIG_DFL, where the kernel holds our flags and mask: what
	 * the kernel would hold for the program's action. */
	int kflags;
	/* The kernel's 64 signals, not a sigset_t (128 bytes): the table
	 * is 8 slots per signal, and a fork child that sets its handlers
	 * (a PostgreSQL backend sets ten) copies every page of it that it
	 * writes: 83 KiB and 5 pages written before, 21 KiB and 3 now. */
	uint64_t kmask;
	void (*krestorer)(void);
	int krestorer_set;
};

/* By slot, then signal: a signal's first action (slot 0, each claim
 * takes the signal's next slot) shares a 2.6 KiB row with every other
 * signal's, so the seven actions init puts in place for every preloaded
 * process touch one page of the table, not two (a signal's eight slots
 * were 320 bytes, and SIGINT to SIGTERM spanned 4.5 KiB). */
static struct ct_act ct_acts[CT_SLOTS][CT_NSIG];
static unsigned char ct_slot_used[CT_NSIG][CT_SLOTS];
static unsigned ct_slot_next[CT_NSIG];

/* Our action for the tracked signals' default; set at init only. */
static void (*ct_track_fn[CT_NSIG])(int);
/* What the kernel delivered with the tracked signal this thread is
 * handling (ct_dispatch to ct_on_crash): the crash path ends the process
 * with it. */
static CT_TLS const siginfo_t *ct_track_si;
/* And the context it interrupted: its mask is the one our return
 * restores (ct_die_on_return). */
static CT_TLS const ucontext_t *ct_track_uc;

/* What glibc's sigaction() adds to the flags it passes to the kernel
 * (SA_RESTORER on x86-64), learnt at init. */
static int ct_glibc_flags;

/* siginterrupt(sig, 1) was called: signal() then installs without
 * SA_RESTART, as glibc's does. */
static uint64_t ct_sigintr;

#define CT_OUR_FLAGS (SA_SIGINFO | SA_ONSTACK | SA_RESTART)

static void ct_dispatch(int k, int sig, siginfo_t *si, void *uc);

/* A program handler whose signal arrived while its thread held the guard
 * (core/thread.h), to run when the thread leaves it: what the kernel
 * delivered, and the mask it gave the handler. Few: a signal beyond them
 * runs at once, as before (the queue only fills if signals keep coming
 * within one short stretch of the shim's work). */
#define CT_DEFER_MAX 4
struct ct_deferred {
	void *fn;
	int flags;
	int sig;
	uint64_t mask;
	siginfo_t si;
};
static CT_TLS struct ct_deferred ct_defq[CT_DEFER_MAX];

#define CT_TRAMP(k)                                                  \
	static void ct_tramp_##k(int sig, siginfo_t *si, void *uc) \
	{                                                            \
		ct_dispatch(k, sig, si, uc);                         \
	}
CT_TRAMP(0)
CT_TRAMP(1)
CT_TRAMP(2)
CT_TRAMP(3)
CT_TRAMP(4)
CT_TRAMP(5)
CT_TRAMP(6)
CT_TRAMP(7)

typedef void (*ct_sigaction_fn)(int, siginfo_t *, void *);
static const ct_sigaction_fn ct_tramps[CT_SLOTS] = {ct_tramp_0, ct_tramp_1, ct_tramp_2,
						    ct_tramp_3, ct_tramp_4, ct_tramp_5,
						    ct_tramp_6, ct_tramp_7};

static int
ct_slot_of(const void *h)
{
	for (int k = 0; k < CT_SLOTS; k++)
		if (h == (const void *)ct_tramps[k])
			return k;
	return -1;
}

static int
ct_slot_claim(int sig)
{
	unsigned start = __atomic_fetch_add(&ct_slot_next[sig], 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < CT_SLOTS; i++) {
		unsigned k = (start + i) % CT_SLOTS;
		unsigned char expect = 0;
		if (__atomic_compare_exchange_n(&ct_slot_used[sig][k], &expect, 1, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return (int)k;
	}
	return -1;
}

static void
ct_slot_free(int sig, int k)
{
	__atomic_store_n(&ct_slot_used[sig][k], 0, __ATOMIC_RELEASE);
}

/* A fault in the code the thread runs: the handler must run now, since
 * returning would fault again. Sent ones (kill, sigqueue) are not. */
static bool
ct_sig_is_fault(int sig, const siginfo_t *si)
{
	switch (sig) {
	case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP: case SIGSYS:
		return si->si_code > 0;
	default:
		return false;
	}
}

/* Queues the program's handler for ct_run_deferred; false when the queue
 * is full. All signals blocked while the queue changes, so a nested
 * handler cannot take the same entry; the mask the kernel gave this
 * handler (its sa_mask and, without SA_NODEFER, sig) is the one it will
 * run with. */
static bool
ct_defer(void *fn, int flags, int sig, const siginfo_t *si)
{
	if (!ct_guard_run_deferred)
		return false; /* ct_signals_init never ran: nothing would run it */
	int saved = errno;
	uint64_t all = ~(uint64_t)0, cur;
	if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &cur, CT_KSIGSET_BYTES) != 0) {
		errno = saved;
		return false;
	}
	int n = ct_self.sig_deferred;
	bool queued = n < CT_DEFER_MAX;
	if (queued) {
		struct ct_deferred *e = &ct_defq[n];
		e->fn = fn;
		e->flags = flags;
		e->sig = sig;
		e->mask = cur;
		e->si = *si;
		ct_self.sig_deferred = n + 1;
	}
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &cur, NULL, CT_KSIGSET_BYTES);
	errno = saved;
	return queued;
}

static void ct_call_handler(void *fn, int flags, int sig, siginfo_t *si, void *uc, bool deferred);

/* ct_guard_run_deferred: the queued handlers in the order their signals
 * came, each with the mask the kernel gave it and a context whose mask
 * is the one the thread goes back to. A handler that leaves with
 * siglongjmp leaves the rest for the thread's next guard leave. */
static void
ct_run_deferred(void)
{
	int saved = errno;
	while (ct_self.sig_deferred > 0) {
		uint64_t all = ~(uint64_t)0, old;
		syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, CT_KSIGSET_BYTES);
		struct ct_deferred e = ct_defq[0];
		int n = ct_self.sig_deferred - 1;
		for (int i = 0; i < n; i++)
			ct_defq[i] = ct_defq[i + 1];
		ct_self.sig_deferred = n;
		ucontext_t uc;
		getcontext(&uc);
		sigemptyset(&uc.uc_sigmask);
		memcpy(&uc.uc_sigmask, &old, CT_KSIGSET_BYTES);
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &e.mask, NULL, CT_KSIGSET_BYTES);
		ct_call_handler(e.fn, e.flags, e.sig, &e.si, &uc, true);
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, CT_KSIGSET_BYTES);
	}
	errno = saved;
}

static void
ct_dispatch(int k, int sig, siginfo_t *si, void *uc)
{
	if (CT_UNLIKELY(sig <= 0 || sig >= CT_NSIG))
		return;
	const struct ct_act *a = &ct_acts[k][sig];
	void *fn = a->fn;
	int flags = a->flags;
	if (fn == (void *)SIG_DFL) {
		/* Ours, standing for the default of a tracked signal: none
		 * while another thread writes a crash dump. */
		ct_dump_crash_bystander();
		int saved = errno;
		const siginfo_t *outer = ct_track_si;
		const ucontext_t *outer_uc = ct_track_uc;
		ct_track_si = si;
		ct_track_uc = uc;
		if (ct_track_fn[sig])
			ct_track_fn[sig](sig);
		/* Returned: natively the default interrupted nothing. */
		ct_self.sig_intr |= CT_INTR_OURS;
		ct_track_si = outer;
		ct_track_uc = outer_uc;
		errno = saved;
		return;
	}
	/* The kernel reset the action to SIG_DFL when it delivered this:
	 * nobody else will see this trampoline again to free its slot. */
	if (flags & SA_RESETHAND)
		ct_slot_free(sig, k);
	if (CT_UNLIKELY(ct_guard_held()) && !ct_sig_is_fault(sig, si) &&
	    ct_defer(fn, flags, sig, si))
		return;
	ct_call_handler(fn, flags, sig, si, uc, false);
}

/* The program counter the kernel saved in uc; CT_SIG_PC_WAITING where
 * it cannot be read (then exit() from the handler dumps as before). */
static uintptr_t
ct_uc_pc(const void *uc)
{
#if defined(__x86_64__)
	return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.pc;
#else
	(void)uc;
	return CT_SIG_PC_WAITING;
#endif
}

/* Runs the program's handler fn as the kernel would have: counted in
 * sig_depth, the thread's wait suspended meanwhile (core/threads.h), where
 * it interrupted the thread noted (core/thread.h sig_pc). */
static void
ct_call_handler(void *fn, int flags, int sig, siginfo_t *si, void *uc, bool deferred)
{
	int d = ct_self.sig_depth;
	if (d < CT_SIG_FRAMES)
		ct_self.sig_frame[d] = (uintptr_t)__builtin_frame_address(0);
	/* A wait the handler interrupted is not what the thread does while
	 * the handler runs, nor after a siglongjmp out of the wrapper. */
	struct ct_handler_saved saved;
	ct_handler_enter(&saved);
	if (d < CT_SIG_FRAMES)
		ct_self.sig_pc[d] = deferred			      ? 0 :
				    saved.wait_op || saved.lock_obj ? CT_SIG_PC_WAITING :
								      ct_uc_pc(uc);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ct_self.sig_depth = d + 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (flags & SA_SIGINFO)
		((ct_sigaction_fn)fn)(sig, si, uc);
	else
		((void (*)(int))fn)(sig);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ct_self.sig_depth = d;
	/* After the handler: a wrapped call it made cleared the record. */
	ct_self.sig_intr |= CT_INTR_PROG;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ct_handler_leave(&saved);
}

/* The kernel action standing for the default of a tracked signal: all
 * signals blocked in our handler, restartable (the dump signal returns to
 * the program, which must not see EINTR for a signal it never handled),
 * and SA_ONSTACK: a stack overflow can only be reported on the program's
 * alternate stack, if it set one. */
static void
ct_our_action(int k, struct sigaction *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sa_sigaction = ct_tramps[k];
	sigfillset(&sa->sa_mask);
	sa->sa_flags = CT_OUR_FLAGS;
}

/* The kernel's part of a mask (SIGKILL and SIGSTOP never in it), kept
 * in a slot, and back. */
static void
ct_kmask_keep(uint64_t *to, const sigset_t *from)
{
	memcpy(to, from, CT_KSIGSET_BYTES);
	*to &= ~((UINT64_C(1) << (SIGKILL - 1)) | (UINT64_C(1) << (SIGSTOP - 1)));
}

static void
ct_kmask_give(sigset_t *to, const uint64_t *from)
{
	memcpy(to, from, CT_KSIGSET_BYTES);
	sigdelset(to, SIGKILL);
	sigdelset(to, SIGSTOP);
}
_Static_assert(CT_KSIGSET_BYTES == sizeof(uint64_t), "the kernel's sigset");

/* Rewrites the kernel's answer o into the program's view: the program's
 * handler where a trampoline is installed. With `mine`, slot k was taken
 * out of the kernel by this call and is ours to free. */
static void
ct_translate_old(int sig, struct sigaction *o, bool mine)
{
	int j = ct_slot_of((const void *)o->sa_handler);
	if (j < 0)
		return;
	const struct ct_act *a = &ct_acts[j][sig];
	if (a->fn == (void *)SIG_DFL) {
		o->sa_handler = SIG_DFL;
		o->sa_flags = a->kflags;
		ct_kmask_give(&o->sa_mask, &a->kmask);
		if (a->krestorer_set)
			o->sa_restorer = a->krestorer;
	} else {
		/* Flags and mask in the kernel are the program's own. */
		o->sa_sigaction = (ct_sigaction_fn)a->fn;
	}
	if (mine)
		ct_slot_free(sig, j);
}

/* The process whose memory the slot tables describe: set at init and in
 * every fork child (ct_signals_fork_child). A vfork() child, or any child
 * that shares our memory without running the fork protocol, has another
 * pid: its sigaction() must leave the tables alone, because the parent's
 * kernel actions still point at those slots (Python's subprocess resets
 * every handler to SIG_DFL in its vfork child, which used to free the
 * parent's slots). */
static pid_t ct_sig_pid CT_FORK_HOT;

void
ct_signals_fork_child(void)
{
	__atomic_store_n(&ct_sig_pid, (pid_t)syscall(SYS_getpid), __ATOMIC_RELAXED);
}

/* sigaction() in a process that shares the tables but does not own them:
 * the program's action goes to the kernel as it is (no trampoline, so no
 * slot is claimed), and answers are translated read-only. */
static int
ct_sigaction_shared(int sig, const struct sigaction *act, struct sigaction *old)
{
	int r = real_sigaction(sig, act, old);
	if (r == 0 && old)
		ct_translate_old(sig, old, false);
	return r;
}

static int
ct_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig <= 0 || sig >= CT_NSIG)
		return real_sigaction(sig, act, old);
	if (CT_UNLIKELY((pid_t)syscall(SYS_getpid) != __atomic_load_n(&ct_sig_pid, __ATOMIC_RELAXED)))
		return ct_sigaction_shared(sig, act, old);
	struct sigaction tmp, kact;
	struct sigaction *o = old ? old : &tmp;
	const struct sigaction *use = act;
	int k = -1;
	if (act) {
		/* Read once: act may be old, or change under us. */
		int flags = act->sa_flags;
		void *fn = (flags & SA_SIGINFO) ? (void *)act->sa_sigaction
						: (void *)act->sa_handler;
		bool dfl = fn == (void *)SIG_DFL, ign = fn == (void *)SIG_IGN;
		bool ours = dfl && ct_track_fn[sig];
		if ((!dfl && !ign) || ours)
			k = ct_slot_claim(sig);
		if (k >= 0) {
			struct ct_act *a = &ct_acts[k][sig];
			a->fn = fn;
			a->flags = flags;
			if (ours) {
				a->kflags = flags | ct_glibc_flags;
				ct_kmask_keep(&a->kmask, &act->sa_mask);
				a->krestorer_set = 0;
				ct_our_action(k, &kact);
			} else {
				kact = *act;
				kact.sa_flags = flags;
				kact.sa_sigaction = ct_tramps[k];
			}
			use = &kact;
		}
	}
	int r = real_sigaction(sig, use, o);
	if (r != 0) {
		if (k >= 0)
			ct_slot_free(sig, k);
		return r;
	}
	ct_translate_old(sig, o, act != NULL);
	return 0;
}

CT_EXPORT int
sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return ct_sigaction(sig, act, old);
}

/* Not declared by <signal.h> under _GNU_SOURCE. */
__sighandler_t bsd_signal(int sig, __sighandler_t h);
int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);

CT_EXPORT int
__sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return ct_sigaction(sig, act, old);
}

/* Whether the default action of sig ends the process (rather than
 * ignoring, stopping or continuing it). */
static bool
ct_default_kills(int sig)
{
	switch (sig) {
	case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH:
	case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return false;
	default:
		return true;
	}
}

/* Sets sig's action to the default, straight in the kernel. */
static void
ct_signal_default(int sig)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	real_sigaction(sig, &dfl, NULL);
}

/* Does exactly what the default action would: sig, at its default action
 * and unblocked in this thread only, is sent to this thread. Returns only
 * where that default does not end the process. */
static void
ct_die_by_default(int sig)
{
	ct_signal_default(sig);
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &one, NULL, CT_KSIGSET_BYTES);
	syscall(SYS_tgkill, getpid(), (int)syscall(SYS_gettid), sig);
	if (!ct_default_kills(sig))
		return;
	/* Only if sig could not kill (the program made it SIG_IGN in the
	 * meantime): the end is the same. */
	for (;;)
		syscall(SYS_kill, getpid(), SIGKILL);
}

static void
ct_on_fatal(int sig)
{
	ct_dump_fatal(sig, ct_track_uc, CT_SIGNAL_FORK_TIMEOUT_MS, CT_SIGNAL_DUMP_TIMEOUT_MS,
		      ct_die_by_default);
}

/* Ends the process with sig as the kernel would have without us, once
 * this handler returns: sig, at its default action, is queued to this
 * thread with the siginfo it came with (si_code, si_addr, the sender),
 * blocked until the return restores the interrupted context's mask. The
 * kernel then delivers it at the interrupted instruction, with that
 * context's registers: a core dump, a debugger or systemd-coredump sees
 * the program's own stack and the fault's siginfo, not our handler's
 * frames on a stack of ours and a tgkill's.
 * Falls back to dying here (ct_die_by_default) if the signal cannot be
 * queued, or if the context we return to blocks it. */
static void
ct_die_on_return(int sig, const siginfo_t *si, const ucontext_t *uc)
{
	ct_signal_default(sig);
	/* Unless the context we return to blocks sig: a signal that came
	 * during sigsuspend, ppoll, pselect or epoll_pwait, under the call's
	 * own mask, returns to the caller's mask, and a kill -ABRT or -SEGV
	 * would stay pending there while the program ran on (EINTR). A fault
	 * never returns to a mask that blocks it: the kernel would not have
	 * run our handler. */
	if (si && !(uc && sigismember(&uc->uc_sigmask, sig) == 1)) {
		sigset_t one;
		sigemptyset(&one);
		sigaddset(&one, sig);
		syscall(SYS_rt_sigprocmask, SIG_BLOCK, &one, NULL, CT_KSIGSET_BYTES);
		siginfo_t again = *si;
		/* The kernel lets a thread send itself any si_code. */
		if (syscall(SYS_rt_tgsigqueueinfo, getpid(), (int)syscall(SYS_gettid), sig,
			    &again) == 0)
			return;
	}
	ct_die_by_default(sig);
}

static bool ct_signal_ours(int sig);

/* The signal that parks the other threads while a crash dump of sig is
 * written: one whose action is still ours (ct_dump_crash_bystander),
 * not sig itself, which is at its default by then; 0 if none is. */
static int
ct_crash_park_sig(int sig)
{
	static const int cand[] = {SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSEGV, SIGTERM, SIGINT};
	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++)
		if (cand[i] != sig && ct_signal_ours(cand[i]))
			return cand[i];
	return 0;
}

/* A crash signal delivered by the kernel for a fault cannot be blocked or
 * left pending; it ends the process as the handler returns (above). */
static void
ct_on_crash_(void *sigp)
{
	int sig = *(const int *)sigp;
	ct_signal_default(sig);
	ct_dump_crash(sig, ct_track_uc, CT_CRASH_DUMP_TIMEOUT_MS, ct_crash_park_sig(sig));
	ct_die_on_return(sig, ct_track_si, ct_track_uc);
}

/* All of it on a stack of our own: this may run on the program's
 * alternate signal stack with little of it left (a Rust program's stack
 * overflow aborts from its SIGSEGV handler there: about 1.4 KiB left for
 * us below the SIGABRT's signal frame), so nothing here but the switch. */
static void
ct_on_crash(int sig)
{
	ct_ownstack_run(ct_on_crash_, &sig);
}

/* Puts ours in place for sig if it is at its default action now. */
static void
ct_signal_arm(int sig, void (*fn)(int))
{
	struct sigaction cur, ours;
	if (real_sigaction(sig, NULL, &cur) != 0 || (cur.sa_flags & SA_SIGINFO) ||
	    cur.sa_handler != SIG_DFL)
		return;
	int k = ct_slot_claim(sig);
	if (k < 0)
		return;
	ct_track_fn[sig] = fn;
	struct ct_act *a = &ct_acts[k][sig];
	a->fn = (void *)SIG_DFL;
	a->flags = cur.sa_flags;
	a->kflags = cur.sa_flags;
	ct_kmask_keep(&a->kmask, &cur.sa_mask);
	a->krestorer = cur.sa_restorer;
	a->krestorer_set = 1;
	ct_our_action(k, &ours);
	if (real_sigaction(sig, &ours, NULL) != 0) {
		ct_slot_free(sig, k);
		return;
	}
	if (!ct_glibc_flags && real_sigaction(sig, NULL, &cur) == 0)
		ct_glibc_flags = cur.sa_flags & ~CT_OUR_FLAGS;
}

void
ct_signals_init(void)
{
	ct_guard_run_deferred = ct_run_deferred;
	ct_signals_fork_child();
	static const int fatal[] = {SIGINT, SIGTERM};
	static const int crash[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		ct_signal_arm(fatal[i], ct_on_fatal);
	for (size_t i = 0; i < sizeof(crash) / sizeof(crash[0]); i++)
		ct_signal_arm(crash[i], ct_on_crash);
}

int
ct_signals_track(int sig, void (*handler)(int))
{
	if (sig <= 0 || sig >= CT_NSIG || ct_track_fn[sig])
		return -1;
	ct_signal_arm(sig, handler);
	return 0;
}

void
ct_signals_untrack(void)
{
	for (int sig = 1; sig < CT_NSIG; sig++) {
		struct sigaction cur, dfl;
		if (!ct_track_fn[sig] || real_sigaction(sig, NULL, &cur) != 0)
			continue;
		int k = ct_slot_of((const void *)cur.sa_handler);
		if (k >= 0 && ct_acts[k][sig].fn == (void *)SIG_DFL) {
			/* The default with the flags and mask the program
			 * sees (ct_translate_old). */
			const struct ct_act *a = &ct_acts[k][sig];
			memset(&dfl, 0, sizeof(dfl));
			dfl.sa_handler = SIG_DFL;
			dfl.sa_flags = a->kflags & ~SA_SIGINFO;
			ct_kmask_give(&dfl.sa_mask, &a->kmask);
			if (real_sigaction(sig, &dfl, NULL) == 0)
				ct_slot_free(sig, k);
		}
		/* After the kernel's action changed: a signal that came in
		 * between still found what to do. */
		ct_track_fn[sig] = NULL;
	}
}

/* CONTEND_DUMP_SIGNAL: the dumper thread writes numbered snapshots; the
 * handler only pokes it. Where no dumper runs (a fork child), the signal
 * does what it would have done without us. */
static void
ct_on_dump(int sig)
{
	if (!ct_dumper_request())
		ct_die_by_default(sig);
}

/* Signals 1-64 the program has waited for itself (sigwait, sigwaitinfo,
 * sigtimedwait, signalfd), bit sig - 1: a blocked signal with no handler
 * is how a program takes its signals synchronously (a signal thread,
 * systemd's and GLib's event loops), and such a signal is never the
 * dumper's to take from the pending set. Only ever gains bits. */
static uint64_t ct_program_waits;

void
ct_signals_program_waits(const sigset_t *set)
{
	if (!set)
		return;
	uint64_t bits; /* the kernel's layout: sigset_t's first word */
	memcpy(&bits, set, sizeof(bits));
	if (bits & ~__atomic_load_n(&ct_program_waits, __ATOMIC_RELAXED))
		__atomic_fetch_or(&ct_program_waits, bits, __ATOMIC_RELAXED);
}

/* Whether sig's action is ours, standing for its default: the program set
 * no handler and no SIG_IGN of its own and has not waited for sig itself
 * (ct_dumper_start). */
static bool
ct_signal_ours(int sig)
{
	struct sigaction cur;
	if (sig <= 0 || sig >= CT_NSIG || !ct_track_fn[sig] ||
	    (sig <= 64 && (__atomic_load_n(&ct_program_waits, __ATOMIC_RELAXED) >> (sig - 1) & 1)) ||
	    real_sigaction(sig, NULL, &cur) != 0)
		return false;
	int k = ct_slot_of((const void *)cur.sa_handler);
	return k >= 0 && ct_acts[k][sig].fn == (void *)SIG_DFL;
}

CT_EXPORT int
signalfd(int fd, const sigset_t *mask, int flags)
{
	ct_signals_program_waits(mask);
	return real_signalfd(fd, mask, flags);
}

void
ct_signals_live_start(void)
{
	if (ct_dumper_start(real_pthread_create, ct_signal_ours) == 0 && ct_dumper_signal()) {
		/* Before the action: the calls it interrupts know when they
		 * began (restart.h). */
		__atomic_store_n(&ct_hot.restart_on, 1, __ATOMIC_RELEASE);
		ct_signals_track(ct_dumper_signal(), ct_on_dump);
	}
}

/* Installs h the way glibc's signal flavours do, through our sigaction,
 * and returns the previous handler as the program would have seen it. */
static __sighandler_t
ct_sig_install(int sig, __sighandler_t h, int flags, bool mask_self)
{
	if (h == SIG_ERR || sig < 1 || sig >= CT_NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	struct sigaction a, o;
	memset(&a, 0, sizeof(a));
	a.sa_handler = h;
	sigemptyset(&a.sa_mask);
	if (mask_self)
		sigaddset(&a.sa_mask, sig);
	a.sa_flags = flags;
	if (ct_sigaction(sig, &a, &o) < 0)
		return SIG_ERR;
	return o.sa_handler;
}

static bool
ct_sigintr_has(int sig)
{
	return sig >= 1 && sig < CT_NSIG &&
	       (__atomic_load_n(&ct_sigintr, __ATOMIC_RELAXED) >> (sig - 1) & 1);
}

/* signal(), bsd_signal(), ssignal(): BSD semantics, restartable unless
 * siginterrupt() said otherwise, the signal blocked while its handler
 * runs. */
CT_EXPORT __sighandler_t
signal(int sig, __sighandler_t h)
{
	return ct_sig_install(sig, h, ct_sigintr_has(sig) ? 0 : SA_RESTART, true);
}

CT_EXPORT __sighandler_t
bsd_signal(int sig, __sighandler_t h)
{
	return signal(sig, h);
}

CT_EXPORT __sighandler_t
ssignal(int sig, __sighandler_t h)
{
	return signal(sig, h);
}

/* __sysv_signal(): what strict ISO C programs get for signal(): one-shot,
 * not masked, not restartable. */
CT_EXPORT __sighandler_t
__sysv_signal(int sig, __sighandler_t h)
{
	return ct_sig_install(sig, h, SA_RESETHAND | SA_NODEFER, false);
}

CT_EXPORT __sighandler_t sysv_signal(int sig, __sighandler_t h) __attribute__((alias("__sysv_signal")));

/* siginterrupt(): as glibc's, through our sigaction, remembering the
 * choice for later signal() calls. */
CT_EXPORT int
siginterrupt(int sig, int interrupt)
{
	if (sig < 1 || sig >= CT_NSIG) {
		errno = EINVAL;
		return -1;
	}
	struct sigaction a;
	if (ct_sigaction(sig, NULL, &a) < 0)
		return -1;
	uint64_t bit = (uint64_t)1 << (sig - 1);
	if (interrupt) {
		__atomic_fetch_or(&ct_sigintr, bit, __ATOMIC_RELAXED);
		a.sa_flags &= ~SA_RESTART;
	} else {
		__atomic_fetch_and(&ct_sigintr, ~bit, __ATOMIC_RELAXED);
		a.sa_flags |= SA_RESTART;
	}
	if (ct_sigaction(sig, &a, NULL) < 0)
		return -1;
	return 0;
}

/* sigset() (XSI), as glibc's: SIG_HOLD blocks the signal; anything else
 * installs the disposition and unblocks it. Returns SIG_HOLD if it was
 * blocked. */
CT_EXPORT __sighandler_t
sigset(int sig, __sighandler_t h)
{
	if (sig < 1 || sig >= CT_NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigset_t one, was;
	sigemptyset(&one);
	sigaddset(&one, sig);
	if (h == SIG_HOLD) {
		if (sigprocmask(SIG_BLOCK, &one, &was) < 0)
			return SIG_ERR;
		if (sigismember(&was, sig))
			return SIG_HOLD;
		struct sigaction o;
		if (ct_sigaction(sig, NULL, &o) < 0)
			return SIG_ERR;
		return o.sa_handler;
	}
	struct sigaction a, o;
	memset(&a, 0, sizeof(a));
	a.sa_handler = h;
	sigemptyset(&a.sa_mask);
	if (ct_sigaction(sig, &a, &o) < 0)
		return SIG_ERR;
	if (sigprocmask(SIG_UNBLOCK, &one, &was) < 0)
		return SIG_ERR;
	return sigismember(&was, sig) ? SIG_HOLD : o.sa_handler;
}

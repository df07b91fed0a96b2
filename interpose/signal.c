/* Signals the program left at their default action that we act on:
 * SIGINT/SIGTERM write the profiles, then the process dies of the same
 * signal (Ctrl-C on a server must not lose the profile); SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL and SIGABRT first write a crash dump of the threads, then
 * the process dies exactly as it would have. Other modules may track more
 * (the dump signal) with ct_signals_track.
 *
 * Our handler is installed only where the program left the default, and
 * is invisible to it: sigaction()/signal() report SIG_DFL while ours is in
 * place, a handler or SIG_IGN the program sets replaces ours, and setting
 * SIG_DFL again re-arms ours. The handler does no dump work itself (see
 * ct_dump_from_signal: a forked copy writes, and a watchdog bounds it). */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "../core/dump.h"
#include "../core/dumper.h"
#include "../core/spin.h"
#include "interpose.h"
#include "real.h"

/* Long enough to symbolize a big program, short enough that a stuck dump
 * cannot keep a Ctrl-C'd server alive for long. */
#define CT_SIGNAL_DUMP_TIMEOUT_MS 10000

/* A crash dump must not keep a crashed process alive for long. */
#define CT_CRASH_DUMP_TIMEOUT_MS 5000

struct ct_tracked {
	int sig;
	void (*handler)(int);
	int ours; /* our handler is installed */
};

static void ct_on_fatal(int sig);
static void ct_on_crash(int sig);

#define CT_MAX_TRACKED 8
static struct ct_tracked ct_tracked[CT_MAX_TRACKED] = {
	{SIGINT, ct_on_fatal, 0},  {SIGTERM, ct_on_fatal, 0}, {SIGSEGV, ct_on_crash, 0},
	{SIGBUS, ct_on_crash, 0},  {SIGFPE, ct_on_crash, 0},  {SIGILL, ct_on_crash, 0},
	{SIGABRT, ct_on_crash, 0},
};
static int ct_ntracked = 7;
static ct_spin ct_sig_lock;

static int
ct_fatal_index(int sig)
{
	for (int i = 0; i < ct_ntracked; i++)
		if (ct_tracked[i].sig == sig)
			return i;
	return -1;
}

/* Dies exactly as the default action would: the signal stays blocked
 * until the handler returns, then kills us with the same status (and
 * core dump, where the default makes one). */
static void
ct_set_default(int sig)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	real_sigaction(sig, &dfl, NULL);
}

static void
ct_die_by_default(int sig)
{
	ct_set_default(sig);
	raise(sig);
}

/* A signal handed to a waiting thread gets there within microseconds;
 * this only matters if that thread never runs its handler. */
#define CT_HANDOVER_TIMEOUT_MS 1000

static void
ct_on_fatal(int sig)
{
	if (ct_dump_hand_over(sig, CT_HANDOVER_TIMEOUT_MS))
		return;
	ct_set_default(sig);
	ct_dump_from_signal(sig, CT_SIGNAL_DUMP_TIMEOUT_MS);
	ct_die_by_default(sig);
}

static void
ct_on_crash(int sig)
{
	ct_set_default(sig);
	ct_dump_crash(sig, CT_CRASH_DUMP_TIMEOUT_MS);
	ct_die_by_default(sig);
}

static void
ct_our_action(int i, struct sigaction *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sa_handler = ct_tracked[i].handler;
	sigfillset(&sa->sa_mask);
	/* SA_ONSTACK: a stack overflow can only be reported on the
	 * program's alternate stack, if it set one. */
	sa->sa_flags = SA_RESTART | SA_ONSTACK;
}

static bool
ct_is_default(const struct sigaction *a)
{
	return !(a->sa_flags & SA_SIGINFO) && a->sa_handler == SIG_DFL;
}

static void
ct_signal_arm(int i)
{
	struct sigaction ours, old;
	ct_our_action(i, &ours);
	if (real_sigaction(ct_tracked[i].sig, NULL, &old) == 0 && ct_is_default(&old) &&
	    real_sigaction(ct_tracked[i].sig, &ours, NULL) == 0)
		ct_tracked[i].ours = 1;
}

void
ct_signals_init(void)
{
	for (int i = 0; i < ct_ntracked; i++)
		ct_signal_arm(i);
}

int
ct_signals_track(int sig, void (*handler)(int))
{
	if (ct_fatal_index(sig) >= 0 || ct_ntracked == CT_MAX_TRACKED)
		return -1;
	ct_tracked[ct_ntracked] = (struct ct_tracked){sig, handler, 0};
	ct_signal_arm(ct_ntracked++);
	return 0;
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

void
ct_signals_live_start(void)
{
	if (ct_dumper_start(real_pthread_create) == 0 && ct_dumper_signal())
		ct_signals_track(ct_dumper_signal(), ct_on_dump);
}

CT_EXPORT int
sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	int i = ct_fatal_index(sig);
	if (CT_LIKELY(i < 0))
		return real_sigaction(sig, act, old);
	struct sigaction ours;
	ct_our_action(i, &ours);
	const struct sigaction *use = act && ct_is_default(act) ? &ours : act;
	ct_spin_lock(&ct_sig_lock);
	int r = real_sigaction(sig, use, old);
	if (r == 0) {
		if (old && ct_tracked[i].ours) {
			memset(old, 0, sizeof(*old));
			old->sa_handler = SIG_DFL;
		}
		if (act)
			ct_tracked[i].ours = use == &ours;
	}
	ct_spin_unlock(&ct_sig_lock);
	return r;
}

/* Installs h for a tracked signal through our sigaction, the way glibc's
 * signal flavours do, and returns the previous disposition as the program
 * would have seen it. */
static __sighandler_t
ct_sig_install(int sig, __sighandler_t h, int flags, bool mask_self)
{
	struct sigaction a, o;
	memset(&a, 0, sizeof(a));
	a.sa_handler = h;
	sigemptyset(&a.sa_mask);
	if (mask_self)
		sigaddset(&a.sa_mask, sig);
	a.sa_flags = flags;
	if (sigaction(sig, &a, &o) < 0)
		return SIG_ERR;
	return o.sa_handler;
}

/* signal(), bsd_signal(), ssignal(): BSD semantics, restartable, the
 * signal blocked while its handler runs. */
CT_EXPORT __sighandler_t
signal(int sig, __sighandler_t h)
{
	if (CT_LIKELY(ct_fatal_index(sig) < 0))
		return real_signal(sig, h);
	return ct_sig_install(sig, h, SA_RESTART, true);
}

/* Not declared by <signal.h> under _GNU_SOURCE. */
__sighandler_t bsd_signal(int sig, __sighandler_t h);
int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);

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
	if (CT_LIKELY(ct_fatal_index(sig) < 0))
		return real___sysv_signal(sig, h);
	return ct_sig_install(sig, h, SA_RESETHAND | SA_NODEFER, false);
}

CT_EXPORT __sighandler_t sysv_signal(int sig, __sighandler_t h) __attribute__((alias("__sysv_signal")));

CT_EXPORT int
__sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction(sig, act, old);
}

/* sigset() (XSI): SIG_HOLD blocks the signal; anything else installs the
 * disposition and unblocks it. Returns SIG_HOLD if it was blocked. */
CT_EXPORT __sighandler_t
sigset(int sig, __sighandler_t h)
{
	if (CT_LIKELY(ct_fatal_index(sig) < 0))
		return real_sigset(sig, h);
	sigset_t one, was;
	sigemptyset(&one);
	sigaddset(&one, sig);
	__sighandler_t prev;
	if (h == SIG_HOLD) {
		struct sigaction o;
		if (sigaction(sig, NULL, &o) < 0)
			return SIG_ERR;
		prev = o.sa_handler;
		if (pthread_sigmask(SIG_BLOCK, &one, &was) != 0)
			return SIG_ERR;
	} else {
		prev = ct_sig_install(sig, h, 0, false);
		if (prev == SIG_ERR || pthread_sigmask(SIG_UNBLOCK, &one, &was) != 0)
			return SIG_ERR;
	}
	return sigismember(&was, sig) ? SIG_HOLD : prev;
}

/* SIGINT/SIGTERM at their default action: write the profiles, then die of
 * the same signal. Ctrl-C on a server must not lose the profile.
 *
 * Our handler is installed only where the program left the default, and
 * is invisible to it: sigaction()/signal() report SIG_DFL while ours is in
 * place, a handler or SIG_IGN the program sets replaces ours, and setting
 * SIG_DFL again re-arms ours. The handler does no dump work itself (see
 * ct_dump_from_signal: a forked copy writes, bounded by a time-out). */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "../core/dump.h"
#include "../core/spin.h"
#include "interpose.h"
#include "real.h"

/* Long enough to symbolize a big program, short enough that a stuck dump
 * cannot keep a Ctrl-C'd server alive for long. */
#define CT_SIGNAL_DUMP_TIMEOUT_MS 10000

static const int ct_fatal_sigs[] = {SIGINT, SIGTERM};
static int ct_ours[2]; /* our handler is installed for ct_fatal_sigs[i] */
static ct_spin ct_sig_lock;

static int
ct_fatal_index(int sig)
{
	for (int i = 0; i < 2; i++)
		if (ct_fatal_sigs[i] == sig)
			return i;
	return -1;
}

static void
ct_on_fatal(int sig)
{
	ct_dump_from_signal(CT_SIGNAL_DUMP_TIMEOUT_MS);
	/* Now die exactly as the default action would: the signal stays
	 * blocked until we return, then kills us with the same status. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	real_sigaction(sig, &dfl, NULL);
	raise(sig);
}

static void
ct_our_action(struct sigaction *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sa_handler = ct_on_fatal;
	sigfillset(&sa->sa_mask);
	sa->sa_flags = SA_RESTART;
}

static bool
ct_is_default(const struct sigaction *a)
{
	return !(a->sa_flags & SA_SIGINFO) && a->sa_handler == SIG_DFL;
}

void
ct_signals_init(void)
{
	struct sigaction ours, old;
	ct_our_action(&ours);
	for (int i = 0; i < 2; i++) {
		if (real_sigaction(ct_fatal_sigs[i], NULL, &old) == 0 && ct_is_default(&old) &&
		    real_sigaction(ct_fatal_sigs[i], &ours, NULL) == 0)
			ct_ours[i] = 1;
	}
}

CT_EXPORT int
sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	int i = ct_fatal_index(sig);
	if (CT_LIKELY(i < 0))
		return real_sigaction(sig, act, old);
	struct sigaction ours;
	ct_our_action(&ours);
	const struct sigaction *use = act && ct_is_default(act) ? &ours : act;
	ct_spin_lock(&ct_sig_lock);
	int r = real_sigaction(sig, use, old);
	if (r == 0) {
		if (old && ct_ours[i]) {
			memset(old, 0, sizeof(*old));
			old->sa_handler = SIG_DFL;
		}
		if (act)
			ct_ours[i] = use == &ours;
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

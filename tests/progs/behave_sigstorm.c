/* Signal dispositions and signal handlers under fork, re-entry and load.
 * Each mode prints results that are the same with and without the shim,
 * and exits 0, or 1 with FAIL lines.
 *
 *   behave_sigstorm fork [N]
 *     two threads loop sigaction(SIGTERM, ...) (a handler, then SIG_DFL)
 *     while the main thread forks N times (1000); each child calls
 *     sigaction(SIGTERM, SIG_IGN) and _exit(0). A child that has not
 *     exited 5 s after its fork is killed and counted as a hang.
 *   behave_sigstorm nested [MS]
 *     a 50 us SIGALRM interval timer whose handler calls sigaction(SIGINT)
 *     and signal(SIGINT) while the main thread loops sigaction(SIGTERM)
 *     for MS milliseconds (1000).
 *   behave_sigstorm handler-io
 *     single-threaded: a SIGUSR1 handler (raised 20 times) and a SIGALRM
 *     handler (an interval timer, 10 deliveries while the main thread
 *     waits in sigsuspend) call poll() for 20 ms, write() and read() on a
 *     pipe, all waits the shim would record outside a handler. With
 *     libcountmalloc.so preloaded too, prints how many allocations were
 *     made while a handler ran (handler_mallocs=0 expected: the shim must
 *     not load its unwinder or allocate there). Then a SIGUSR2 handler
 *     left with siglongjmp, and a 30 ms poll() in after_longjmp_wait,
 *     which must be recorded again.
 *   behave_sigstorm dispositions
 *     what sigaction() reports (handler, raw flags, mask, restorer) for
 *     SIGUSR1, SIGTERM, SIGINT and SIGSEGV: untouched, SIG_DFL with flags
 *     and a mask, handlers with SA_RESTART and a mask, SA_SIGINFO with
 *     SA_NODEFER, SA_RESETHAND before and after it fired, signal() before
 *     and after siginterrupt(), sysv_signal(), sigset(); and whether each
 *     handler ran, with its signal blocked or not, and its siginfo.
 *   behave_sigstorm storm [MS]
 *     four threads (and the main thread) lock/unlock a shared mutex,
 *     ping-pong on a condition variable and through a pipe, and change
 *     SIGUSR2's and SIGTERM's dispositions, each under its own 300 us SIGALRM
 *     timer,
 *     for MS milliseconds (1000); the handler calls every
 *     async-signal-safe function the shim wraps: read, write, poll,
 *     select, send, recv, sem_post, sigaction, signal, nanosleep(0),
 *     fcntl, waitpid(WNOHANG), close(dup()), and checks each result.
 *   behave_sigstorm vfork
 *     handlers for SIGINT, SIGUSR1 and SIGTERM, then a vfork() child that
 *     resets every signal it can to SIG_DFL with sigaction() and _exit()s,
 *     as Python's subprocess does, 20 times; after each the parent raises
 *     each signal:
 *     its own handlers must still run (the child shares our memory, not
 *     our kernel actions), and what sigaction() reports is unchanged. */

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "progs.h"

static void
on_nothing(int sig)
{
	(void)sig;
}

static void
on_info(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
}

static int
set_action(int sig, int handler_kind)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	if (handler_kind == 0) {
		sa.sa_handler = SIG_DFL;
	} else if (handler_kind == 1) {
		sa.sa_handler = on_nothing;
		sa.sa_flags = SA_RESTART;
	} else {
		sa.sa_sigaction = on_info;
		sa.sa_flags = SA_SIGINFO;
	}
	return sigaction(sig, &sa, NULL);
}

/* ------------------------------------------------------------------ */
/* fork */

static volatile int stop_looping;

static void *
sigaction_loop(void *arg)
{
	long n = 0;
	while (!__atomic_load_n(&stop_looping, __ATOMIC_RELAXED)) {
		MUST0(set_action(SIGTERM, 1 + (int)(n & 1)));
		MUST0(set_action(SIGTERM, 0));
		n++;
	}
	return arg;
}

static int
fork_storm(long forks)
{
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		XPT(pthread_create(&t[i], NULL, sigaction_loop, NULL));
	long hangs = 0, bad = 0;
	for (long i = 0; i < forks; i++) {
		pid_t c = fork();
		if (c < 0)
			die("fork", errno);
		if (c == 0) {
			struct sigaction ign;
			memset(&ign, 0, sizeof(ign));
			ign.sa_handler = SIG_IGN;
			_exit(sigaction(SIGTERM, &ign, NULL) == 0 ? 0 : 1);
		}
		int st = 0;
		int64_t deadline = now_ns() + 5 * 1000000000LL;
		pid_t r;
		while ((r = waitpid(c, &st, WNOHANG)) == 0 && now_ns() < deadline)
			sleep_us(200);
		if (r == 0) {
			hangs++;
			kill(c, SIGKILL);
			waitpid(c, &st, 0);
		} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			bad++;
		}
	}
	__atomic_store_n(&stop_looping, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		XPT(pthread_join(t[i], NULL));
	printf("forks=%ld\n", forks);
	CHECK_EQ(hangs, 0);
	CHECK_EQ(bad, 0);
	return check_status();
}

/* ------------------------------------------------------------------ */
/* nested */

static volatile sig_atomic_t alarms;
static volatile sig_atomic_t nested_errors;

static void
on_alarm_sigaction(int sig)
{
	(void)sig;
	int e = errno;
	alarms++;
	if (set_action(SIGINT, 1 + (alarms & 1)) != 0)
		nested_errors++;
	if (signal(SIGINT, SIG_DFL) == SIG_ERR)
		nested_errors++;
	errno = e;
}

static void
start_itimer(long us)
{
	struct itimerval it = {{0, us}, {0, us}};
	if (setitimer(ITIMER_REAL, &it, NULL) != 0)
		die("setitimer", errno);
}

static void
stop_itimer(void)
{
	struct itimerval it = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &it, NULL);
}

static int
nested(long ms)
{
	MUST0(set_handler(SIGALRM, on_alarm_sigaction, SA_RESTART));
	start_itimer(50);
	int64_t end = now_ns() + ms * 1000000LL;
	long loops = 0, errors = 0;
	while (now_ns() < end || alarms < 10) {
		if (set_action(SIGTERM, 1 + (int)(loops & 1)) != 0 || set_action(SIGTERM, 0) != 0)
			errors++;
		loops++;
	}
	stop_itimer();
	signal(SIGALRM, SIG_IGN);
	printf("alarms_seen=%d\n", alarms >= 10);
	CHECK_EQ(errors, 0);
	CHECK_EQ(nested_errors, 0);
	/* The last handler call left SIGINT at SIG_DFL, SIGTERM too. */
	struct sigaction o;
	MUST0(sigaction(SIGINT, NULL, &o));
	CHECK_EQ(o.sa_handler == SIG_DFL, 1);
	MUST0(sigaction(SIGTERM, NULL, &o));
	CHECK_EQ(o.sa_handler == SIG_DFL, 1);
	return check_status();
}

/* ------------------------------------------------------------------ */
/* handler-io */

static volatile int *malloc_flag;
static long *malloc_count;
static int io_pipe[2];
static volatile sig_atomic_t io_calls, io_errors, io_alarms;

static NOINLINE void
handler_io(void)
{
	char c = 'x';
	if (malloc_flag)
		*malloc_flag = 1;
	if (poll(NULL, 0, 20) != 0)
		io_errors++;
	if (write(io_pipe[1], &c, 1) != 1)
		io_errors++;
	c = 0;
	if (read(io_pipe[0], &c, 1) != 1 || c != 'x')
		io_errors++;
	if (malloc_flag)
		*malloc_flag = 0;
	io_calls++;
}

static void
on_usr1_io(int sig)
{
	(void)sig;
	int e = errno;
	handler_io();
	errno = e;
}

static void
on_alarm_io(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	int e = errno;
	if (si->si_signo != sig)
		io_errors++;
	handler_io();
	io_alarms++;
	errno = e;
}

static sigjmp_buf jump_back;

static void
on_usr2_jump(int sig)
{
	(void)sig;
	siglongjmp(jump_back, 1);
}

/* A wait after a handler was left with siglongjmp: recorded again. */
static NOINLINE void
after_longjmp_wait(void)
{
	poll(NULL, 0, 30);
}

static int
handler_io_mode(void)
{
	malloc_flag = dlsym(RTLD_DEFAULT, "countmalloc_flag");
	malloc_count = dlsym(RTLD_DEFAULT, "countmalloc_in_handler");
	if (pipe(io_pipe) != 0)
		die("pipe", errno);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_usr1_io;
	MUST0(sigaction(SIGUSR1, &sa, NULL));
	for (int i = 0; i < 20; i++)
		MUST0(raise(SIGUSR1));
	sa.sa_sigaction = on_alarm_io;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	MUST0(sigaction(SIGALRM, &sa, NULL));
	sigset_t block, none;
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	sigemptyset(&none);
	MUST0(sigprocmask(SIG_BLOCK, &block, NULL));
	start_itimer(30000);
	while (io_alarms < 10)
		sigsuspend(&none);
	stop_itimer();
	/* One more may be pending: dropped, not delivered. */
	signal(SIGALRM, SIG_IGN);
	MUST0(sigprocmask(SIG_UNBLOCK, &block, NULL));
	CHECK_EQ(io_calls, 30);
	CHECK_EQ(io_errors, 0);
	sa.sa_handler = on_usr2_jump;
	sa.sa_flags = 0;
	MUST0(sigaction(SIGUSR2, &sa, NULL));
	volatile int jumped = 0;
	if (sigsetjmp(jump_back, 1) == 0)
		raise(SIGUSR2);
	else
		jumped = 1;
	CHECK_EQ(jumped, 1);
	after_longjmp_wait();
	CHECK_EQ(malloc_count ? *malloc_count : 0, 0);
	return check_status();
}

/* ------------------------------------------------------------------ */
/* dispositions */

static volatile sig_atomic_t seen_sig, seen_blocked, seen_code;

static void
on_report(int sig)
{
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	seen_sig = sig;
	seen_blocked = sigismember(&cur, sig);
}

static void
on_report_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	on_report(sig);
	seen_code = si->si_signo == sig && si->si_code == SI_TKILL;
}

/* What sigaction() reports for sig: which handler, the raw flags, the
 * kernel's mask bits and whether a restorer is set. */
static void
show(const char *what, int sig)
{
	struct sigaction o;
	memset(&o, 0xa5, sizeof(o));
	MUST0(sigaction(sig, NULL, &o));
	void *h = (o.sa_flags & SA_SIGINFO) ? (void *)o.sa_sigaction : (void *)o.sa_handler;
	const char *name = h == (void *)SIG_DFL                ? "SIG_DFL"
			   : h == (void *)SIG_IGN              ? "SIG_IGN"
			   : h == (void *)on_report            ? "on_report"
			   : h == (void *)on_report_info       ? "on_report_info"
							       : "OTHER";
	unsigned long mask = 0;
	for (int s = 1; s < 64; s++)
		if (sigismember(&o.sa_mask, s) == 1)
			mask |= 1UL << (s - 1);
	printf("%s sig=%d handler=%s flags=%#x mask=%#lx restorer=%d\n", what, sig, name,
	       (unsigned)o.sa_flags, mask, o.sa_restorer != NULL);
}

static void
install(int sig, int info, int flags, int masked)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	if (info)
		sa.sa_sigaction = on_report_info;
	else
		sa.sa_handler = on_report;
	sa.sa_flags = flags | (info ? SA_SIGINFO : 0);
	sigemptyset(&sa.sa_mask);
	if (masked)
		sigaddset(&sa.sa_mask, masked);
	struct sigaction old;
	memset(&old, 0, sizeof(old));
	MUST0(sigaction(sig, &sa, &old));
}

static int
dispositions(void)
{
	static const int sigs[] = {SIGUSR1, SIGTERM, SIGINT, SIGSEGV};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		int sig = sigs[i];
		show("untouched", sig);
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		dfl.sa_flags = SA_RESTART | SA_NODEFER;
		sigemptyset(&dfl.sa_mask);
		sigaddset(&dfl.sa_mask, SIGHUP);
		sigaddset(&dfl.sa_mask, SIGKILL);
		MUST0(sigaction(sig, &dfl, NULL));
		show("default-with-flags", sig);
		if (sig == SIGSEGV)
			continue;
		install(sig, 0, SA_RESTART, SIGUSR2);
		show("plain", sig);
		seen_sig = seen_blocked = -1;
		MUST0(raise(sig));
		printf("ran=%d blocked_in_handler=%d\n", seen_sig == sig, seen_blocked);
		install(sig, 1, SA_NODEFER | SA_ONSTACK, 0);
		show("siginfo-nodefer", sig);
		seen_sig = seen_blocked = seen_code = -1;
		MUST0(raise(sig));
		printf("ran=%d blocked_in_handler=%d siginfo_ok=%d\n", seen_sig == sig, seen_blocked,
		       seen_code);
		install(sig, 0, SA_RESETHAND, 0);
		show("resethand", sig);
		MUST0(raise(sig));
		show("after-reset", sig);
		if (signal(sig, on_report) == SIG_ERR)
			printf("signal failed\n");
		show("signal()", sig);
		MUST0(siginterrupt(sig, 1));
		show("siginterrupt", sig);
		if (signal(sig, on_report) == SIG_ERR)
			printf("signal failed\n");
		show("signal()-interrupting", sig);
		MUST0(siginterrupt(sig, 0));
		printf("sysv_signal -> %s\n", sysv_signal(sig, SIG_IGN) == on_report ? "on_report" : "?");
		show("sysv SIG_IGN", sig);
		printf("sigset -> %s\n", sigset(sig, SIG_DFL) == SIG_IGN ? "SIG_IGN" : "?");
		show("sigset SIG_DFL", sig);
	}
	return check_status();
}

/* ------------------------------------------------------------------ */
/* storm */

static int storm_pipe[2], storm_sock[2], spare_fd;
static sem_t storm_sem;
static volatile sig_atomic_t storm_errors;
static long storm_handled;

static void
on_storm(int sig)
{
	(void)sig;
	int e = errno;
	char c = 's';
	struct pollfd pf = {.fd = storm_pipe[0], .events = POLLIN};
	if (write(storm_pipe[1], &c, 1) != 1)
		storm_errors++;
	if (poll(&pf, 1, 1000) != 1)
		storm_errors++;
	if (read(storm_pipe[0], &c, 1) != 1 || c != 's')
		storm_errors++;
	if (send(storm_sock[0], &c, 1, 0) != 1)
		storm_errors++;
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(storm_sock[1], &rd);
	struct timeval tv = {1, 0};
	if (select(storm_sock[1] + 1, &rd, NULL, NULL, &tv) != 1)
		storm_errors++;
	if (recv(storm_sock[1], &c, 1, 0) != 1)
		storm_errors++;
	if (sem_post(&storm_sem) != 0)
		storm_errors++;
	struct sigaction o;
	/* The threads change SIGTERM all the time: any of theirs, never
	 * anything else. */
	if (sigaction(SIGTERM, NULL, &o) != 0 ||
	    (o.sa_handler != SIG_DFL && o.sa_handler != on_nothing &&
	     (void *)o.sa_sigaction != (void *)on_info))
		storm_errors++;
	if (set_action(SIGUSR2, 2) != 0 || signal(SIGUSR1, SIG_IGN) == SIG_ERR)
		storm_errors++;
	struct timespec zero = {0, 0};
	if (nanosleep(&zero, NULL) != 0)
		storm_errors++;
	if (fcntl(storm_pipe[0], F_GETFD) < 0)
		storm_errors++;
	if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD)
		storm_errors++;
	int d = dup(spare_fd);
	if (d < 0 || close(d) != 0)
		storm_errors++;
	__atomic_fetch_add(&storm_handled, 1, __ATOMIC_RELAXED);
	errno = e;
}

static pthread_mutex_t storm_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t storm_c = PTHREAD_COND_INITIALIZER;
static long storm_turn, storm_counter;
static int64_t storm_end;

static void
thread_timer(long us)
{
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGALRM;
	sev._sigev_un._tid = (int)syscall(SYS_gettid);
	timer_t t;
	if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0)
		die("timer_create", errno);
	struct itimerspec its = {{0, us * 1000}, {0, us * 1000}};
	if (timer_settime(t, 0, &its, NULL) != 0)
		die("timer_settime", errno);
}

/* Threads 0 and 1 ping-pong on the condition variable, 2 and 3 through
 * a pipe each way; all of them also lock the shared mutex and change
 * SIGUSR2. Fixed round counts, so the totals are the same every run. */
#define STORM_ROUNDS 500
static int pp[2][2];

static void *
storm_thread(void *arg)
{
	long id = (long)arg;
	thread_timer(300);
	char c = 'p';
	for (long i = 0; i < STORM_ROUNDS; i++) {
		MUST0(pthread_mutex_lock(&storm_m));
		storm_counter++;
		if (id < 2) {
			while (storm_turn % 2 != id)
				MUST0(pthread_cond_wait(&storm_c, &storm_m));
			storm_turn++;
			MUST0(pthread_cond_broadcast(&storm_c));
		}
		MUST0(pthread_mutex_unlock(&storm_m));
		if (id == 2) {
			if (write(pp[0][1], &c, 1) != 1 || read(pp[1][0], &c, 1) != 1)
				storm_errors++;
		} else if (id == 3) {
			if (read(pp[0][0], &c, 1) != 1 || write(pp[1][1], &c, 1) != 1)
				storm_errors++;
		}
		MUST0(set_action(SIGUSR2, 1 + (int)(i & 1)));
		MUST0(set_action(SIGTERM, 1 + (int)(i & 1)));
		MUST0(set_action(SIGTERM, 0));
	}
	return NULL;
}

static int
storm(long ms)
{
	if (pipe(storm_pipe) != 0 || pipe(pp[0]) != 0 || pipe(pp[1]) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, storm_sock) != 0 || sem_init(&storm_sem, 0, 0) != 0)
		die("pipe/socketpair/sem_init", errno);
	spare_fd = storm_pipe[0];
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_storm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	MUST0(sigaction(SIGALRM, &sa, NULL));
	storm_end = now_ns() + ms * 1000000LL;
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		XPT(pthread_create(&t[i], NULL, storm_thread, (void *)i));
	thread_timer(300);
	long mine = 0;
	while (now_ns() < storm_end) {
		MUST0(pthread_mutex_lock(&storm_m));
		storm_counter++;
		MUST0(pthread_mutex_unlock(&storm_m));
		struct timespec ts = {0, 100 * 1000};
		nanosleep(&ts, NULL);
		mine++;
	}
	for (int i = 0; i < 4; i++)
		XPT(pthread_join(t[i], NULL));
	signal(SIGALRM, SIG_IGN);
	long posts = 0;
	while (sem_trywait(&storm_sem) == 0)
		posts++;
	printf("thread_rounds=%ld\n", storm_counter - mine);
	printf("turns=%ld\n", storm_turn);
	printf("handled_some=%d\n", storm_handled > 0);
	CHECK_EQ(posts == storm_handled, 1);
	CHECK_EQ(storm_errors, 0);
	return check_status();
}

/* vfork */

static volatile sig_atomic_t vfork_hits[NSIG];

static void
vfork_handler(int sig)
{
	vfork_hits[sig]++;
}

static int
vfork_mode(void)
{
	static const int sigs[] = {SIGINT, SIGUSR1, SIGTERM};
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vfork_handler;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		CHECK_EQ(sigaction(sigs[i], &sa, NULL), 0);
	/* Enough children that a slot one of them claimed in our shared
	 * memory would be the one our kernel action points at. */
	for (int round = 0; round < 20; round++) {
		pid_t p = vfork();
		if (p == 0) {
			struct sigaction dfl, cur;
			memset(&dfl, 0, sizeof(dfl));
			dfl.sa_handler = SIG_DFL;
			for (int sig = 1; sig < NSIG; sig++) {
				if (sig == SIGKILL || sig == SIGSTOP)
					continue;
				if (sigaction(sig, NULL, &cur) == -1 || cur.sa_handler == SIG_IGN)
					continue;
				sigaction(sig, &dfl, NULL);
			}
			_exit(0);
		}
		CHECK_EQ(p > 0, 1);
		int st = -1;
		CHECK_EQ(waitpid(p, &st, 0) == p, 1);
		CHECK_EQ(WIFEXITED(st) && WEXITSTATUS(st) == 0, 1);
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
			struct sigaction cur;
			CHECK_EQ(sigaction(sigs[i], NULL, &cur), 0);
			CHECK_EQ(cur.sa_handler == vfork_handler, 1);
			raise(sigs[i]);
			printf("round %d %s handled %d\n", round, strsignal(sigs[i]),
			       (int)vfork_hits[sigs[i]]);
		}
	}
	return check_status();
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "vfork"))
		return vfork_mode();
	if (argc >= 2 && !strcmp(argv[1], "fork"))
		return fork_storm(arg_long(argc, argv, 2, 1000));
	if (argc >= 2 && !strcmp(argv[1], "nested"))
		return nested(arg_long(argc, argv, 2, 1000));
	if (argc >= 2 && !strcmp(argv[1], "handler-io"))
		return handler_io_mode();
	if (argc >= 2 && !strcmp(argv[1], "dispositions"))
		return dispositions();
	if (argc >= 2 && !strcmp(argv[1], "storm"))
		return storm(arg_long(argc, argv, 2, 1000));
	fprintf(stderr, "usage: behave_sigstorm fork [N] | nested [MS] | handler-io | "
			"dispositions | storm [MS] | vfork\n");
	return 2;
}

/* Final dumps from signal handlers; see dump.h. Lifetime: once per
 * process, from the handler of a fatal signal (SIGINT/SIGTERM at their
 * default action: ct_dump_fatal, which owns the dump with one
 * compare-and-swap word, parks the other threads and ends the process) or
 * of a crash signal (ct_dump_crash, which writes the raw crash files
 * first). Async-signal-safe up to the fork: raw system calls, no
 * allocation, no lock taken; POSIX timers are the watchdogs. Both need a
 * stack of their own (ownstack.h), not the one the handler was given,
 * which may be the program's small alternate signal stack: ct_dump_fatal
 * switches to one, ct_dump_crash's caller does. The forked
 * copy writes through the common path (dump.c), where it may allocate. The
 * fork-child state below is reset by ct_dump_fatal_fork_child
 * (core/fork.c). */
#include <sys/resource.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "dump.h"
#include "dump_int.h"
#include "forklocks.h"
#include "log.h"
#include "names.h"
#include "outfile.h"
#include "ownstack.h"
#include "pages.h"
#include "profiles.h"
#include "sys.h"
#include "thread.h"
#include "threads.h"
#include "unwind.h"

static pid_t (*ct_fork_fn)(void) CT_INIT_HOT;
/* Set across the fork of a signal dump, by the thread that forks: per
 * thread, so that a program thread forking at the same moment makes an
 * ordinary child (fork.h: handlers of concurrent forks interleave). */
static CT_TLS int ct_signal_forking;

static void ct_park(void) __attribute__((noreturn));
static void ct_park_others(int me, int sig);

/* The thread writing this process's crash dump (pid << 32 | tid; 0
 * before; a fork child's inherited word names its parent): any other
 * thread that runs one of our handlers meanwhile parks for good
 * (ct_dump_crash_bystander), as those it sends park_sig do. */
static uint64_t ct_crash_owner CT_FORK_HOT;

static uint64_t
ct_me(void)
{
	return (uint64_t)(uint32_t)getpid() << 32 | (uint32_t)syscall(SYS_gettid);
}

/* Whether owner (an owner word's value) is a thread of this process. */
static bool
ct_owner_here(uint64_t owner)
{
	return owner && owner >> 32 == (uint32_t)getpid();
}

/* Makes this thread the owner in *word (pid << 32 | tid) unless a thread
 * of this process is: returns that owner (this very thread, re-entering,
 * included), or 0 when the word is now this thread's. */
static uint64_t
ct_owner_claim(uint64_t *word)
{
	uint64_t owner = __atomic_load_n(word, __ATOMIC_ACQUIRE);
	while (!ct_owner_here(owner) &&
	       !__atomic_compare_exchange_n(word, &owner, ct_me(), false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE))
		;
	return ct_owner_here(owner) ? owner : 0;
}

void
ct_dump_crash_bystander(void)
{
	uint64_t owner = __atomic_load_n(&ct_crash_owner, __ATOMIC_ACQUIRE);
	if (ct_owner_here(owner) && owner != ct_me())
		ct_park();
}

/* The kernel's sigset: the first 64 bits of glibc's. */
#define CT_KSIGSET_BYTES 8

void
ct_dump_configure(pid_t (*fork_fn)(void))
{
	ct_fork_fn = fork_fn;
}

/* Sets timer id to fire once, ms from now. */
static void
ct_timer_set(int id, int ms)
{
	struct itimerspec its = {.it_value = {ms / 1000, (ms % 1000) * 1000000L}};
	syscall(SYS_timer_settime, id, 0, &its, NULL);
}

/* A one-shot timer that sends sig after ms: to thread tid (a
 * thread-directed signal, so it reaches exactly the thread that waits),
 * or to the process when tid is 0. Its id, or -1 if none. Raw system
 * calls: glibc's timer_create may allocate. */
static int
ct_timer(int sig, int tid, int ms)
{
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = tid ? SIGEV_THREAD_ID : SIGEV_SIGNAL;
	sev.sigev_signo = sig;
	sev._sigev_un._tid = tid;
	int id = -1;
	if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id) != 0)
		return -1;
	ct_timer_set(id, ms);
	return id;
}

/* Whatever happens below (a fork that waits forever on a lock this very
 * thread held when the signal came, a child that hangs), sig, now at its
 * default action and unblocked here, kills the process when the time is
 * up: the program dies of the signal it got, at most timeout_ms late. */
static int
ct_dump_watchdog(int sig, int timeout_ms)
{
	int id = ct_timer(sig, 0, timeout_ms);
	if (id < 0)
		return -1;
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	return id;
}

/* Waits at most timeout_ms for the forked copy to end, polling: a
 * handler has no waitpid with a deadline. When time is up, says so and
 * kills it (not reaped). True if it ended in time. */
static bool
ct_dump_wait_copy(pid_t child, int timeout_ms)
{
	struct timespec tick = {0, 5 * 1000 * 1000};
	for (int waited = 0; waited < timeout_ms; waited += 5) {
		int st;
		pid_t r = ct_sys_waitpid(child, &st, WNOHANG | __WALL);
		if (r == child || (r < 0 && errno != EINTR))
			return true;
		ct_sys_nanosleep(&tick, NULL);
	}
	ct_log("writing the profiles took longer than %d ms; given up", timeout_ms);
	kill(child, SIGKILL);
	return false;
}

#ifdef CT_TEST_SEAMS
static int ct_test_copy_delay_ms;

CT_EXPORT void
ct_dump_test_crash_copy_delay(int ms)
{
	ct_test_copy_delay_ms = ms;
}
#endif

/* Long enough for the fork of a big process, short enough that a crash
 * whose own thread holds the lock the fork waits for dies soon. */
#define CT_CRASH_HELD_FORK_MS 300

static void
ct_dump_from_signal_(int sig, const void *uc, int timeout_ms, int park_sig)
{
	if (!ct_dump_final_claim())
		return;
	if (!ct_profiles_have_data() && !ct_threads_worth_dumping())
		return;
	/* A crash inside malloc (its own abort on a corrupted heap) or
	 * fork() may hold a lock the fork would wait for until the
	 * watchdog: then the fork gets a short one (the raw dump stays). */
	bool held = ct_forklocks_check(uc, 0) != CT_FORKLOCKS_FREE;
	int timer = ct_dump_watchdog(sig, held ? CT_CRASH_HELD_FORK_MS : timeout_ms);
	/* The copy has none of our threads: give it their names and our pid. */
	ct_threads_refresh_names();
	ct_dump_set_profiled_pid(getpid());
	/* glibc's full fork, not _Fork: it takes every malloc arena lock
	 * first (waiting out other threads that hold one briefly), so the
	 * copy can allocate; our own fork-child hook keeps the tables. */
	ct_pages_keep_begin();
	__atomic_store_n(&ct_signal_forking, 1, __ATOMIC_RELEASE);
	pid_t child = ct_fork_fn ? ct_fork_fn() : -1;
	if (child == 0) {
		ct_guard_enter();
#ifdef CT_TEST_SEAMS
		if (ct_test_copy_delay_ms) {
			struct timespec d = {ct_test_copy_delay_ms / 1000,
					     (ct_test_copy_delay_ms % 1000) * 1000000L};
			ct_sys_nanosleep(&d, NULL);
		}
#endif
		ct_dump_write("", false);
		_exit(0);
	}
	__atomic_store_n(&ct_signal_forking, 0, __ATOMIC_RELEASE);
	ct_pages_keep_end();
	if (held && timer >= 0)
		ct_timer_set(timer, timeout_ms);
	/* Natively the crash ended every thread: none runs program code
	 * while the copy writes (after the fork, which a thread parked
	 * inside malloc would hold up). */
	if (child > 0 && park_sig > 0)
		ct_park_others((int)syscall(SYS_gettid), park_sig);
	if (child > 0 && !ct_dump_wait_copy(child, timeout_ms))
		ct_sys_waitpid(child, NULL, __WALL);
	if (timer >= 0)
		syscall(SYS_timer_delete, timer);
}

bool
ct_dump_in_signal_fork(void)
{
	return __atomic_load_n(&ct_signal_forking, __ATOMIC_ACQUIRE);
}

#define CT_CRASH_NAME_TRIES 1024

/* Writes the crash dump's file base.txt (threads or maps) in dirfd with
 * fill, through a new temporary file (outfile.h): never over another
 * process's file, never through a link. The name placed goes to name.
 * Async-signal-safe. 0 or -errno. */
static int
ct_dump_crash_file(int dirfd, const char *base, void (*fill)(int fd, int sig), int sig,
		   char *name, size_t namelen)
{
	struct ct_output *out = ct_dump_output();
	char tmp[256];
	int naming = __atomic_load_n(&out->naming, __ATOMIC_ACQUIRE);
	/* Another process's file: this one's names carry its pid, and a
	 * generation past those of earlier processes with its pid (outfile.h).
	 * A taken name costs one fstatat. */
	for (int attempt = 0; attempt < CT_CRASH_NAME_TRIES && naming >= 0; attempt++) {
		if (ct_outfile_name(name, namelen, base, naming, out->pid, "", CT_EXT_TXT) < 0)
			return -ENAMETOOLONG;
		int err = -EEXIST;
		if (!ct_outfile_exists(dirfd, name)) {
			int fd = ct_outfile_create_tmp(dirfd, name, tmp, sizeof(tmp));
			if (fd < 0)
				return fd;
			fill(fd, sig);
			close(fd);
			err = ct_outfile_place(dirfd, tmp, name, false);
		}
		if (err != -EEXIST)
			return err;
		naming = ct_outfile_next_naming(out, naming);
	}
	return -EEXIST;
}

/* Copies /proc/self/maps to fd so the crash dump's addresses can be
 * resolved later. Async-signal-safe. */
static void
ct_dump_copy_maps(int out, int sig)
{
	(void)sig;
	int in = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	char buf[4096];
	ssize_t n;
	while (in >= 0 && (n = ct_sys_read(in, buf, sizeof(buf))) > 0)
		if (ct_outfile_write_all(out, buf, (size_t)n) != 0)
			break;
	if (in >= 0)
		close(in);
}

void
ct_dump_crash(int sig, const void *uc, int timeout_ms, int park_sig)
{
	int saved = errno;
	/* A second thread crashing meanwhile waits with the others for the
	 * end the first one brings. */
	uint64_t owner = ct_owner_claim(&ct_crash_owner);
	if (owner && owner != ct_me())
		ct_park();
	ct_guard_enter(); /* our I/O below must pass the wrappers unrecorded */
	struct ct_output *output = ct_dump_output();
	if (ct_dump_final_claimed())
		goto out;
	if (uc) {
		uintptr_t pcs[CT_UNWIND_SIGNAL_MAX];
		ct_threads_crashed(sig, pcs, ct_unwind_signal_stack(uc, pcs, CT_UNWIND_SIGNAL_MAX));
	}
	/* First what needs nothing but system calls, in case the rest
	 * cannot run in this state... */
	__atomic_store_n(&output->pid, (long)getpid(), __ATOMIC_RELAXED);
	const char *dir = ct_dump_dir(), *why = NULL;
	int dirfd = ct_outfile_open_dir(dir, output, &why);
	if (dirfd >= 0) {
		char name[128], maps[128];
		int err = ct_dump_crash_file(dirfd, CT_NAME_THREADS, ct_threads_write_raw, sig, name,
					     sizeof(name));
		if (err == 0) {
			/* The symbolized dump below replaces it: the same process. */
			memcpy(output->own, name, strlen(name) + 1);
			err = ct_dump_crash_file(dirfd, CT_NAME_MAPS, ct_dump_copy_maps, sig, maps,
						 sizeof(maps));
			if (err < 0)
				ct_log("cannot write '%s/%s': %s", dir, maps, strerrorname_np(-err));
			if (!ct_notices_off())
				ct_log("signal %d: crash dump of the threads in %s/%s", sig, dir,
				       name);
		} else {
			ct_log("cannot write '%s/%s': %s", dir, name, strerrorname_np(-err));
		}
		close(dirfd);
	} else if (why) {
		ct_log("not writing to '%s': it %s", dir, why);
	} else {
		ct_log("cannot create directory '%s': %s", dir, strerrorname_np(-dirfd));
	}
	/* ...then the symbolized dump from a forked copy, which replaces
	 * the raw thread dump if it gets that far. */
	ct_guard_enter();
	ct_dump_from_signal_(sig, uc, timeout_ms, park_sig);
	ct_guard_leave();
out:
	ct_guard_leave();
	errno = saved;
}

/* The thread writing the final dump for a fatal signal (with its pid: a
 * fork child that inherited the word from a parent mid-dump is not that
 * thread's process), and how far it got (for the message when it is cut
 * short). */
static uint64_t ct_fatal_owner CT_FORK_HOT; /* pid << 32 | tid; 0 before */
static int ct_fatal_stage CT_FORK_HOT; /* 1 forking, 2 waiting for the copy */
static int ct_fatal_fork_ms CT_FORK_HOT;

/* Blocks every signal and waits for the process to end: a thread that
 * must not run program code any more. */
static void __attribute__((noreturn))
ct_park(void)
{
	sigset_t all;
	sigfillset(&all);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, CT_KSIGSET_BYTES);
	for (;;)
		syscall(SYS_rt_sigsuspend, &all, CT_KSIGSET_BYTES);
}

/* Sends sig to every other thread of the process: each runs our handler
 * (ct_dump_fatal) and parks there. Raw getdents64: opendir allocates. */
static void
ct_park_others(int me, int sig)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/task",
			      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	pid_t pid = getpid();
	char buf[4096] __attribute__((aligned(8)));
	long n;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(buf + off);
			off += d->reclen;
			int tid = 0;
			for (const char *c = d->name; *c >= '0' && *c <= '9'; c++)
				tid = tid * 10 + (*c - '0');
			if (tid > 0 && tid != me)
				syscall(SYS_tgkill, pid, tid, sig);
		}
	}
	syscall(SYS_close, fd);
}

/* Makes this thread the one that writes the fatal dump of this process,
 * or does not return: the owner's own re-entry (its watchdog, or the
 * signal again: a second Ctrl-C) gives up the dump and dies now; any other
 * thread parks, to wait for the end with the owner, running no more
 * program code. */
static void
ct_fatal_claim(int sig, void (*die)(int))
{
	uint64_t owner = ct_owner_claim(&ct_fatal_owner);
	if (!owner)
		return;
	if (owner == ct_me()) {
		int stage = __atomic_load_n(&ct_fatal_stage, __ATOMIC_RELAXED);
		if (stage == 1)
			ct_log("signal %d: no profiles written: the dump could not fork within "
			       "%d ms (the signal came while this thread held a lock the "
			       "fork needs, such as malloc's)",
			       sig, ct_fatal_fork_ms);
		else if (stage == 2)
			ct_log("signal %d: writing the profiles was cut short", sig);
		die(sig);
	}
	ct_park();
}

/* The forked copy that writes the profiles; never returns. */
static void
ct_fatal_child(int sig)
{
	/* Dies with this thread if the watchdog ends it, and dies at once
	 * of a second Ctrl-C, like the rest. */
	syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	syscall(SYS_rt_sigaction, SIGINT, &dfl, NULL, CT_KSIGSET_BYTES);
	syscall(SYS_rt_sigaction, SIGTERM, &dfl, NULL, CT_KSIGSET_BYTES);
	syscall(SYS_rt_sigaction, sig, &dfl, NULL, CT_KSIGSET_BYTES);
	if (getppid() != ct_dump_profiled_pid())
		_exit(1);
	ct_guard_enter();
	ct_dump_write("", false);
	_exit(0);
}

struct ct_fatal_args {
	int sig, timeout_ms, fork_ms;
	void (*die)(int);
};

static void ct_dump_fatal_(void *arg);

/* A fatal signal that came while its thread held a lock the fork needs
 * (inside malloc or fork(): forklocks.h) comes again when the thread
 * leaves the function that took it, microseconds later; should it not
 * leave within CT_FATAL_DEFER_MAX_MS (it waits there for a lock another
 * thread holds for good), the signal comes again then and the dump goes
 * ahead as it would have (its fork watchdog ends a wait for that lock).
 * Where the frames cannot be walked and the lock may be held, the signal
 * is taken again CT_FATAL_RETRY_MS later, by whichever thread does not
 * block it, up to CT_FATAL_RETRIES times. Either way the program, which
 * natively died at once, runs on a little: a delivery that late is what
 * a busy machine gives any signal. The timer (id + 1; 0: none yet), the
 * count and the time of the first deferral (0: none) are this process's:
 * POSIX timers are not inherited. */
#define CT_FATAL_RETRY_MS 1
#define CT_FATAL_RETRIES 50
#define CT_FATAL_DEFER_MAX_MS 1000
static int ct_fatal_retry_timer CT_FORK_HOT;
static int ct_fatal_retries CT_FORK_HOT;
static int64_t ct_fatal_deferred_ns CT_FORK_HOT;

/* sig again, to the process, ms from now. */
static bool
ct_fatal_again_in(int sig, int ms)
{
	int id = __atomic_load_n(&ct_fatal_retry_timer, __ATOMIC_ACQUIRE) - 1;
	if (id >= 0) {
		ct_timer_set(id, ms);
		return true;
	}
	if ((id = ct_timer(sig, 0, ms)) < 0)
		return false;
	/* Another thread made one meanwhile, and armed it: one will do. */
	int none = 0;
	if (!__atomic_compare_exchange_n(&ct_fatal_retry_timer, &none, id + 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		syscall(SYS_timer_delete, id);
	return true;
}

/* The dump goes ahead: no signal of ours may cut it short. */
static void
ct_fatal_again_cancel(void)
{
	int id = __atomic_load_n(&ct_fatal_retry_timer, __ATOMIC_ACQUIRE) - 1;
	if (id >= 0)
		ct_timer_set(id, 0);
}

static bool
ct_fatal_defer(int sig, const void *uc)
{
	/* Once the dump is under way, a signal ends or parks as before; and
	 * with nothing to write there is no fork to wait for. */
	if (ct_owner_here(__atomic_load_n(&ct_fatal_owner, __ATOMIC_ACQUIRE)) ||
	    ct_dump_final_claimed() ||
	    (!ct_profiles_have_data() && !ct_threads_worth_dumping()))
		return false;
	switch (ct_forklocks_check(uc, sig)) {
	case CT_FORKLOCKS_HELD: {
		int64_t now = ct_clock_ns(), first = 0;
		if (__atomic_compare_exchange_n(&ct_fatal_deferred_ns, &first, now, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return ct_fatal_again_in(sig, CT_FATAL_DEFER_MAX_MS);
		return now - first < (int64_t)CT_FATAL_DEFER_MAX_MS * 1000000;
	}
	case CT_FORKLOCKS_MAYBE:
		return __atomic_fetch_add(&ct_fatal_retries, 1, __ATOMIC_RELAXED) <
			       CT_FATAL_RETRIES &&
		       ct_fatal_again_in(sig, CT_FATAL_RETRY_MS);
	default:
		return false;
	}
}

void
ct_dump_fatal(int sig, const void *uc, int fork_ms, int timeout_ms, void (*die)(int))
{
	if (ct_fatal_defer(sig, uc))
		return;
	ct_fatal_again_cancel();
	ct_guard_enter();
	ct_fatal_claim(sig, die);
	/* The owner only: the parked threads need no stack of their own. */
	struct ct_fatal_args a = {.sig = sig, .timeout_ms = timeout_ms, .fork_ms = fork_ms,
				  .die = die};
	ct_ownstack_run(ct_dump_fatal_, &a);
	ct_park(); /* not reached: the owner ends the process */
}

/* ct_dump_fatal's owner, from the claim to the end of the process. */
static void
ct_dump_fatal_(void *arg)
{
	const struct ct_fatal_args *a = arg;
	int sig = a->sig, fork_ms = a->fork_ms, timeout_ms = a->timeout_ms;
	void (*die)(int) = a->die;
	int saved = errno;
	int me = (int)syscall(SYS_gettid);
	/* sig is blocked in this handler; from now on it ends the dump
	 * early (re-entering above), whether the watchdog or the user sends
	 * it. Last resort if sig cannot (the program made it SIG_IGN): a
	 * SIGKILL. */
	__atomic_store_n(&ct_fatal_stage, 0, __ATOMIC_RELAXED);
	int watchdog = ct_timer(sig, me, fork_ms);
	int last = ct_timer(SIGKILL, me, timeout_ms + 2000);
	(void)last;
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &one, NULL, CT_KSIGSET_BYTES);

	bool write = ct_dump_final_claim() &&
		     (ct_profiles_have_data() || ct_threads_worth_dumping());
	pid_t child = -1;
	int fork_err = 0;
	if (write) {
		/* The copy has none of our threads: give it their names and
		 * our pid. */
		ct_threads_refresh_names();
		ct_dump_set_profiled_pid(getpid());
		/* glibc's full fork, not _Fork: it takes every malloc arena
		 * lock first (waiting out other threads that hold one
		 * briefly), so the copy can allocate; our own fork-child hook
		 * keeps the tables. If this very thread holds one (the signal
		 * came inside malloc), the fork waits for itself until the
		 * watchdog ends it: no profiles then, but the same death. */
		ct_fatal_fork_ms = fork_ms;
		__atomic_store_n(&ct_fatal_stage, 1, __ATOMIC_RELAXED);
		ct_pages_keep_begin();
		__atomic_store_n(&ct_signal_forking, 1, __ATOMIC_RELEASE);
		child = ct_fork_fn ? ct_fork_fn() : -1;
		if (child == 0)
			ct_fatal_child(sig);
		fork_err = errno; /* said after the parking, which may set errno */
		__atomic_store_n(&ct_signal_forking, 0, __ATOMIC_RELEASE);
		ct_pages_keep_end();
	}
	/* The other threads must not run program code the signal would have
	 * ended; after the fork, so that none is parked holding a malloc
	 * lock the fork needs. */
	ct_park_others(me, sig);
	if (child > 0) {
		__atomic_store_n(&ct_fatal_stage, 2, __ATOMIC_RELAXED);
		if (watchdog >= 0)
			ct_timer_set(watchdog, timeout_ms);
		ct_dump_wait_copy(child, timeout_ms);
	} else if (write) {
		/* haproxy and OpenSSH's sandbox forbid themselves new
		 * processes: say which limit, since EAGAIN alone reads as a
		 * passing shortage. */
		struct rlimit nproc;
		bool barred = fork_err == EAGAIN && getrlimit(RLIMIT_NPROC, &nproc) == 0 &&
			      nproc.rlim_cur == 0;
		ct_log("signal %d: cannot fork to write the profiles (%s%s); none written", sig,
		       strerror(fork_err),
		       barred ? ": the program set RLIMIT_NPROC to 0, no new process" : "");
	}
	errno = saved;
	die(sig);
	ct_park();
}

void
ct_dump_fatal_fork_child(void)
{
	/* The parent's fatal dump is not this process's (POSIX timers, its
	 * watchdogs, are not inherited). Each word read first: a store
	 * would copy its page into every fork child, a shell's commands
	 * included. */
#define CT_CLEAR(v)                                           \
	do {                                                  \
		if (__atomic_load_n(&(v), __ATOMIC_RELAXED))  \
			__atomic_store_n(&(v), 0, __ATOMIC_RELAXED); \
	} while (0)
	CT_CLEAR(ct_fatal_owner);
	CT_CLEAR(ct_fatal_stage);
	CT_CLEAR(ct_fatal_retry_timer);
	CT_CLEAR(ct_fatal_retries);
	CT_CLEAR(ct_fatal_deferred_ns);
	CT_CLEAR(ct_crash_owner);
#undef CT_CLEAR
}

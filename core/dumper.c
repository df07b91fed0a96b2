/* The dumper thread; see dumper.h. Owns its wake-up channel, the numbered
 * snapshot sequence and the HTTP server handle. Everything here but
 * ct_dumper_request runs on the dumper thread, at exit or in a fork
 * child; ct_dumper_request is the only code a signal handler reaches. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "compiler.h"
#include "config.h"
#include "dlhist.h"
#include "dump.h"
#include "dumper.h"
#include "fdkind.h"
#include "event.h"
#include "forkstate.h"
#include "hot.h"
#include "log.h"
#include "plugin.h"
#include "profiles.h"
#include "spin.h"
#include "stack.h"
#include "sys.h"
#include "thread.h"
#include "threads.h"

/* How long exit waits for the dumper to finish what it is doing (a
 * symbolization, a file) before the final dump runs anyway. */
#define CT_DUMPER_STOP_WAIT_MS 5000

/* The wake-up channel: [0] polled by the thread, [1] written by the dump
 * signal's handler and by exit. A socket pair: a write to a pipe whose
 * read end the program has closed raises SIGPIPE, where send() with
 * MSG_NOSIGNAL only fails; and unlike an eventfd's, each end has an inode
 * of its own, to tell it from a descriptor the program made since. */
static int ct_wake[2] = {-1, -1};
static dev_t ct_wake_dev[2];
static ino_t ct_wake_ino[2];
static int ct_sig CT_INIT_HOT; /* CONTEND_DUMP_SIGNAL once running, else 0 */
static int ct_running CT_FORK_HOT; /* the thread exists in this process */
static int ct_stop;         /* exit asked it to finish */
static int ct_exited;       /* it has finished */
static unsigned ct_pending CT_FORK_HOT; /* dump requests from the signal */
static unsigned ct_seq;     /* last numbered snapshot written */
static int ct_disabled CT_FORK_HOT; /* a fork child that may not start one */
static int ct_armed CT_INIT_HOT; /* configured: the channel exists, the thread may start */
static int ct_configured;   /* ct_dumper_start armed it in this process or a parent */
static int ct_forked;       /* this process is a fork child of the armed one */
static int ct_said_children; /* the parent said its children do not serve */
static int64_t ct_first_due; /* the first interval snapshot, monotonic ns */
static ct_thread_create_fn ct_create;
static ct_signal_ours_fn ct_sig_ours;
static pthread_t ct_thread;   /* the dumper thread, joinable */
static int ct_joinable;       /* ct_thread was made here and not yet joined */
/* The program's live threads (see ct_dumper_thread_coming), counted once
 * ct_live_key exists; reset to the forking thread in a fork child. */
static int ct_live CT_FORK_HOT;
static pthread_key_t ct_live_key;
static int ct_have_live_key;

/* Descriptors the dumper owns right now, for the fork child to close
 * (it must not keep our listening socket or clients' connections open).
 * Updated by the dumper, read in the child; the lock is taken around
 * fork() by the atfork hooks. */
struct ct_owned {
	int fd;
	dev_t dev;
	ino_t ino;
};
static struct ct_owned ct_owned[3 + CT_HTTP_MAX_POLLFDS];
static int ct_nowned CT_FORK_HOT;
static ct_spin ct_owned_lock CT_FORK_HOT;

/* ct_owned_lock for a fork, or the dumper while a fork holds it: the
 * holder may be inside fork() itself (a millisecond for a big process),
 * so after a short spin wait sleeping, not spinning: threads forking at
 * once on 2 CPUs otherwise took the CPU from the one forking (2-3 x
 * slower forks in fork_race). */
static void
ct_owned_lock_patient(void)
{
	ct_spin_lock_sleepy(&ct_owned_lock, (unsigned long)-1);
}

static bool
ct_fd_is(int fd, dev_t dev, ino_t ino)
{
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

/* fd, moved out of the program's numbers (core/sys.h ct_sys_fd_high:
 * high, so that its own open()s get the numbers they get natively), and
 * in any case above 2 if it took the number of a closed standard stream:
 * a program started with stdin, stdout or stderr closed (a daemon, a
 * posix_spawn with a close action, CPython's test_no_stdin) must find
 * them closed, not our pipe or socket there (it took our pipe for its
 * stdin, and would write its output into it). Keeps O_NONBLOCK (the
 * open file's) and sets FD_CLOEXEC. -1 with errno if it cannot be moved.
 * Async-signal-safe. */
static int
ct_fd_above_std(int fd)
{
	fd = ct_sys_fd_high(fd);
	if (fd < 0 || fd > STDERR_FILENO)
		return fd;
	/* fcntl by number: its wrapper is variadic (core/sys.h). */
	int moved = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	int err = errno;
	close(fd);
	errno = err;
	return moved;
}

/* End i of the wake-up channel, or -1 when it is no longer ours: the
 * program may have closed it and got the number back for a file of its
 * own. The inode is read last (ct_wake_open stores it last).
 * Async-signal-safe. */
static int
ct_wake_fd(int i)
{
	int fd = __atomic_load_n(&ct_wake[i], __ATOMIC_SEQ_CST);
	return ct_fd_is(fd, ct_wake_dev[i], __atomic_load_n(&ct_wake_ino[i], __ATOMIC_SEQ_CST))
		       ? fd
		       : -1;
}

/* One byte into the channel, if its write end is still ours.
 * Non-blocking: a full buffer already holds a wake-up. Async-signal-safe;
 * errno is the caller's to keep. */
static void
ct_wake_poke(void)
{
	int fd = ct_wake_fd(1);
	if (fd >= 0) {
		char b = 1;
		/* By number: send is one of the wrapped functions (sys.h). */
		(void)syscall(SYS_sendto, fd, &b, (size_t)1, MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0);
	}
}

/* Makes a new wake-up channel, both ends above 2 (ct_fd_above_std), and
 * publishes it, inodes last (ct_wake_fd). The old descriptors are not
 * touched: they may be the program's by now. 0, or -errno with nothing
 * changed. Async-signal-safe (a fork child's rearm). */
static int
ct_wake_open(void)
{
	int p[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p) < 0)
		return -errno;
	int a = ct_fd_above_std(p[0]), b = ct_fd_above_std(p[1]);
	struct stat sa, sb;
	if (a < 0 || b < 0 || fstat(a, &sa) < 0 || fstat(b, &sb) < 0) {
		int err = errno;
		if (a >= 0)
			close(a);
		if (b >= 0)
			close(b);
		return -err;
	}
	ct_wake_dev[0] = sa.st_dev;
	ct_wake_dev[1] = sb.st_dev;
	__atomic_store_n(&ct_wake[0], a, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ct_wake[1], b, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ct_wake_ino[0], sa.st_ino, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ct_wake_ino[1], sb.st_ino, __ATOMIC_SEQ_CST);
	return 0;
}

/* Whether fd is a signalfd of sig alone, as the dumper's own is: its
 * /proc/self/fdinfo "sigmask:" line (anonymous inodes are one inode, so
 * ct_fd_is cannot tell a signalfd from the program's eventfd). */
static bool
ct_sigfd_is(int fd, int sig)
{
	char buf[512];
	if (ct_fdinfo_read(fd, buf, sizeof(buf)) <= 0)
		return false;
	const char *p = strstr(buf, "sigmask:");
	return p && strtoull(p + 8, NULL, 16) == 1ULL << (sig - 1);
}

int
ct_dumper_signal(void)
{
	return __atomic_load_n(&ct_armed, __ATOMIC_ACQUIRE) ? ct_sig : 0;
}

bool
ct_dumper_request(void)
{
	if (!__atomic_load_n(&ct_armed, __ATOMIC_ACQUIRE))
		return false;
	int saved = errno;
	/* Counted before the channel is looked at, and taken whether or not
	 * it is there: a program that swept its descriptors has closed it,
	 * and the dumper makes a new one (ct_wake_renew), which stores its
	 * inodes before it next reads ct_pending. So either it finds this
	 * request, or this write finds the new channel. Killing the process
	 * with the signal's default action meanwhile would turn the request
	 * against the user. */
	__atomic_fetch_add(&ct_pending, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&ct_running, __ATOMIC_RELAXED))
		__atomic_store_n(&ct_hot.dumper_wanted, 1, __ATOMIC_RELAXED);
	ct_wake_poke();
	errno = saved;
	return true;
}

/* ---- numbered snapshots ---------------------------------------------- */

/* requested: the signal asked for it, so the thread dump is written even
 * when nothing was recorded yet (a single-threaded worker blocked in its
 * first wait); the interval writes only what there is. */
static void
ct_dumper_write_numbered(bool requested)
{
	if (!requested && !ct_profiles_have_data() && !ct_threads_worth_dumping())
		return; /* nothing to say yet: no file, no number used */
	char suffix[16];
	/* ".<seq>", four digits at least: mutex.0001.pb.gz, block.0001.pb.gz */
	snprintf(suffix, sizeof(suffix), ".%04u", ++ct_seq);
	ct_dump_write(suffix, requested);
}

/* ---- the HTTP server's view of the shim -------------------------------- */

static int
ct_host_snapshot(struct ct_snapshot *snap, bool threads)
{
	return ct_dump_snapshot(snap, threads);
}

static uint64_t
ct_host_sampling(enum ct_profile_kind kind, const uint64_t *set)
{
	uint64_t *p = kind == CT_PROF_MUTEX ? &ct_cfg.mutex_fraction : &ct_cfg.block_rate;
	/* Relaxed: the recording paths load it relaxed at each event. */
	if (set)
		return __atomic_exchange_n(p, *set, __ATOMIC_RELAXED);
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static int
ct_host_objects(struct ct_snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	return ct_dlhist_snapshot(snap);
}

/* Adds fd to the descriptors a fork child closes; ct_owned_lock held.
 * A full list reuses the entry of a descriptor closed since. */
static void
ct_owned_add_locked(int fd, dev_t dev, ino_t ino)
{
	int at = ct_nowned < (int)CT_ARRAY_SIZE(ct_owned) ? ct_nowned++ : -1;
	for (int i = 0; at < 0 && i < ct_nowned; i++)
		if (!ct_fd_is(ct_owned[i].fd, ct_owned[i].dev, ct_owned[i].ino))
			at = i;
	if (at >= 0)
		ct_owned[at] = (struct ct_owned){fd, dev, ino};
}

static int
ct_host_accept(int lfd)
{
	/* accept4 on the non-blocking socket and fstat wait for nothing
	 * (fork.h, CT_LOCK_DUMPER_OWNED). */
	ct_owned_lock_patient();
	int fd = ct_fd_above_std(ct_sys_accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC));
	int err = errno;
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0)
		ct_owned_add_locked(fd, st.st_dev, st.st_ino);
	ct_spin_unlock(&ct_owned_lock);
	errno = err;
	return fd;
}

static const struct ct_http_host ct_host = {
	.snapshot = ct_host_snapshot,
	.sampling = ct_host_sampling,
	.copy_stats = ct_dump_copy_stats,
	.objects = ct_host_objects,
	.accept = ct_host_accept,
};

/* CONTEND_HTTP ("host:port", validated by config.c; ":port" and
 * "localhost" mean 127.0.0.1) as a socket address. */
static int
ct_http_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sl)
{
	const char *colon = strrchr(addr, ':');
	if (!colon)
		return -EINVAL;
	uint64_t port;
	if (ct_parse_uint(colon + 1, 0, 65535, &port) < 0)
		return -EINVAL;
	char host[128];
	size_t hl = (size_t)(colon - addr);
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, hl);
	host[hl] = 0;
	if (hl == 0 || !strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*sl = sizeof(*in4);
		return 0;
	}
	if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((uint16_t)port);
			*sl = sizeof(*in6);
			return 0;
		}
	}
	return -EINVAL;
}

/* The port CONTEND_HTTP names (0: a free one), or -1 (none, or bad). */
static int
ct_http_port(void)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	if (!ct_cfg.http[0] || ct_http_addr(ct_cfg.http, &ss, &sl) < 0)
		return -1;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					     : ((struct sockaddr_in *)&ss)->sin_port);
}

/* ct_http_port() as computed at init, for the fork hooks. */
static int ct_port = -1;

/* Whether this process serves CONTEND_HTTP: the process that read it at
 * init always; a fork child only when the port is 0 (a free one of its
 * own), since a fixed port is its parent's. */
static bool
ct_http_serves_here(void)
{
	return ct_port == 0 || (ct_port > 0 && !__atomic_load_n(&ct_forked, __ATOMIC_RELAXED));
}

/* Binds and listens on CONTEND_HTTP, and says where (port 0 picks a free
 * one). Only the socket: the server itself is loaded at the first
 * connection. The listening socket, or -1 (logged). */
static int
ct_http_listen(dev_t *dev, ino_t *ino)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	if (ct_http_addr(ct_cfg.http, &ss, &sl) < 0) {
		ct_log("cannot serve /debug/pprof/ on '%s' (not host:port); HTTP server off",
		       ct_cfg.http);
		return -1;
	}
	/* Created and listed as ours under the lock fork() takes, so that a
	 * fork child never inherits the socket unlisted, to keep our port
	 * open behind its parent's back. Only system calls that do not wait
	 * are made while it is held (fork.h). */
	ct_owned_lock_patient();
	int fd = ct_fd_above_std(socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	int one = 1, err = 0;
	struct stat st;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 512) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &(socklen_t){sizeof(ss)}) < 0 ||
	    fstat(fd, &st) < 0) {
		err = errno;
		if (fd >= 0)
			close(fd);
	} else {
		ct_owned_add_locked(fd, st.st_dev, st.st_ino);
	}
	ct_spin_unlock(&ct_owned_lock);
	/* A port in use is, most of the time, the server's own, taken by
	 * a program it exec'd with the same environment (a shell of
	 * system(), a CGI): that is said as a notice, not into the stderr
	 * of every such child (which its parent may be reading). */
	if (err && (err != EADDRINUSE || !ct_notices_off()))
		ct_log("cannot serve /debug/pprof/ on %s (%s); HTTP server off", ct_cfg.http,
		       strerror(err));
	if (err)
		return -1;
	*dev = st.st_dev;
	*ino = st.st_ino;
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port;
	bool v6 = ss.ss_family == AF_INET6;
	if (v6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	/* Said unless CONTEND_QUIET=1, terminal or not: whoever set
	 * CONTEND_HTTP (port 0 above all) needs the address. */
	if (ct_cfg.quiet != 1)
		ct_log("serving /debug/pprof/ on http://%s%s%s:%u/ (pid %d)", v6 ? "[" : "", host,
		       v6 ? "]" : "", port, (int)getpid());
	return fd;
}

/* The first connection: load the server and hand it the socket, if it
 * still is the one made at (ldev, lino). */
static const struct ct_http_ops *
ct_http_start(int lfd, dev_t ldev, ino_t lino, struct ct_http **h)
{
	const struct ct_http_ops *ops = ct_plugin_sym("ct_http_ops");
	char err[256] = "";
	int rc = 0;
	if (!ops) {
		ct_log("cannot load the HTTP server from the report library; HTTP server off");
	} else if ((rc = ops->open(lfd, ldev, lino, &ct_host, h, err, sizeof(err))) < 0) {
		/* The program closing our socket is its choice, said as a
		 * notice only: its stderr may be a pipe its parent reads (a
		 * JVM's jspawnhelper sweeps its descriptors before exec). */
		if (rc != -EBADF || !ct_notices_off())
			ct_log("cannot serve /debug/pprof/ (%s); HTTP server off", err);
		ops = NULL;
	}
	/* Never a number that is no longer ours: it may be the program's. */
	if (!ops && ct_fd_is(lfd, ldev, lino))
		close(lfd);
	return ops;
}

/* ---- the thread -------------------------------------------------------- */

static void
ct_dumper_publish_fds(const struct pollfd *pfd, int n)
{
	struct ct_owned tmp[3 + CT_HTTP_MAX_POLLFDS];
	int k = 0;
	for (int i = 0; i < 2; i++)
		tmp[k++] = (struct ct_owned){ct_wake[i], ct_wake_dev[i], ct_wake_ino[i]};
	for (int i = 1; i < n && k < (int)CT_ARRAY_SIZE(tmp); i++) {
		struct stat st;
		if (fstat(pfd[i].fd, &st) == 0)
			tmp[k++] = (struct ct_owned){pfd[i].fd, st.st_dev, st.st_ino};
	}
	ct_owned_lock_patient();
	memcpy(ct_owned, tmp, (size_t)k * sizeof(tmp[0]));
	ct_nowned = k;
	ct_spin_unlock(&ct_owned_lock);
}

/* poll's time-out in ms until deadline (INT64_MAX: none, -1), rounded up
 * so that the wake-up is never early. */
static int
ct_poll_timeout(int64_t deadline, int64_t now)
{
	if (deadline == INT64_MAX)
		return -1;
	int64_t ms = deadline <= now ? 0 : (deadline - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* The numbered snapshots due at now: one a signal asked for, and the
 * interval's if next has come; returns the next interval time. */
static int64_t
ct_dumper_snapshots(int64_t next, int64_t now, int64_t interval)
{
	/* Sequentially consistent, as the channel's inodes are stored and
	 * the handler's count and read (ct_dumper_request). */
	if (__atomic_exchange_n(&ct_pending, 0, __ATOMIC_SEQ_CST))
		ct_dumper_write_numbered(true);
	if (interval > 0 && now >= next) {
		ct_dumper_write_numbered(false);
		next += interval;
		if (next <= now) /* fell behind (a slow dump): no catching up */
			next = now + interval;
	}
	return next;
}

/* A new wake-up channel, for the one the program closed (a sweep of its
 * descriptors: a daemon at start, closefrom(3)), made under the lock
 * fork() takes, like the listening socket (ct_http_listen), so that a
 * fork child never inherits it unlisted. A read end still ours is closed
 * (only this thread uses it); a write end still ours is left open: a
 * handler may be writing to it, and its number is not to be freed for
 * the program under it. 0, or -errno. */
static int
ct_wake_renew(void)
{
	int old = ct_wake_fd(0);
	ct_owned_lock_patient();
	int rc = ct_wake_open();
	ct_spin_unlock(&ct_owned_lock);
	if (rc == 0 && old >= 0)
		close(old);
	return rc;
}

/* Whether descriptors 0, 1 and 2 are all open. A new descriptor takes
 * the lowest free number for a moment before it moves up (ct_fd_above_std),
 * and a daemon that closed everything reopens /dev/null expecting 0, 1
 * and 2 to come back in order: nothing new is made before they have. */
static bool
ct_std_open(void)
{
	for (int fd = 0; fd <= STDERR_FILENO; fd++)
		if (syscall(SYS_fcntl, fd, F_GETFD) < 0)
			return false;
	return true;
}

/* While the program's sweep left the thread without its channel or its
 * signalfd: how often it looks again (and finds requests and the exit's
 * stop, which nothing can wake it for meanwhile). */
#define CT_DUMPER_RETRY_NS (100 * 1000 * 1000)

/* The dumper's signalfd for ct_sig, above the program's numbers, or -1. */
static int
ct_sigfd_open(void)
{
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, ct_sig);
	return ct_fd_above_std(ct_sys_signalfd(-1, &one, SFD_NONBLOCK | SFD_CLOEXEC));
}

static void *
ct_dumper_main(void *arg)
{
	(void)arg;
	/* For good: nothing this thread does is profiled, and our wrappers
	 * pass its calls straight through. */
	ct_guard_enter();
	/* A registry slot of its own, outside the registry: thread dumps
	 * taken here (ct_threads_self claims one for the dumping thread)
	 * then do not list the dumper among the program's threads. */
	static struct ct_thread_slot outside;
	ct_self.slot = &outside;
	syscall(SYS_prctl, PR_SET_NAME, "libcontend", 0, 0, 0);

	struct ct_http *http = NULL;
	const struct ct_http_ops *ops = NULL;
	dev_t ldev = 0;
	ino_t lino = 0;
	int lfd = ct_cfg.http[0] && ct_http_serves_here() ? ct_http_listen(&ldev, &lino) : -1;
	int64_t interval = (int64_t)ct_cfg.interval_ns;
	/* Due since init, however late the thread started. ct_first_due is
	 * also when the thread itself is due (a fork child's server on port
	 * 0 at once), which without an interval is no snapshot time: taken
	 * as one, every pass of the loop wrote a numbered snapshot. */
	int64_t next = interval ? ct_first_due : INT64_MAX;
	static struct pollfd pfd[2 + CT_HTTP_MAX_POLLFDS];
	/* The dump signal, pending while the program blocks it in all its
	 * threads (ours blocks every signal too): read here, as its handler
	 * would have run, while its action is ours: not once the program
	 * has installed an action of its own, nor once it has waited for
	 * the signal itself (sigwait*, signalfd), blocked with no handler as
	 * a signal thread does (ct_sig_ours answers both). */
	int sfd = ct_sig && ct_sig_ours ? ct_sigfd_open() : -1;
	bool sfd_lost = false, said_swept = false;
	int renew_err = 0;

	while (!__atomic_load_n(&ct_stop, __ATOMIC_ACQUIRE)) {
		/* The program swept its descriptors (the write end's close
		 * woke the poll below): live snapshots and the dump signal go
		 * on with a new channel, made once its standard streams are
		 * back. With the thread gone, the signal a user sends for a
		 * dump would kill the process. Both ends count: with the write
		 * end gone (closed, or a dup2 onto its number) the read end
		 * polls as hung up at once, and the thread spun on it.
		 * Notices, not errors: see ct_http_start. */
		bool woken = ct_wake_fd(0) >= 0 && ct_wake_fd(1) >= 0;
		if (!woken && ct_std_open()) {
			int rc = ct_wake_renew();
			woken = rc == 0;
			if (rc < 0 && rc != renew_err && !ct_notices_off())
				ct_log("the program closed libcontend's descriptors and no new ones "
				       "could be made (%s); trying again", strerror(-rc));
			renew_err = rc;
			if (woken && !said_swept && !ct_notices_off())
				ct_log("the program closed libcontend's descriptors; live snapshots "
				       "and the dump signal go on with new ones%s",
				       ops || (lfd >= 0 && !ct_fd_is(lfd, ldev, lino))
					       ? ", the HTTP server stays off"
					       : "");
			said_swept |= woken;
		}
		if (sfd_lost && ct_std_open()) {
			sfd = ct_sigfd_open();
			sfd_lost = sfd < 0;
		}
		int64_t now = ct_now_ns();
		int64_t deadline = next;
		if ((!woken || sfd_lost) && deadline - now > CT_DUMPER_RETRY_NS)
			deadline = now + CT_DUMPER_RETRY_NS;
		/* A request counted since the last look, whose wake-up went into
		 * the channel this pass replaced (ct_dumper_request): taken now,
		 * not slept on. */
		if (__atomic_load_n(&ct_pending, __ATOMIC_SEQ_CST))
			deadline = now;
		/* poll skips a negative descriptor. */
		pfd[0] = (struct pollfd){.fd = woken ? ct_wake[0] : -1, .events = POLLIN};
		int n = 1;
		if (lfd >= 0 && !ct_fd_is(lfd, ldev, lino))
			lfd = -1; /* the program closed it: nothing to serve */
		if (ops)
			n += ops->pollfds(http, pfd + 1, CT_HTTP_MAX_POLLFDS, now, &deadline);
		else if (lfd >= 0)
			pfd[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
		int si = -1;
		if (sfd >= 0 && ct_sig_ours(ct_sig)) {
			si = n;
			pfd[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
		}
		ct_dumper_publish_fds(pfd, n);
		if (ct_sys_poll(pfd, (nfds_t)n, ct_poll_timeout(deadline, now)) < 0 && errno != EINTR) {
			struct timespec pause = {0, 10 * 1000 * 1000};
			ct_sys_nanosleep(&pause, NULL);
			continue;
		}
		now = ct_now_ns();
		/* Drained only while the number is still ours: the program may
		 * have put a descriptor of its own there meanwhile (the wake-up
		 * came on the end poll still held), whose data is not ours to
		 * read. */
		if ((pfd[0].revents & POLLIN) && ct_wake_fd(0) == pfd[0].fd) {
			char buf[64];
			while (ct_sys_read(pfd[0].fd, buf, sizeof(buf)) > 0) {
			}
		}
		if (si >= 0 && (pfd[si].revents & (POLLIN | POLLNVAL)) && !ct_sigfd_is(sfd, ct_sig)) {
			/* The program closed it (a sweep of its descriptors) and
			 * the number may be one of its own: never read it. */
			sfd = -1;
			sfd_lost = true;
		} else if (si >= 0 && (pfd[si].revents & POLLIN) && ct_sig_ours(ct_sig)) {
			struct signalfd_siginfo info;
			while (ct_sys_read(sfd, &info, sizeof(info)) == (ssize_t)sizeof(info))
				__atomic_fetch_add(&ct_pending, 1, __ATOMIC_RELAXED);
		}
		if (__atomic_load_n(&ct_stop, __ATOMIC_ACQUIRE))
			break;
		next = ct_dumper_snapshots(next, now, interval);
		if (ops) {
			ops->step(http, pfd + 1, n - 1, now);
		} else if (lfd >= 0 && n > 1 && pfd[1].revents) {
			ops = ct_http_start(lfd, ldev, lino, &http);
			if (!ops)
				lfd = -1;
		}
	}
	/* A snapshot asked for before the exit is still written: whoever
	 * sent the signal (contend threads --pid) waits for it, and a
	 * single-threaded process may exit before its new thread ever
	 * reached the loop. */
	if (__atomic_exchange_n(&ct_pending, 0, __ATOMIC_ACQ_REL))
		ct_dumper_write_numbered(true);
	if (ops)
		ops->close(http);
	else if (lfd >= 0 && ct_fd_is(lfd, ldev, lino))
		close(lfd);
	if (sfd >= 0)
		close(sfd);
	__atomic_store_n(&ct_armed, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&ct_running, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&ct_exited, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* atexit, registered after the final dump's handler so it runs first:
 * the dumper finishes what it does (bounded), closes its sockets, and
 * says what live snapshots cost. */
void
ct_dumper_stop(void)
{
	/* Not from a vfork() child's exit(): the thread is its parent's,
	 * which goes on (its live snapshots and server with it). */
	if (!__atomic_load_n(&ct_running, __ATOMIC_ACQUIRE) || ct_dump_borrowed())
		return;
	ct_guard_enter();
	__atomic_store_n(&ct_stop, 1, __ATOMIC_RELEASE);
	ct_wake_poke();
	struct timespec tick = {0, 1000 * 1000};
	for (int ms = 0; ms < CT_DUMPER_STOP_WAIT_MS; ms++) {
		if (__atomic_load_n(&ct_exited, __ATOMIC_ACQUIRE))
			break;
		ct_sys_nanosleep(&tick, NULL);
	}
	struct ct_copy_stats st;
	ct_dump_copy_stats(&st);
	if (st.n && !ct_notices_off()) {
		char unsettled[96] = "";
		if (st.unsettled)
			snprintf(unsettled, sizeof(unsettled),
				 "; %lu records copied in the middle of an event",
				 (unsigned long)st.unsettled);
		ct_log("%lu live snapshots; copying the tables (no lock the program's threads "
		       "take is held meanwhile) took %.1f us on average, %.1f us at most "
		       "(CPU %.1f us on average, %.1f us at most)%s",
		       (unsigned long)st.n, (double)st.total_ns / 1e3 / (double)st.n,
		       (double)st.max_ns / 1e3, (double)st.cpu_total_ns / 1e3 / (double)st.n,
		       (double)st.cpu_max_ns / 1e3, unsettled);
	}
	ct_guard_leave();
}

bool
ct_dumper_running(void)
{
	return __atomic_load_n(&ct_running, __ATOMIC_ACQUIRE);
}

/* Only the dumper takes ct_owned_lock, for a memcpy, with every signal
 * blocked: waiting for it here cannot wait on this thread (fork.h).
 * Per thread: glibc (2.36) runs the atfork handlers without a lock of its
 * own, so two threads fork at once, and a shared flag cleared by the
 * first one's parent handler made the second leave the lock held (every
 * later fork and the dumper then spun for ever). */
static CT_TLS int ct_fork_locked; /* this thread's prefork took ct_owned_lock */

void
ct_dumper_prefork(void)
{
	ct_fork_locked = __atomic_load_n(&ct_running, __ATOMIC_ACQUIRE);
	if (ct_fork_locked)
		ct_owned_lock_patient();
}

void
ct_dumper_postfork_parent(void)
{
	if (ct_fork_locked)
		ct_spin_unlock(&ct_owned_lock);
	ct_fork_locked = 0;
	/* Once, in the process that serves: its children (a prefork
	 * server's workers) would each fight for the port. */
	if (ct_port > 0 && !__atomic_load_n(&ct_forked, __ATOMIC_RELAXED) &&
	    __atomic_load_n(&ct_configured, __ATOMIC_RELAXED) &&
	    !__atomic_exchange_n(&ct_said_children, 1, __ATOMIC_RELAXED) && !ct_notices_off())
		ct_log("fork children of pid %d do not serve /debug/pprof/ (port %d is this "
		       "process's; CONTEND_HTTP=host:0 gives each process a port of its own); "
		       "`contend threads --pid PID` dumps a child's threads",
		       (int)getpid(), ct_port);
}

/* The child's own dumper, armed like the parent's at init but not
 * started: a new wake-up pipe (the parent's is closed), a sequence of its
 * own, the first interval snapshot an interval from now, and with a
 * CONTEND_HTTP port 0 a server due at once (started at the child's first
 * thread or blocking call: nothing here may create a thread).
 * Async-signal-safe: system calls and stores. */
static void
ct_dumper_rearm_child(void)
{
	/* Nothing for a thread to do here: none, as without the variables. */
	if (!ct_sig && !ct_cfg.interval_ns && ct_port != 0)
		return;
	if (ct_wake_open() < 0) {
		ct_wake[0] = ct_wake[1] = -1;
		__atomic_store_n(&ct_disabled, 1, __ATOMIC_RELAXED);
		return;
	}
	ct_seq = 0;
	__atomic_store_n(&ct_stop, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ct_exited, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ct_forked, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&ct_said_children, 0, __ATOMIC_RELAXED);
	int64_t now = ct_now_ns();
	ct_first_due = ct_cfg.interval_ns ? now + (int64_t)ct_cfg.interval_ns : INT64_MAX;
	if (ct_port == 0) {
		ct_first_due = now;
		__atomic_store_n(&ct_hot.dumper_wanted, 1, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&ct_disabled, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ct_armed, 1, __ATOMIC_RELEASE);
}

void
ct_dumper_postfork_child(bool rearm)
{
	bool had = __atomic_load_n(&ct_running, __ATOMIC_ACQUIRE);
	ct_fork_locked = 0;
	__atomic_store_n(&ct_running, 0, __ATOMIC_RELEASE);
	/* Only the forking thread lives on here: the parent's dumper is not
	 * to be joined. */
	if (__atomic_load_n(&ct_have_live_key, __ATOMIC_RELAXED)) {
		__atomic_store_n(&ct_live, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&ct_joinable, 0, __ATOMIC_RELAXED);
	}
	/* ct_armed is init's (CT_INIT_HOT), ct_wake plain data: a store of
	 * what is there already would still copy their pages. */
	if (__atomic_load_n(&ct_armed, __ATOMIC_RELAXED))
		__atomic_store_n(&ct_armed, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&ct_pending, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ct_hot.dumper_wanted, 0, __ATOMIC_RELAXED);
	/* None of the parent's: its thread does not exist here, its pipe and
	 * sockets are closed below, its snapshots and port are its own. */
	__atomic_store_n(&ct_disabled, 1, __ATOMIC_RELAXED);
	if (had || ct_wake[0] >= 0) {
		/* Without prepare (_Fork) the list may be torn; each entry is
		 * closed only if its descriptor is still the file recorded. */
		for (int i = 0; i < ct_nowned && i < (int)CT_ARRAY_SIZE(ct_owned); i++)
			if (ct_fd_is(ct_owned[i].fd, ct_owned[i].dev, ct_owned[i].ino))
				close(ct_owned[i].fd);
		for (int i = 0; i < 2; i++)
			if (ct_wake_fd(i) >= 0)
				close(ct_wake[i]);
	}
	ct_nowned = 0;
	if (ct_wake[0] != -1 || ct_wake[1] != -1)
		ct_wake[0] = ct_wake[1] = -1;
	ct_spin_unlock(&ct_owned_lock);
	if (rearm && __atomic_load_n(&ct_configured, __ATOMIC_RELAXED))
		ct_dumper_rearm_child();
}

#ifdef CT_TEST_SEAMS
void
ct_dumper_test_hold(long hold_us)
{
	ct_spin_lock(&ct_owned_lock);
	ct_forkstate_test_sleep_us(hold_us);
	ct_spin_unlock(&ct_owned_lock);
}
#endif

/* Creates the thread (armed, not yet running). Thread-safe: one caller
 * wins. Not from a signal handler: pthread_create allocates. */
static int
ct_dumper_spawn(void)
{
	int expect = 0;
	if (!__atomic_load_n(&ct_armed, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&ct_disabled, __ATOMIC_RELAXED) ||
	    !__atomic_compare_exchange_n(&ct_running, &expect, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return 0;
	__atomic_store_n(&ct_hot.dumper_wanted, 0, __ATOMIC_RELAXED);
	/* The thread that starts it is the program's, and shows in the
	 * snapshot a request asked for: its registry slot, claimed lazily,
	 * was not yet there when the new thread took the snapshot at once
	 * (a single-threaded process's dump listed no thread at all). */
	ct_threads_self();
	ct_guard_enter();
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	/* Joinable: the program's last thread waits until it is gone
	 * (ct_dumper_retire). */
	/* Every signal blocked in the new thread (it inherits this mask), so
	 * the program's signals keep going to the program's threads. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int err = -ct_create(&ct_thread, &attr, ct_dumper_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err < 0) {
		__atomic_store_n(&ct_armed, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&ct_running, 0, __ATOMIC_RELEASE);
		ct_log("cannot start the dumper thread (%s); no live profiles", strerror(-err));
	} else {
		__atomic_store_n(&ct_joinable, 1, __ATOMIC_RELEASE);
		atexit(ct_dumper_stop);
	}
	ct_guard_leave();
	return err;
}

/* The program's last thread is ending: the dumper thread finishes and is
 * joined, so that it is no longer among glibc's threads when this one
 * ends (a thread that stopped on its own is only joined). */
static void
ct_dumper_retire(void)
{
	if (!__atomic_exchange_n(&ct_joinable, 0, __ATOMIC_ACQ_REL))
		return;
	ct_guard_enter();
	__atomic_store_n(&ct_stop, 1, __ATOMIC_RELEASE);
	ct_wake_poke();
	ct_sys_pthread_join(ct_thread, NULL);
	ct_guard_leave();
}

static void
ct_live_end(void *unused)
{
	(void)unused;
	if (__atomic_sub_fetch(&ct_live, 1, __ATOMIC_ACQ_REL) == 0)
		ct_dumper_retire();
}

void
ct_dumper_thread_coming(void)
{
	if (__atomic_load_n(&ct_have_live_key, __ATOMIC_RELAXED))
		__atomic_add_fetch(&ct_live, 1, __ATOMIC_ACQ_REL);
}

void
ct_dumper_thread_failed(void)
{
	if (__atomic_load_n(&ct_have_live_key, __ATOMIC_RELAXED))
		__atomic_sub_fetch(&ct_live, 1, __ATOMIC_ACQ_REL);
}

void
ct_dumper_thread_begins(void)
{
	if (__atomic_load_n(&ct_have_live_key, __ATOMIC_RELAXED))
		pthread_setspecific(ct_live_key, (void *)1);
}

int
ct_dumper_start(ct_thread_create_fn create, ct_signal_ours_fn ours)
{
	if (!ct_cfg.http[0] && ct_cfg.interval_ns == 0 && ct_cfg.dump_signal == 0)
		return 0;
	if (__atomic_load_n(&ct_armed, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&ct_disabled, __ATOMIC_RELAXED))
		return 0;
	int err;
	/* The channel exists from the start: the dump signal's handler can
	 * leave a request in it before the thread does. */
	if ((err = ct_wake_open()) < 0) {
		ct_log("cannot start the dumper thread (socketpair: %s); no live profiles",
		       strerror(-err));
		return err;
	}
	ct_sig = (int)ct_cfg.dump_signal;
	ct_port = ct_http_port();
	ct_create = create;
	ct_sig_ours = ours;
	ct_first_due = ct_cfg.interval_ns ? ct_now_ns() + (int64_t)ct_cfg.interval_ns : INT64_MAX;
	/* The initial thread counts itself; the shim's init runs on it (a
	 * constructor) but for a library loaded later by another thread,
	 * whose initial thread then goes uncounted (ct_dumper_thread_coming). */
	if (pthread_key_create(&ct_live_key, ct_live_end) == 0) {
		__atomic_store_n(&ct_live, 1, __ATOMIC_RELAXED);
		if (syscall(SYS_gettid) == getpid())
			pthread_setspecific(ct_live_key, (void *)1);
		__atomic_store_n(&ct_have_live_key, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&ct_configured, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&ct_armed, 1, __ATOMIC_RELEASE);
	/* The server must answer from the start. */
	if (ct_cfg.http[0])
		return ct_dumper_spawn();
	return 0;
}

void
ct_dumper_before_thread_create(void)
{
	if (CT_UNLIKELY(__atomic_load_n(&ct_armed, __ATOMIC_RELAXED)) &&
	    !__atomic_load_n(&ct_running, __ATOMIC_RELAXED))
		ct_dumper_spawn();
}

CT_HOT_TEXT void
ct_dumper_start_if_due(void)
{
	if (!__atomic_load_n(&ct_armed, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&ct_running, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&ct_disabled, __ATOMIC_RELAXED))
		return;
	if (!__atomic_load_n(&ct_pending, __ATOMIC_RELAXED) && ct_now_ns() < ct_first_due)
		return;
	/* pthread_create allocates: not where this thread may have
	 * interrupted malloc, or anything else, to run a signal handler: one
	 * the trampoline counts, or (x86-64) any other found on the stack. */
	/* Nor in a vfork() child: the thread would be its, gone at its exec,
	 * and the parent, sharing our memory, would take it for its own. */
	int saved = errno;
	if ((!ct_self.sig_depth || !ct_in_handler_slow()) && !ct_dump_borrowed() &&
	    ct_stack_outside_signal_handler())
		ct_dumper_spawn();
	errno = saved;
}

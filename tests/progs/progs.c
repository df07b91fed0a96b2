/* Helpers and the holder/waiters harness of tests/progs (see progs.h). */
#include "progs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int check_failures;

int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

struct timespec
deadline_us(clockid_t clk, long us)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	ts.tv_sec += us / 1000000;
	ts.tv_nsec += (us % 1000000) * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

void
die(const char *what, int err)
{
	fprintf(stderr, "SETUP: %s: %s\n", what, strerror(err));
	exit(99);
}

void
check_eq_(long got, long want, const char *expr, const char *file, int line)
{
	printf("%s = %ld\n", expr, got);
	if (got == want)
		return;
	check_failures++;
	fprintf(stderr, "FAIL: %s:%d: %s = %ld, expected %ld\n", file, line, expr, got, want);
}

void
must_failed(const char *expr, long got)
{
	fprintf(stderr, "FAIL: %s = %ld, expected 0\n", expr, got);
	exit(1);
}

int
check_status(void)
{
	if (check_failures)
		fprintf(stderr, "%d check(s) failed\n", check_failures);
	fflush(stdout);
	return check_failures ? 1 : 0;
}

void
need_args(int argc, int n, const char *usage)
{
	if (argc >= n)
		return;
	fprintf(stderr, "usage: %s\n", usage);
	exit(2);
}

long
arg_long(int argc, char **argv, int i, long def)
{
	if (i >= argc)
		return def;
	char *end;
	long v = strtol(argv[i], &end, 10);
	if (*end || v <= 0) {
		fprintf(stderr, "bad argument '%s'\n", argv[i]);
		exit(2);
	}
	return v;
}

static void *
bg_hold_main(void *p)
{
	struct bg_hold *b = p;
	b->lock_result = b->lock(b->obj);
	__atomic_store_n(&b->held, 1, __ATOMIC_RELEASE);
	while (b->manual && !__atomic_load_n(&b->released, __ATOMIC_ACQUIRE))
		sleep_us(1000);
	sleep_us(b->hold_us);
	if (!b->exit_holding)
		b->unlock_result = b->unlock(b->obj);
	return NULL;
}

void
bg_hold_start(struct bg_hold *b, int wait_held)
{
	b->held = 0;
	b->released = 0;
	XPT(pthread_create(&b->thread, NULL, bg_hold_main, b));
	/* Polled rather than signalled so the helper itself adds no
	 * condvar or semaphore wait to the profiles. */
	while (wait_held && !__atomic_load_n(&b->held, __ATOMIC_ACQUIRE))
		sleep_us(200);
}

void
bg_release(struct bg_hold *b)
{
	__atomic_store_n(&b->released, 1, __ATOMIC_RELEASE);
}

void
bg_hold_join(struct bg_hold *b)
{
	XPT(pthread_join(b->thread, NULL));
}

struct named {
	const char *name;
	void (*fn)(void);
};

static void *
named_main(void *arg)
{
	struct named n = *(struct named *)arg;
	free(arg);
	pthread_setname_np(pthread_self(), n.name);
	n.fn();
	return NULL;
}

void
start_named(pthread_t *t, const char *name, void (*fn)(void))
{
	struct named *n = malloc(sizeof(*n));
	if (!n)
		die("malloc", ENOMEM);
	*n = (struct named){name, fn};
	XPT(pthread_create(t, NULL, named_main, n));
}

void
hold_until_waiter(pthread_mutex_t *m, int *held, long us)
{
	pthread_mutex_lock(m);
	__atomic_store_n(held, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&m->__data.__lock, __ATOMIC_ACQUIRE) != 2)
		sleep_us(200);
	sleep_us(us);
	pthread_mutex_unlock(m);
}

struct contended {
	pthread_mutex_t *m;
	long us;
	int held;
};

static void *
contended_holder(void *arg)
{
	struct contended *c = arg;
	hold_until_waiter(c->m, &c->held, c->us);
	return NULL;
}

void
contended_wait(pthread_mutex_t *m, long hold_us)
{
	struct contended c = {m, hold_us, 0};
	pthread_t t;
	XPT(pthread_create(&t, NULL, contended_holder, &c));
	while (!__atomic_load_n(&c.held, __ATOMIC_ACQUIRE))
		sleep_us(100);
	MUST0(pthread_mutex_lock(m));
	pthread_mutex_unlock(m);
	XPT(pthread_join(t, NULL));
}

int bg_mutex_lock(void *m) { return pthread_mutex_lock(m); }
int bg_mutex_unlock(void *m) { return pthread_mutex_unlock(m); }
int bg_rwlock_rdlock(void *l) { return pthread_rwlock_rdlock(l); }
int bg_rwlock_wrlock(void *l) { return pthread_rwlock_wrlock(l); }
int bg_rwlock_unlock(void *l) { return pthread_rwlock_unlock(l); }
int bg_spin_lock(void *s) { return pthread_spin_lock(s); }
int bg_spin_unlock(void *s) { return pthread_spin_unlock(s); }

enum flavour
arg_flavour(int argc, char **argv, int i)
{
	if (i >= argc || !strcmp(argv[i], "plain"))
		return FLAVOUR_PLAIN;
	if (!strcmp(argv[i], "timed"))
		return FLAVOUR_TIMED;
	if (!strcmp(argv[i], "clock"))
		return FLAVOUR_CLOCK;
	fprintf(stderr, "bad flavour '%s' (plain, timed or clock)\n", argv[i]);
	exit(2);
}

struct timespec
flavour_deadline(enum flavour f)
{
	return deadline_us(f == FLAVOUR_CLOCK ? CLOCK_MONOTONIC : CLOCK_REALTIME, 60 * 1000000L);
}

void
scenario_args(struct scenario *s, int argc, char **argv, int first)
{
	s->waiters = (int)arg_long(argc, argv, first, 4);
	s->hold_us = arg_long(argc, argv, first + 1, 100000);
	s->rounds = (int)arg_long(argc, argv, first + 2, 3);
	s->flavour = arg_flavour(argc, argv, first + 3);
}

int
self_tid(void)
{
	return (int)syscall(SYS_gettid);
}

long
proc_syscall(const char *path)
{
	char buf[64];
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -2;
	long n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
	syscall(SYS_close, fd);
	if (n <= 0)
		return -2;
	buf[n] = 0;
	/* "running" is no call (strtol would read it as 0, which is read()),
	 * and neither is "-1 ...". */
	if (buf[0] < '0' || buf[0] > '9')
		return -1;
	return strtol(buf, NULL, 10);
}

int
in_syscall(int tid, long nr)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	long cur = proc_syscall(path);
	return cur == -2 || cur == nr;
}

char
task_state(int pid, int tid)
{
	char path[64], buf[512];
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return '?';
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

void
spin_ms(long ms)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

int
set_handler(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

void
stdout_to_devnull(void)
{
	int fd = open("/dev/null", O_WRONLY);
	if (fd < 0 || dup2(fd, 1) < 0)
		_exit(98);
	close(fd);
}

void
pause_us_raw(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	syscall(SYS_nanosleep, &ts, NULL);
}

/* Until every waiter of the round is released and blocked (bounded: 60 s,
 * then the hold starts anyway). */
static void
wait_waiters_blocked(struct scenario *s)
{
	int64_t deadline = now_ns() + 60 * 1000000000LL;
	while (now_ns() < deadline) {
		bool all = __atomic_load_n(&s->nin, __ATOMIC_ACQUIRE) >= s->waiters;
		int n = __atomic_load_n(&s->ntids, __ATOMIC_ACQUIRE);
		for (int i = 0; all && !s->spins && i < n && i < 64; i++)
			all = in_syscall(__atomic_load_n(&s->tids[i], __ATOMIC_ACQUIRE), SYS_futex);
		if (all)
			break;
		pause_us_raw(200);
	}
	__atomic_store_n(&s->nin, 0, __ATOMIC_RELEASE);
}

void
scenario_go(struct scenario *s)
{
	int r = pthread_barrier_wait(&s->go);
	if (r != 0 && r != PTHREAD_BARRIER_SERIAL_THREAD)
		die("pthread_barrier_wait", r);
	wait_waiters_blocked(s);
	sleep_us(s->hold_us);
}

static void
scenario_meet(pthread_barrier_t *b)
{
	int r = pthread_barrier_wait(b);
	if (r != 0 && r != PTHREAD_BARRIER_SERIAL_THREAD)
		die("pthread_barrier_wait", r);
}

static void *
scenario_waiter(void *p)
{
	struct scenario *s = p;
	int me = __atomic_fetch_add(&s->ntids, 1, __ATOMIC_ACQ_REL);
	if (me < 64)
		__atomic_store_n(&s->tids[me], self_tid(), __ATOMIC_RELEASE);
	for (int i = 0; i < s->rounds; i++) {
		scenario_meet(&s->go);
		__atomic_fetch_add(&s->nin, 1, __ATOMIC_ACQ_REL);
		int64_t t0 = now_ns();
		s->wait(s);
		__atomic_fetch_add(&s->waited_ns, now_ns() - t0, __ATOMIC_RELAXED);
		scenario_meet(&s->done);
	}
	return NULL;
}

void
scenario_run(struct scenario *s)
{
	pthread_t *t = calloc((size_t)s->waiters, sizeof(*t));
	if (!t)
		die("calloc", ENOMEM);
	XPT(pthread_barrier_init(&s->go, NULL, (unsigned)s->waiters + 1));
	XPT(pthread_barrier_init(&s->done, NULL, (unsigned)s->waiters + 1));
	for (int i = 0; i < s->waiters; i++)
		XPT(pthread_create(&t[i], NULL, scenario_waiter, s));
	for (int i = 0; i < s->rounds; i++) {
		s->hold(s);
		scenario_meet(&s->done);
	}
	for (int i = 0; i < s->waiters; i++)
		XPT(pthread_join(t[i], NULL));
	free(t);
	printf("waiters=%d hold_us=%ld rounds=%d\n", s->waiters, s->hold_us, s->rounds);
	printf("expected_ns=%lld\n", (long long)s->rounds * s->waiters * s->hold_us * 1000);
	printf("waited_ns=%lld\n", (long long)s->waited_ns);
	fflush(stdout);
}

int
scenario_main(int argc, char **argv, const char *prog, const struct scenario_mode *modes, int n)
{
	for (int i = 0; i < n && argc > 1; i++)
		if (!strcmp(argv[1], modes[i].name)) {
			struct scenario s = {.hold = modes[i].hold, .wait = modes[i].wait};
			scenario_args(&s, argc, argv, 2);
			scenario_run(&s);
			return 0;
		}
	fprintf(stderr, "usage: %s ", prog);
	for (int i = 0; i < n; i++)
		fprintf(stderr, "%s%s", i ? "|" : "", modes[i].name);
	fprintf(stderr, " [waiters] [hold_us] [rounds] [plain|timed|clock]\n");
	return 2;
}

int
dump_threads_and_wait(char *path, size_t len)
{
	return dump_threads_of(self_tid(), SIGUSR2, path, len);
}

/* The process's descriptors below 512: the shim keeps its own lasting
 * ones higher (core/sys.h ct_sys_fd_high). */
static int
low_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) < 512)
			n++;
	if (d)
		closedir(d);
	return n;
}

int
dump_threads_of(int tid, int sig, char *path, size_t len)
{
	int before = low_fds();
	const char *out = getenv("CONTEND_OUT"), *p;
	if (!out || !*out)
		out = "contend.%p";
	if ((p = strstr(out, "%p")))
		snprintf(path, len, "%.*s%d%s/threads.0001.txt", (int)(p - out), out, (int)getpid(),
			 p + 2);
	else
		snprintf(path, len, "%s/threads.0001.txt", out);
	syscall(SYS_tgkill, getpid(), tid, sig);
	int written = 0;
	for (int i = 0; i < 60000 && !(written = access(path, F_OK) == 0); i++)
		pause_us_raw(1000);
	/* The shim's thread may still hold what it wrote through (the file,
	 * its directory, the objects it read): until it lets go, an open()
	 * of the program's would get another number than natively (bounded:
	 * a wait of the shim's, not a test of it). */
	for (int i = 0; written && i < 10000 && low_fds() > before; i++)
		pause_us_raw(1000);
	return written;
}

int
shim_thread_tid(void)
{
	int tid = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[300], comm[32] = "";
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		int fd = e->d_name[0] != '.' ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		ssize_t n = fd >= 0 ? read(fd, comm, sizeof(comm) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n > 0 && !strncmp(comm, "libcontend", 10))
			tid = atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return tid;
}

/* PostgreSQL's ps_status.c on Linux: the environment moves to the heap,
 * and the title is written over argv and the old environment block
 * (one contiguous area), padded with NULs. */
void
write_title(const char *title)
{
	extern char **environ;
	size_t n = 0;
	while (environ[n])
		n++;
	if (n == 0)
		return;
	char **moved = calloc(n + 1, sizeof(*moved));
	if (!moved)
		die("calloc", errno);
	/* Only the block's strings, one after the other from its start (a
	 * variable set later lives elsewhere). */
	char *start = environ[0], *end = start;
	for (size_t i = 0; i < n; i++) {
		if (environ[i] == end)
			end += strlen(environ[i]) + 1;
		if (!(moved[i] = strdup(environ[i])))
			die("strdup", errno);
	}
	environ = moved;
	memset(start, 0, (size_t)(end - start));
	snprintf(start, (size_t)(end - start), "%s", title);
}

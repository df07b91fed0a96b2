/* A server at rest with one request held up, shaped like MariaDB's threads
 * (issue 11, "stuck means stuck"): a live thread dump must call every
 * service thread idle and put the held-up request first, by rules that
 * know nothing of names. Each thread, by construction:
 *   - "acceptor": poll() on a listening TCP socket and a wake-up pipe
 *     (acceptor_loop); it accepts one connection and hands it to
 *   - "conn": poll() on that accepted socket, waiting for its client's
 *     next request (conn_loop) after reading a first one;
 *   - "timer": pthread_cond_timedwait re-armed every 20 ms on its own
 *     condvar, the only place it ever waits (timer_loop);
 *   - "cleaner": one pthread_cond_timedwait that times out, then
 *     pthread_cond_wait on the same condvar (cleaner_loop), like a page
 *     cleaner that goes from "flush soon" to "nothing to do";
 *   - "manager": pthread_cond_wait on its condvar (manager_loop), woken
 *     once to run a callback that reads a pipe twice, then back;
 *   - "logger": read() of a pipe nobody writes to yet (logger_loop), the
 *     only place it ever waits, as a log writer's thread;
 *   - "pool": P workers that each run a task first (a read of a pipe),
 *     then wait each on a condvar of its own, all under the pool's one
 *     mutex (pool_worker), like a thread pool's standby list; all but the
 *     last are woken once and park again, so that the pool is where they
 *     usually wait, and the last one, new, waits there for the first
 *     time (MariaDB's tpool adds a worker to a pool at rest that way);
 *   - "query": reads its request from a pipe, then re-arms a 20 ms
 *     pthread_cond_timedwait on a condvar of its own that nobody signals
 *     (query_wait), as a request blocked behind a lock the server keeps
 *     itself (a metadata lock) re-arms its wait to check for a kill.
 *
 *   server_idle [P]    (P pool threads, default 3, at most 16)
 *
 * Once every thread sits in its wait (seen by the kernel in futex() or
 * poll()) and the query's re-armed wait has run at least 1 s without a
 * pause, main prints query_tid=T and conn_fd=N, sends itself SIGUSR2 (run
 * with CONTEND_DUMP_SIGNAL=SIGUSR2) and waits for threads.0001.txt in
 * $CONTEND_OUT (default contend.%p; at most 60 s, exit 4 when it never
 * comes), then stops every thread, joins them and exits 0. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "progs.h"

#define POOL_MAX 16

static int stop;
static int wake[2]; /* the acceptor's wake-up pipe */
static int log_pipe[2];
static int lfd, conn_fd = -1;
static int tids[8 + POOL_MAX], ntids;
static pthread_mutex_t tid_m = PTHREAD_MUTEX_INITIALIZER;

/* Each thread notes its tid; main waits until all sit in their waits. */
static void
note_tid(const char *name)
{
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&tid_m);
	tids[ntids++] = self_tid();
	pthread_mutex_unlock(&tid_m);
}

static int
stopping(void)
{
	return __atomic_load_n(&stop, __ATOMIC_ACQUIRE);
}

/* A service thread that notes its tid under its name, then runs its
 * loop. */
struct service {
	const char *name;
	void (*loop)(void);
};

static void *
service_main(void *arg)
{
	const struct service *sv = arg;
	note_tid(sv->name);
	sv->loop();
	return NULL;
}

static NOINLINE void
conn_loop(int fd)
{
	char buf[64];
	struct pollfd p = {fd, POLLIN, 0};
	/* The first request, then the wait for the next one. */
	if (poll(&p, 1, -1) != 1 || read(fd, buf, sizeof(buf)) <= 0)
		die("first request", errno);
	__atomic_store_n(&conn_fd, fd, __ATOMIC_RELEASE);
	while (!stopping() && poll(&p, 1, -1) >= 0 && !stopping())
		if (read(fd, buf, sizeof(buf)) <= 0)
			break;
	close(fd);
}

static void *
conn_main(void *arg)
{
	note_tid("conn");
	conn_loop((int)(intptr_t)arg);
	return NULL;
}

static NOINLINE void
acceptor_loop(pthread_t *conn)
{
	struct pollfd p[2] = {{lfd, POLLIN, 0}, {wake[0], POLLIN, 0}};
	int accepted = 0;
	while (poll(p, 2, -1) >= 0 && !stopping()) {
		if (!(p[0].revents & POLLIN) || accepted)
			continue;
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			die("accept", errno);
		accepted = 1;
		XPT(pthread_create(conn, NULL, conn_main, (void *)(intptr_t)fd));
	}
}

static void *
acceptor_main(void *arg)
{
	note_tid("acceptor");
	acceptor_loop(arg);
	return NULL;
}

static pthread_mutex_t timer_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_c = PTHREAD_COND_INITIALIZER;

static NOINLINE void
timer_loop(void)
{
	pthread_mutex_lock(&timer_m);
	while (!stopping()) {
		struct timespec dl = deadline_us(CLOCK_REALTIME, REARM_MS * 1000);
		pthread_cond_timedwait(&timer_c, &timer_m, &dl);
	}
	pthread_mutex_unlock(&timer_m);
}

static pthread_mutex_t clean_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t clean_c = PTHREAD_COND_INITIALIZER;
static int cleaner_resting;

static NOINLINE void
cleaner_loop(void)
{
	pthread_mutex_lock(&clean_m);
	struct timespec dl = deadline_us(CLOCK_REALTIME, 10 * 1000);
	int r = pthread_cond_timedwait(&clean_c, &clean_m, &dl);
	if (r != ETIMEDOUT && r != 0)
		die("cleaner timedwait", r);
	__atomic_store_n(&cleaner_resting, 1, __ATOMIC_RELEASE);
	while (!stopping())
		pthread_cond_wait(&clean_c, &clean_m);
	pthread_mutex_unlock(&clean_m);
}

static pthread_mutex_t mgr_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mgr_c = PTHREAD_COND_INITIALIZER;
static int mgr_callback, mgr_parked, mgr_done; /* parked: waits begun */
static int mgr_pipe[2];

static NOINLINE void
manager_callback(void)
{
	char c;
	for (int i = 0; i < 2; i++)
		if (read(mgr_pipe[0], &c, 1) != 1)
			die("manager read", errno);
}

static NOINLINE void
manager_loop(void)
{
	pthread_mutex_lock(&mgr_m);
	while (!stopping()) {
		if (mgr_callback) {
			mgr_callback = 0;
			pthread_mutex_unlock(&mgr_m);
			manager_callback();
			pthread_mutex_lock(&mgr_m);
			__atomic_store_n(&mgr_done, 1, __ATOMIC_RELEASE);
			continue;
		}
		__atomic_fetch_add(&mgr_parked, 1, __ATOMIC_ACQ_REL);
		pthread_cond_wait(&mgr_c, &mgr_m);
	}
	pthread_mutex_unlock(&mgr_m);
}

/* Reads the lines nobody writes, until the pipe closes. */
static NOINLINE void
logger_loop(void)
{
	char buf[64];
	while (read(log_pipe[0], buf, sizeof(buf)) > 0)
		;
}

static pthread_mutex_t pool_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_c[POOL_MAX];
static int pool_parked, pool_tasks[2], pool_n, pool_go[POOL_MAX];

/* Parks on mine until stopping, or until *go when go is given. */
static NOINLINE void
pool_worker(pthread_cond_t *mine, const int *go)
{
	pthread_mutex_lock(&pool_m);
	pool_parked++;
	while (!stopping() && !(go && *go))
		pthread_cond_wait(mine, &pool_m);
	pthread_mutex_unlock(&pool_m);
}

static void *
pool_main(void *arg)
{
	pthread_cond_t *mine = arg;
	int i = (int)(mine - pool_c);
	char task;
	note_tid("pool");
	if (read(pool_tasks[0], &task, 1) != 1)
		die("read task", errno);
	if (i < pool_n - 1)
		pool_worker(mine, &pool_go[i]);
	pool_worker(mine, NULL);
	return NULL;
}

/* Parks each worker but the last once more (pool_main), once all parked. */
static int
pool_rounds(void)
{
	pthread_mutex_lock(&pool_m);
	int parked = pool_parked;
	if (parked == pool_n && pool_n > 1 && !pool_go[0])
		for (int i = 0; i < pool_n - 1; i++) {
			pool_go[i] = 1;
			pthread_cond_signal(&pool_c[i]);
		}
	pthread_mutex_unlock(&pool_m);
	return parked;
}

static pthread_mutex_t query_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t query_c = PTHREAD_COND_INITIALIZER;
static int query_tid, query_req[2];
static long query_run; /* timeouts in the current unpaused run */

/* The held-up request (REARMED_WAIT). */
static NOINLINE void
query_wait(void)
{
	pthread_mutex_lock(&query_m);
	REARMED_WAIT(&query_c, &query_m, &query_run, stopping());
	pthread_mutex_unlock(&query_m);
}

static void *
query_main(void *arg)
{
	char req;
	pthread_setname_np(pthread_self(), "query");
	if (read(query_req[0], &req, 1) != 1)
		die("read request", errno);
	__atomic_store_n(&query_tid, self_tid(), __ATOMIC_RELEASE);
	query_wait();
	return arg;
}

/* Every thread in its wait as the kernel sees it. */
static int
in_place(int pool)
{
	pthread_mutex_lock(&tid_m);
	int n = ntids, t[8 + POOL_MAX];
	memcpy(t, tids, sizeof(t));
	pthread_mutex_unlock(&tid_m);
	int parked = pool_rounds();
	if (n < 6 + pool || parked < 2 * pool - 1 || __atomic_load_n(&conn_fd, __ATOMIC_ACQUIRE) < 0 ||
	    !__atomic_load_n(&cleaner_resting, __ATOMIC_ACQUIRE) ||
	    !__atomic_load_n(&mgr_done, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&mgr_parked, __ATOMIC_ACQUIRE) < 2 ||
	    !__atomic_load_n(&query_tid, __ATOMIC_ACQUIRE) ||
	    !in_syscall(query_tid, SYS_futex))
		return 0;
	for (int i = 0; i < n; i++)
		if (!in_syscall(t[i], SYS_futex) && !in_syscall(t[i], SYS_poll) &&
		    !in_syscall(t[i], SYS_read))
			return 0;
	return 1;
}

int
main(int argc, char **argv)
{
	int pool = (int)arg_long(argc, argv, 1, 3);
	if (pool > POOL_MAX)
		pool = POOL_MAX;
	pool_n = pool;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 8) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &al) != 0)
		die("listen", errno);
	if (pipe(wake) != 0 || pipe(mgr_pipe) != 0 || pipe(query_req) != 0 ||
	    pipe(pool_tasks) != 0 || pipe(log_pipe) != 0 || write(pool_tasks[1], "tttttttttttttttt", (size_t)pool) != pool)
		die("pipe", errno);

	pthread_t acceptor, conn, timer, cleaner, manager, logger, workers[POOL_MAX], query;
	XPT(pthread_create(&acceptor, NULL, acceptor_main, &conn));
	static const struct service timer_sv = {"timer", timer_loop},
				    cleaner_sv = {"cleaner", cleaner_loop},
				    manager_sv = {"manager", manager_loop},
				    logger_sv = {"logger", logger_loop};
	XPT(pthread_create(&timer, NULL, service_main, (void *)&timer_sv));
	XPT(pthread_create(&cleaner, NULL, service_main, (void *)&cleaner_sv));
	XPT(pthread_create(&manager, NULL, service_main, (void *)&manager_sv));
	XPT(pthread_create(&logger, NULL, service_main, (void *)&logger_sv));
	for (int i = 0; i < pool; i++) {
		XPT(pthread_cond_init(&pool_c[i], NULL));
		XPT(pthread_create(&workers[i], NULL, pool_main, &pool_c[i]));
	}
	if (write(query_req[1], "q", 1) != 1)
		die("write request", errno);
	XPT(pthread_create(&query, NULL, query_main, NULL));

	/* The client: connects and sends a first request. */
	int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    write(cfd, "hello", 5) != 5)
		die("client", errno);

	int64_t give_up = now_ns() + 60 * 1000000000LL;
	long run = 0;
	int called = 0;
	while (!in_place(pool) ||
	       (run = __atomic_load_n(&query_run, __ATOMIC_ACQUIRE)) * REARM_MS < REARM_RUN_MS) {
		if (now_ns() > give_up) {
			fprintf(stderr, "server_idle: threads not in place after 60 s\n");
			return 4;
		}
		/* The manager's callback, once it has parked the first time. */
		if (!called && __atomic_load_n(&mgr_parked, __ATOMIC_ACQUIRE) >= 1) {
			if (write(mgr_pipe[1], "ab", 2) != 2)
				die("write manager", errno);
			pthread_mutex_lock(&mgr_m);
			mgr_callback = 1;
			pthread_cond_signal(&mgr_c);
			pthread_mutex_unlock(&mgr_m);
			called = 1;
		}
		pause_us_raw(5000);
	}
	printf("query_tid=%d\nconn_fd=%d\nquery_min_ms=%ld\n", query_tid, conn_fd, run * REARM_MS);
	fflush(stdout);

	char path[4096];
	int written = dump_threads_and_wait(path, sizeof(path));

	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	if (write(wake[1], "x", 1) != 1)
		die("wake", errno);
	shutdown(cfd, SHUT_RDWR);
	pthread_mutex_lock(&timer_m);
	pthread_cond_signal(&timer_c);
	pthread_mutex_unlock(&timer_m);
	pthread_mutex_lock(&clean_m);
	pthread_cond_signal(&clean_c);
	pthread_mutex_unlock(&clean_m);
	pthread_mutex_lock(&mgr_m);
	pthread_cond_signal(&mgr_c);
	pthread_mutex_unlock(&mgr_m);
	pthread_mutex_lock(&pool_m);
	for (int i = 0; i < pool; i++)
		pthread_cond_signal(&pool_c[i]);
	pthread_mutex_unlock(&pool_m);
	pthread_mutex_lock(&query_m);
	pthread_cond_signal(&query_c);
	pthread_mutex_unlock(&query_m);
	XPT(pthread_join(acceptor, NULL));
	XPT(pthread_join(conn, NULL));
	XPT(pthread_join(timer, NULL));
	XPT(pthread_join(cleaner, NULL));
	XPT(pthread_join(manager, NULL));
	close(log_pipe[1]);
	XPT(pthread_join(logger, NULL));
	for (int i = 0; i < pool; i++)
		XPT(pthread_join(workers[i], NULL));
	XPT(pthread_join(query, NULL));
	close(cfd);
	if (!written) {
		fprintf(stderr, "server_idle: no %s after 60 s\n", path);
		return 4;
	}
	return 0;
}

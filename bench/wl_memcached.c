/* Workload "memcached": /usr/bin/memcached (skipped when missing) with 2
 * worker threads on 127.0.0.1, driven by MC_CONNS client threads of ours,
 * one connection each, a memaslap-like mix: 90 % get, 10 % set of 32-byte
 * values over MC_KEYS keys, one request in flight per connection.
 * Requests per second. The server inherits the worker's environment, so it
 * runs natively or preloaded; the client makes its socket calls as raw
 * system calls, so the shim in the worker process itself stays out of the
 * figure. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MC_BIN "/usr/bin/memcached"
#define MC_CONNS 4
#define MC_KEYS 1000
#define MC_VALUE 32

static bool
mc_available(void)
{
	return access(MC_BIN, X_OK) == 0;
}

static ssize_t
raw_send(int fd, const void *p, size_t n)
{
	return syscall(SYS_sendto, fd, p, n, MSG_NOSIGNAL, NULL, 0);
}

static ssize_t
raw_recv(int fd, void *p, size_t n)
{
	return syscall(SYS_recvfrom, fd, p, n, 0, NULL, NULL);
}

static int
mc_connect(int port)
{
	int fd = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (syscall(SYS_connect, fd, &a, sizeof(a)) != 0) {
		syscall(SYS_close, fd);
		return -1;
	}
	return fd;
}

/* Sends req and reads until the reply ends with end (a whole reply: one
 * request in flight). 0, or -1 on a broken connection. */
static int
mc_call(int fd, const char *req, size_t n, const char *end)
{
	char buf[512];
	size_t got = 0, el = strlen(end);
	if (raw_send(fd, req, n) != (ssize_t)n)
		return -1;
	for (;;) {
		ssize_t k = raw_recv(fd, buf + got, sizeof(buf) - 1 - got);
		if (k <= 0)
			return -1;
		got += (size_t)k;
		if (got >= el && memcmp(buf + got - el, end, el) == 0)
			return 0;
		if (got >= sizeof(buf) - 1)
			return -1;
	}
}

static int mc_port;

static int
mc_set(int fd, unsigned key)
{
	char req[128];
	int n = snprintf(req, sizeof(req), "set key:%u 0 0 %d\r\n%0*u\r\n", key, MC_VALUE,
			 MC_VALUE, key);
	return mc_call(fd, req, (size_t)n, "STORED\r\n");
}

static void *
mc_thread(void *arg)
{
	struct wthread *w = arg;
	uint64_t x = w->idx * 7919 + 1, n = 0;
	int fd = mc_connect(mc_port);
	if (fd < 0)
		abort();
	wait_go();
	while (!stopped()) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		unsigned key = (unsigned)(x >> 33) % MC_KEYS;
		int bad;
		if ((x >> 20) % 10 == 0) {
			bad = mc_set(fd, key);
		} else {
			char req[64];
			int k = snprintf(req, sizeof(req), "get key:%u\r\n", key);
			bad = mc_call(fd, req, (size_t)k, "END\r\n");
		}
		if (bad)
			abort();
		n++;
	}
	syscall(SYS_close, fd);
	w->ops = n;
	return NULL;
}

/* A port nobody listens on now (the kernel's pick for port 0). */
static int
free_port(void)
{
	int fd = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		syscall(SYS_close, fd);
	return port;
}

static void
work_memcached(struct wres *r)
{
	mc_port = free_port();
	char port[16];
	snprintf(port, sizeof(port), "%d", mc_port);
	pid_t pid = fork();
	if (pid == 0) {
		execl(MC_BIN, "memcached", "-t", "2", "-p", port, "-U", "0", "-l", "127.0.0.1",
		      "-m", "64", "-u", "root", (char *)NULL);
		_exit(127);
	}
	if (pid < 0)
		abort();
	int fd = -1;
	for (int i = 0; i < 400 && fd < 0; i++) {
		fd = mc_connect(mc_port);
		if (fd < 0)
			usleep(5000);
	}
	if (fd < 0) {
		fprintf(stderr, "contend-bench: memcached did not start\n");
		kill(pid, SIGKILL);
		exit(2);
	}
	for (unsigned k = 0; k < MC_KEYS; k++)
		if (mc_set(fd, k) != 0)
			abort();
	syscall(SYS_close, fd);
	r->elapsed = run_threads(mc_thread, MC_CONNS);
	for (unsigned i = 0; i < MC_CONNS; i++)
		r->ops += g_wt[i].ops;
	/* SIGTERM: a preloaded server writes its profiles as any program
	 * would at exit; not timed. */
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static struct series mc[NCFG];

static void
collect(enum cfg c, int rep, const struct child *r)
{
	add(&mc[c], rep, (double)r->ops * 1e6 / (double)r->elapsed_ns); /* k req/s */
}

static void
measure(int rep)
{
	if (!mc_available())
		return;
	static const enum cfg cfgs[] = {NATIVE, CT_DEFAULT, CT_ALL};
	struct cell cell = {"memcached", wl_secs(&wl_memcached), MC_CONNS, 0, 0};
	run_cells(rep, cfgs, 3, &cell, collect);
}

static void
rows(void)
{
	if (!mc_available()) {
		row_text(82, "8 memcached: skipped, no %s\n", MC_BIN);
		return;
	}
	dump_series("memcached k req/s", mc);
	row_pair(82, "8 memcached, 4 connections, 90% get", "k req/s", mc, true);
}

const struct workload wl_memcached = {
	.group = "memcached", .workers = {{"memcached", work_memcached}},
	.secs = 0.5, .quick_secs = 0.25,
	.measure = measure, .rows = rows,
};

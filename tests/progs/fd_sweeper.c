/* fd_sweeper sweep|sweep-range|daemon|dup2-wake|dup2: a program that takes over the
 * descriptor numbers of the shim's thread, as a JVM's jspawnhelper (every
 * descriptor above 2 closed before exec) or a daemon does. Run with CONTEND_HTTP=127.0.0.1:0
 * (the shim's thread and its listening socket exist from the start); each
 * step waits for the shim's thread ("libcontend") to be blocked in its
 * poll, read from /proc/self/task/TID/syscall, so there is no race.
 * sweep|sweep-range: (with CONTEND_DUMP_SIGNAL=SIGUSR2 too) closes every
 * descriptor above 2, one close(2) at a time or with close_range(2); the
 * shim's thread, woken by its channel's end, makes new descriptors and polls
 * again (60 s at most): prints "swept". Then asks for a snapshot with the
 * dump signal, which must neither kill the process nor be lost: once
 * $CONTEND_OUT/threads.0001.txt exists (60 s at most) prints "dumped"
 * and exits 0. Whatever the shim says about the sweep is a notice: not
 * on a stderr that is not a terminal (test_http.c).
 * daemon: (likewise) daemonizes the old way: closes every descriptor
 * from 0 up and waits 300 ms: the shim's thread, woken meanwhile, must
 * make nothing while 0, 1 and 2 are closed (its new pipe would take them
 * for a moment, and the daemon's open could get 2 instead of 0). Then it
 * opens /dev/null and dup()s it twice, which must give 0, 1 and 2, and
 * asks for a snapshot as above. Its output is gone, so the exit status
 * tells: 0 when all went as it should, 5 when a descriptor appeared in
 * the 300 ms, 3 when /dev/null did not become 0, 1 and 2, 4 when no
 * snapshot came within 60 s.
 * dup2-wake 0|1: (with CONTEND_DUMP_SIGNAL=SIGUSR2 too) dup2's a pipe of
 * its own holding "hello" onto one end of the shim's wake-up channel (its
 * two Unix sockets, the read end the lower number), then asks for a
 * snapshot as above: the shim's thread must go back to sleeping in poll
 * (it spun there with its write end gone), the snapshot must come, and
 * the pipe must still hold "hello" (the shim drained it as its own).
 * Prints "slept" and "dumped" and exits 0.
 * dup2: (with CONTEND_DUMP_SIGNAL=SIGUSR2 too) dup2's a listening socket
 * of its own onto the number of the shim's, connects to it, and asks for
 * a snapshot with the dump signal, which wakes the shim's poll with the
 * program's connection pending at that number; once the shim's thread
 * is blocked in poll again, takes the connection with a non-blocking
 * accept: prints "accepted" and exits 0, or "stolen" and exits 1 (the
 * shim served the program's socket as its own; it then also blocked in
 * accept on it, the program's socket being a blocking one, and never
 * polled again: "FAIL: ..." and exit 2 after 60 s). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "progs.h"

/* Its voluntary context switches: each time it went to sleep. */
static long
switches(int tid)
{
	char path[64], line[128];
	long v = -1;
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "voluntary_ctxt_switches:", 24))
			v = atol(line + 24);
	if (f)
		fclose(f);
	return v;
}

/* Waits (60 s at most) until the shim's thread is blocked in poll and,
 * with after >= 0, has slept since `after` switches; its tid. */
static int
await_shim_poll(long after)
{
	for (int i = 0; i < 60000; i++) {
		int tid = shim_thread_tid();
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
		if (tid && proc_syscall(path) == SYS_poll && (after < 0 || switches(tid) > after))
			return tid;
		pause_us_raw(1000);
	}
	fprintf(stderr, "FAIL: the shim's thread never waited in poll\n");
	exit(2);
}

/* The shim's listening socket: the one socket the program did not make. */
static int
shim_socket(struct sockaddr_in *a)
{
	for (int fd = 3; fd < 1024; fd++) {
		socklen_t l = sizeof(*a);
		if (getsockname(fd, (struct sockaddr *)a, &l) == 0 && a->sin_family == AF_INET)
			return fd;
	}
	fprintf(stderr, "FAIL: no listening socket of the shim's\n");
	exit(2);
}

/* Waits (60 s at most) for $CONTEND_OUT/threads.0001.txt. */
static bool
snapshot_came(void)
{
	char done[4096];
	snprintf(done, sizeof(done), "%s/threads.0001.txt", getenv("CONTEND_OUT"));
	for (int i = 0; i < 60000 && access(done, F_OK) != 0; i++)
		pause_us_raw(1000);
	return access(done, F_OK) == 0;
}

/* "dumped" and 0 once the snapshot came, else 2. */
static int
expect_snapshot(void)
{
	if (!snapshot_came()) {
		fprintf(stderr, "FAIL: no snapshot\n");
		return 2;
	}
	printf("dumped\n");
	return 0;
}

/* Whether fd is open; after the sweep, any such descriptor above 2 is the
 * shim's. */
static bool
fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int
sweep(bool range)
{
	int tid = await_shim_poll(-1);
	long before = switches(tid);
	if (range)
		syscall(SYS_close_range, 3u, ~0u, 0u);
	else
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	/* Back in poll after a wake-up, on new descriptors of its own. */
	await_shim_poll(before);
	bool some = false;
	for (int fd = 3; fd < 1024; fd++)
		some |= fd_open(fd);
	if (!some) {
		fprintf(stderr, "FAIL: the shim's thread polls no descriptor\n");
		return 2;
	}
	printf("swept\n");
	kill(getpid(), SIGUSR2);
	return expect_snapshot();
}

static int
take_over(void)
{
	int tid = await_shim_poll(-1);
	struct sockaddr_in shim, own;
	int num = shim_socket(&shim);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	own = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t ol = sizeof(own);
	if (l < 0 || bind(l, (struct sockaddr *)&own, sizeof(own)) != 0 || listen(l, 8) != 0 ||
	    getsockname(l, (struct sockaddr *)&own, &ol) != 0 || dup2(l, num) != num)
		return 2;
	close(l);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&own, sizeof(own)) != 0)
		return 2;
	/* Taken since the dup2: it slept in poll before, and wakes now. */
	long before = switches(tid);
	kill(getpid(), SIGUSR2);
	await_shim_poll(before);
	fcntl(num, F_SETFL, fcntl(num, F_GETFL) | O_NONBLOCK);
	int got = accept(num, NULL, NULL);
	printf("%s\n", got >= 0 ? "accepted" : "stolen");
	return got >= 0 ? 0 : 1;
}

static int
take_wake_end(int end)
{
	int tid = await_shim_poll(-1);
	int ends[2], n = 0;
	for (int fd = 3; fd < 1024 && n < 2; fd++) {
		struct sockaddr_storage a;
		socklen_t l = sizeof(a);
		if (getsockname(fd, (struct sockaddr *)&a, &l) == 0 && a.ss_family == AF_UNIX)
			ends[n++] = fd;
	}
	if (n != 2) {
		fprintf(stderr, "FAIL: the shim's wake-up channel not found\n");
		return 2;
	}
	long before = switches(tid);
	int p[2];
	if (pipe(p) != 0 || write(p[1], "hello", 5) != 5 || dup2(p[0], ends[end]) != ends[end])
		return 2;
	kill(getpid(), SIGUSR2);
	/* A thread that spins never sleeps again. */
	await_shim_poll(before);
	printf("slept\n");
	int rc = expect_snapshot();
	/* The program's pipe at that number kept what it held. */
	char buf[8] = {0};
	fcntl(ends[end], F_SETFL, O_NONBLOCK);
	if (read(ends[end], buf, sizeof(buf)) != 5 || memcmp(buf, "hello", 5) != 0) {
		fprintf(stderr, "FAIL: the program's pipe lost its data\n");
		return 2;
	}
	return rc;
}

static int
daemonize(void)
{
	await_shim_poll(-1);
	for (int fd = 0; fd < 1024; fd++)
		close(fd);
	pause_us_raw(300000);
	for (int fd = 0; fd < 1024; fd++)
		if (fd_open(fd))
			return 5;
	if (open("/dev/null", O_RDWR) != 0 || dup(0) != 1 || dup(0) != 2)
		return 3;
	kill(getpid(), SIGUSR2);
	return snapshot_came() ? 0 : 4;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *mode = argc > 1 ? argv[1] : "sweep";
	if (!strcmp(mode, "dup2"))
		return take_over();
	if (!strcmp(mode, "daemon"))
		return daemonize();
	if (!strcmp(mode, "dup2-wake"))
		return take_wake_end(argc > 2 ? atoi(argv[2]) : 0);
	return sweep(!strcmp(mode, "sweep-range"));
}

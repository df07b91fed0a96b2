/* A server that drops root, for tests/integration/test_dropuid.c: as
 * root, contends a mutex in named functions (drop_hold: the holder;
 * drop_wait: the waiter) after giving up its credentials
 *   drop_root before|after|resuid|reuid|nodump UID GID
 * before: setgid/setuid before the waiter thread starts; after: once it
 * runs (glibc applies the change to every thread); resuid, reuid: as
 * before, with setresgid/setresuid and setregid/setreuid; daemon: as
 * before, then forks, and the child does the rest while the parent waits
 * for it, prints child=PID and _exit()s with its status; vfork: stays
 * root, a vfork() child drops root and execs /bin/true; nodump:
 * PR_SET_DUMPABLE 0, all capabilities dropped, then only the effective
 * ids (seteuid), as a server that may take root back.
 * Each of these closes /proc/self/auxv (and more) to the process, which
 * the profile writer must not need for names. With a fourth argument
 * "dump", the holder sends itself SIGUSR2 (run with
 * CONTEND_DUMP_SIGNAL=SIGUSR2) while the waiter is blocked and holds on
 * until $CONTEND_OUT/threads.0001.txt exists (at most 60 s). With
 * "symbol" instead (run with CONTEND_HTTP=127.0.0.1:0), once its
 * credentials are dropped it asks the shim's own /debug/pprof/symbol for
 * the name of drop_wait's address and prints the answer's lines as
 * "symbol: <line>". With "delta" instead (CONTEND_HTTP=127.0.0.1:0 too),
 * once its credentials are dropped it asks for /debug/pprof/block?seconds=1
 * and naps 20 ms at a time in delta_nap until the answer is there (so some
 * naps end inside the second), then writes the answer's body to
 * $CONTEND_OUT/delta.pb.gz (CONTEND_OUT: a directory, no %p).
 * Exit 0, or a message and 1. */
#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <poll.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int go;
static int dump;

static void
fail(const char *what)
{
	fprintf(stderr, "drop_root: %s: %s\n", what, strerror(errno));
	exit(1);
}

static NOINLINE void
drop_wait(void)
{
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
}

static void *
waiter(void *arg)
{
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		usleep(1000);
	drop_wait();
	return arg;
}

/* Holds m until the waiter is queued on it: glibc marks a mutex with a
 * sleeping (or about to sleep) waiter by lock word 2, which it sets only
 * on the contended path, after the shim saw the lock busy. */
static NOINLINE void
drop_hold(void)
{
	struct timespec ms20 = {0, 20 * 1000 * 1000};

	pthread_mutex_lock(&m);
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&m.__data.__lock, __ATOMIC_ACQUIRE) != 2)
		usleep(1000);
	nanosleep(&ms20, NULL);
	if (dump) {
		char path[4096];
		const char *out = getenv("CONTEND_OUT");

		snprintf(path, sizeof(path), "%s/threads.0001.txt", out ? out : ".");
		raise(SIGUSR2);
		for (int i = 0; i < 60000 && access(path, F_OK) != 0; i++)
			usleep(1000);
	}
	pthread_mutex_unlock(&m);
}

static void
drop(const char *mode, uid_t uid, gid_t gid)
{
	if (strcmp(mode, "nodump") == 0) {
		struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct d[2];

		if (prctl(PR_SET_DUMPABLE, 0) != 0)
			fail("prctl");
		if (setegid(gid) != 0 || seteuid(uid) != 0)
			fail("seteuid");
		memset(d, 0, sizeof(d));
		if (syscall(SYS_capset, &h, d) != 0)
			fail("capset");
		return;
	}
	if (strcmp(mode, "vfork") == 0) {
		/* su-like: only the child drops root, then execs. */
		pid_t p = vfork();
		if (p == 0) {
			if (setgid(gid) != 0 || setuid(uid) != 0)
				_exit(1);
			execl("/bin/true", "true", (char *)NULL);
			_exit(1);
		}
		int st;
		if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail("vfork child");
		return;
	}
	if (strcmp(mode, "resuid") == 0) {
		if (setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0)
			fail("setresuid");
		return;
	}
	if (strcmp(mode, "reuid") == 0) {
		if (setregid(gid, gid) != 0 || setreuid(uid, uid) != 0)
			fail("setreuid");
		return;
	}
	if (setgid(gid) != 0 || setuid(uid) != 0)
		fail("setuid");
}

/* The port of the shim's listening socket, once it listens (at most
 * 60 s), or 0. */
static int
shim_port(void)
{
	for (int i = 0; i < 60000; i++, usleep(1000)) {
		DIR *d = opendir("/proc/self/fd");
		struct dirent *e;
		int port = 0;
		while (d && !port && (e = readdir(d))) {
			int fd = atoi(e->d_name), on = 0;
			socklen_t l = sizeof(on);
			struct sockaddr_in a;
			socklen_t al = sizeof(a);
			if (e->d_name[0] != '.' &&
			    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &l) == 0 && on &&
			    getsockname(fd, (struct sockaddr *)&a, &al) == 0 && a.sin_family == AF_INET)
				port = ntohs(a.sin_port);
		}
		if (d)
			closedir(d);
		if (port)
			return port;
	}
	return 0;
}

/* A connection to the shim's /debug/pprof/ server. */
static int
shim_connect(void)
{
	int port = shim_port();
	if (!port)
		fail("no /debug/pprof/ socket");
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		fail("connect");
	return fd;
}

static void
ask_symbol(void)
{
	int fd = shim_connect();
	char body[64], req[256];
	int bl = snprintf(body, sizeof(body), "%#lx", (unsigned long)(uintptr_t)drop_wait);
	int rl = snprintf(req, sizeof(req),
			  "POST /debug/pprof/symbol HTTP/1.0\r\nHost: 127.0.0.1\r\n"
			  "Content-Length: %d\r\n\r\n%s", bl, body);
	if (write(fd, req, (size_t)rl) != rl)
		fail("write");
	char resp[8192];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(resp) - 1 && (r = read(fd, resp + n, sizeof(resp) - 1 - n)) > 0)
		n += (size_t)r;
	resp[n] = 0;
	close(fd);
	const char *b = strstr(resp, "\r\n\r\n");
	for (char *line = b ? (char *)b + 4 : resp, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		printf("symbol: %s\n", line);
	}
	fflush(stdout);
}

static NOINLINE void
delta_nap(void)
{
	usleep(20 * 1000);
}

/* A ?seconds=1 profile, fetched while naps end inside its second. */
static void
ask_delta(void)
{
	int fd = shim_connect();
	static const char req[] = "GET /debug/pprof/block?seconds=1 HTTP/1.0\r\n"
				  "Host: 127.0.0.1\r\n\r\n";
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1)
		fail("write");
	struct pollfd p = {fd, POLLIN, 0};
	for (int i = 0; i < 3000 && poll(&p, 1, 0) == 0; i++)
		delta_nap();
	static char resp[1 << 20];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(resp) && (r = read(fd, resp + n, sizeof(resp) - n)) > 0)
		n += (size_t)r;
	close(fd);
	const char *b = memmem(resp, n, "\r\n\r\n", 4), *out = getenv("CONTEND_OUT");
	if (!b || !out || strncmp(resp, "HTTP/1.", 7) != 0 || strncmp(resp + 8, " 200 ", 5) != 0) {
		fprintf(stderr, "drop_root: delta answer: %.*s\n", (int)(n < 200 ? n : 200), resp);
		exit(1);
	}
	b += 4;
	char path[4096];
	snprintf(path, sizeof(path), "%s/delta.pb.gz", out);
	FILE *f = fopen(path, "w");
	if (!f || fwrite(b, 1, (size_t)(resp + n - b), f) != (size_t)(resp + n - b) || fclose(f))
		fail("write delta.pb.gz");
}

int
main(int argc, char **argv)
{
	pthread_t t;

	if (argc != 4 && !(argc == 5 && (strcmp(argv[4], "dump") == 0 ||
					  strcmp(argv[4], "symbol") == 0 ||
					  strcmp(argv[4], "delta") == 0))) {
		fprintf(stderr, "usage: drop_root before|after|resuid|reuid|daemon|vfork|nodump UID GID "
				"[dump|symbol|delta]\n");
		return 1;
	}
	uid_t uid = (uid_t)atol(argv[2]);
	gid_t gid = (gid_t)atol(argv[3]);
	int after = strcmp(argv[1], "after") == 0;
	dump = argc == 5 && strcmp(argv[4], "dump") == 0;
	int symbol = argc == 5 && strcmp(argv[4], "symbol") == 0;
	int delta = argc == 5 && strcmp(argv[4], "delta") == 0;

	if (!after)
		drop(argv[1], uid, gid);
	if (strcmp(argv[1], "daemon") == 0) {
		/* memcached -d -u: the drop, then the fork that daemonizes;
		 * the child does the rest, the parent only waits for it. */
		fflush(stdout);
		pid_t p = fork();
		if (p < 0)
			fail("fork");
		if (p > 0) {
			int st;
			if (waitpid(p, &st, 0) != p || !WIFEXITED(st))
				fail("waitpid");
			printf("child=%d\n", (int)p);
			fflush(stdout);
			_exit(WEXITSTATUS(st));
		}
	}
	if ((errno = pthread_create(&t, NULL, waiter, NULL)) != 0)
		fail("pthread_create");
	if (after)
		drop(argv[1], uid, gid);
	if (prctl(PR_GET_DUMPABLE) != 0) {
		fprintf(stderr, "drop_root: still dumpable\n");
		return 1;
	}
	if (symbol)
		ask_symbol();
	if (delta)
		ask_delta();
	drop_hold();
	pthread_join(t, NULL);
	return 0;
}

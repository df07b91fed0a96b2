/* A process-per-connection server, like PostgreSQL's postmaster: a
 * single-threaded parent accepts each connection on a Unix socket and
 * forks a child for it; the child waits for its client's request
 * (epoll_wait for even connections, read for odd ones), answers and
 * exits through exit(). A client process makes the connections one after
 * another, and the server reaps each child before it accepts the next
 * connection, so every child but the first is forked after an earlier
 * one has exited (and, under the shim, written its profiles).
 *   fork_server [children=20] [wait_us=3000]
 *
 * Every child's wait lasts at least wait_us by construction: the client
 * sends its request only once the kernel shows the child inside the
 * waiting system call (/proc/<pid>/syscall), and then only after sleeping
 * wait_us with a raw nanosleep. The client ends with _exit, so it writes
 * no profile of its own.
 *
 * Prints server=<pid>, client=<pid>, child=<pid> op=<epoll_wait|read> per
 * connection, site=<hex> from each epoll_wait child (the return address
 * into serve_one of its wait's stack: the same in every child),
 * then children=N and failed=N (children that did not exit 0), under
 * libcontend-seams.so kidpc=<hex> in_shim=0|1 for each return address its
 * children reported having resolved themselves (core/dump.c; in_shim: in
 * the shim's own code), and
 * big_malloc_mapped=0|1|-1: whether a 130 KiB malloc() of the server after
 * its last child came from mmap, as it does with glibc's default mmap
 * threshold (128 KiB) until a free of a mapped chunk raises it (see
 * big_malloc_mapped below). Exits 0
 * when every child and the client exited 0. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

/* Whether process pid is inside one of the system calls nr[0..n) as the
 * kernel sees it; 1 when that cannot be read (then the wait_us pause is
 * what makes the wait). */
static int
proc_in_syscall(pid_t pid, const long *nr, int n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	long cur = proc_syscall(path);
	if (cur == -2)
		return 1;
	for (int i = 0; i < n; i++)
		if (cur == nr[i])
			return 1;
	return 0;
}

static NOINLINE int
wait_request_epoll(int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd}, got;
	printf("site=%lx\n", (unsigned long)(uintptr_t)__builtin_return_address(0));
	fflush(stdout);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		return -1;
	int n;
	while ((n = epoll_wait(ep, &got, 1, -1)) < 0 && errno == EINTR)
		;
	close(ep);
	return n == 1 ? 0 : -1;
}

static NOINLINE int
wait_request_read(int fd, char *c)
{
	ssize_t n;
	while ((n = read(fd, c, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? 0 : -1;
}

/* One connection, in the forked child. */
static NOINLINE int
serve_one(int fd, int use_read)
{
	pid_t me = getpid();
	char c = 0;
	if (write(fd, &me, sizeof(me)) != (ssize_t)sizeof(me))
		return 1;
	if (use_read) {
		if (wait_request_read(fd, &c) != 0)
			return 1;
	} else if (wait_request_epoll(fd) != 0 || read(fd, &c, 1) != 1) {
		return 1;
	}
	return write(fd, "k", 1) == 1 && c == 'q' ? 0 : 1;
}

static void
client(const struct sockaddr_un *addr, socklen_t alen, int n, long wait_us)
{
	/* epoll_wait or epoll_pwait (glibc may use either), then read */
	static const long epolls[] = {SYS_epoll_wait, SYS_epoll_pwait}, reads[] = {SYS_read};
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		pid_t child;
		char c;
		if (fd < 0 || connect(fd, (const struct sockaddr *)addr, alen) != 0)
			_exit(2);
		if (read(fd, &child, sizeof(child)) != (ssize_t)sizeof(child))
			_exit(3);
		while (i % 2 ? !proc_in_syscall(child, reads, 1) : !proc_in_syscall(child, epolls, 2))
			pause_us_raw(200);
		pause_us_raw(wait_us);
		if (write(fd, "q", 1) != 1 || read(fd, &c, 1) != 1 || c != 'k')
			_exit(4);
		close(fd);
	}
	_exit(0);
}

/* Whether malloc() maps a 130 KiB chunk (1) or takes it from the heap's
 * end (0: the mmap threshold was raised above 128 KiB), -1 if unknown.
 * Only a request that reaches the end of the heap says which: one that
 * a free chunk satisfies (the shim's writes free big ones) says nothing,
 * so such chunks are taken and kept until a request reaches the end.
 * Each step allocates nothing else: a chunk glibc mapped adds one to
 * hblks, a grown heap to arena. */
static int
big_malloc_mapped(void)
{
	enum { size = 130 * 1024, tries = 256 };
	void *held[tries];
	int n = 0, r = -1;
	while (r < 0 && n < tries) {
		struct mallinfo2 a = mallinfo2();
		void *p = malloc(size);
		struct mallinfo2 b = mallinfo2();
		if (!p)
			break;
		held[n++] = p;
		if (b.hblks == a.hblks + 1)
			r = 1;
		else if (b.arena > a.arena)
			r = 0;
	}
	while (n > 0)
		free(held[--n]);
	return r;
}

int
main(int argc, char **argv)
{
	int n = (int)arg_long(argc, argv, 1, 20);
	long wait_us = arg_long(argc, argv, 2, 3000);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	/* Abstract name: nothing to clean up, unique per server. */
	int len = snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1, "ct_fork_server.%d",
			   (int)getpid());
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, alen) != 0 || listen(lfd, 16) != 0)
		die("listen", errno);
	fflush(stdout);
	pid_t cl = fork();
	if (cl < 0)
		die("fork", errno);
	if (cl == 0) {
		close(lfd);
		client(&addr, alen, n, wait_us);
	}
	printf("server=%d\nclient=%d\n", (int)getpid(), (int)cl);
	pid_t *kids = calloc((size_t)n, sizeof(*kids));

	int failed = 0, st;
	for (int i = 0; i < n; i++) {
		int fd;
		while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0 && errno == EINTR)
			;
		if (fd < 0)
			die("accept", errno);
		fflush(stdout);
		kids[i] = fork();
		if (kids[i] < 0)
			die("fork", errno);
		if (kids[i] == 0) {
			close(lfd);
			exit(serve_one(fd, i % 2));
		}
		close(fd);
		printf("child=%d op=%s\n", (int)kids[i], i % 2 ? "read" : "epoll_wait");
		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;

	}
	if (waitpid(cl, &st, 0) != cl || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "FAIL: client status %#x\n", st);
		failed++;
	}
	printf("children=%d\nfailed=%d\n", n, failed);
	size_t (*reported)(uintptr_t *, size_t) =
		(size_t (*)(uintptr_t *, size_t))dlsym(RTLD_DEFAULT, "ct_dump_test_kids_pcs");
	uintptr_t pcs[512];
	size_t npcs = reported ? reported(pcs, 512) : 0;
	Dl_info shim, at;
	if (reported && !dladdr((void *)reported, &shim))
		shim.dli_fbase = NULL;
	for (size_t i = 0; i < npcs && i < 512; i++)
		printf("kidpc=%lx in_shim=%d\n", (unsigned long)pcs[i],
		       dladdr((void *)pcs[i], &at) && shim.dli_fbase && at.dli_fbase == shim.dli_fbase);
	printf("big_malloc_mapped=%d\n", big_malloc_mapped());
	free(kids);
	return failed ? 1 : 0;
}

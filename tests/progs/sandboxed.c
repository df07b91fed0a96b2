/* A program that confines itself with seccomp, as OpenSSH's
 * pre-authentication child, Chrome and libseccomp users do:
 *   sandboxed <prctl|seccomp|strict|vfork> [term]
 * waits on a mutex a thread holds for 20 ms (a recorded wait), then
 * installs a filter that allows only the system calls it makes itself
 * (read, write, futex, memory, signals to itself, exit; anything else
 * kills the process with SIGSYS) with prctl(PR_SET_SECCOMP) or
 * syscall(SYS_seccomp), or enters strict mode (read, write, exit and
 * sigreturn only). Then it locks and unlocks a mutex, prints sandboxed=1
 * and exits 0 with exit() (strict: the exit system call, which is all strict mode
 * allows), or with `term` raises SIGTERM, whose default action must end
 * it. Natively it does exactly that. vfork: only a vfork() child enters
 * strict mode and ends; the parent then makes a second contended wait,
 * prints sandboxed=1 and exits 0. inherited: a filter that kills the
 * process at mincore() and allows every other call, installed before an
 * exec of this program (`sandboxed filtered`), as systemd's
 * SystemCallFilter= is: the new image starts under it, makes a contended
 * wait while a thread sleeps in read() on a pipe, prints sandboxed=1 and
 * exits 0 (its exit dump walks the sleeping thread's stack). */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;


#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
		  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static struct sock_filter filter[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	ALLOW(SYS_read), ALLOW(SYS_write), ALLOW(SYS_futex), ALLOW(SYS_brk), ALLOW(SYS_mmap),
	ALLOW(SYS_munmap), ALLOW(SYS_mprotect), ALLOW(SYS_madvise), ALLOW(SYS_rt_sigreturn),
	ALLOW(SYS_rt_sigprocmask), ALLOW(SYS_getpid), ALLOW(SYS_gettid), ALLOW(SYS_tgkill),
	ALLOW(SYS_clock_gettime), ALLOW(SYS_exit), ALLOW(SYS_exit_group),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
};

/* Every call but mincore (systemd's @system-service set lacks it). */
static struct sock_filter no_mincore[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mincore, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

static int sleeper_pipe[2];
static int sleeper_tid;

static void
sleeper(void)
{
	__atomic_store_n(&sleeper_tid, self_tid(), __ATOMIC_RELEASE);
	char c;
	if (read(sleeper_pipe[0], &c, 1) != 0)
		die("sleeper read", 0);
}

/* The image started under the filter. */
static int
filtered(void)
{
	if (pipe(sleeper_pipe) != 0)
		die("pipe", 0);
	pthread_t t;
	start_named(&t, "sleeper", sleeper);
	contended_wait(&m, 20000);
	/* The exit dump must find the thread blocked in its read. */
	int tid;
	while (!(tid = __atomic_load_n(&sleeper_tid, __ATOMIC_ACQUIRE)) ||
	       !in_syscall(tid, SYS_read))
		sleep_us(1000);
	printf("sandboxed=1\n");
	exit(0);
}

int
main(int argc, char **argv)
{
	need_args(argc, 2, "sandboxed <prctl|seccomp|strict|vfork|inherited> [term]");
	bool term = argc > 2 && !strcmp(argv[2], "term");
	if (!strcmp(argv[1], "filtered"))
		return filtered();
	if (!strcmp(argv[1], "inherited")) {
		struct sock_fprog nm = {.len = sizeof(no_mincore) / sizeof(no_mincore[0]),
					.filter = no_mincore};
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &nm) != 0)
			die("seccomp", 0);
		execl("/proc/self/exe", argv[0], "filtered", (char *)NULL);
		die("exec", 0);
	}
	contended_wait(&m, 20000);
	fflush(stdout);

	if (!strcmp(argv[1], "vfork")) {
		/* Only a vfork() child confines itself (strict mode), then
		 * ends; the parent goes on unconfined and waits again. */
		pid_t p = vfork();
		if (p == 0) {
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
			    prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0) != 0)
				syscall(SYS_exit, 1);
			syscall(SYS_exit, 0);
		}
		int st;
		if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("vfork child", 0);
		contended_wait(&m, 20000);
		printf("sandboxed=1\n");
		exit(0);
	}
	struct sock_fprog prog = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};
	int r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		die("no_new_privs", 0);
	if (!strcmp(argv[1], "prctl"))
		r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
	else if (!strcmp(argv[1], "seccomp"))
		r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
	else if (!strcmp(argv[1], "strict"))
		r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0);
	else
		return 2;
	if (r != 0)
		die("seccomp", 0);
	MUST0(pthread_mutex_lock(&m));
	pthread_mutex_unlock(&m);
	static const char line[] = "sandboxed=1\n";
	if (write(1, line, sizeof(line) - 1) != (ssize_t)sizeof(line) - 1)
		syscall(SYS_exit, 1);
	if (term)
		raise(SIGTERM);
	if (!strcmp(argv[1], "strict"))
		syscall(SYS_exit, 0);
	exit(0);
}

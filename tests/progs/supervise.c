/* A supervising parent, as timeout(1), init-like launchers and shells
 * are: it waits for a child in a signal wait, or runs a command.
 *
 *   supervise sigsuspend|sigwaitinfo|sigtimedwait|sigwait|pause MS
 *       forks a child that spins MS ms (waiting in nothing we wrap) and
 *       waits for its SIGCHLD with that call, then reaps it; prints
 *       parent=<pid>. Writes nothing under the shim: it only waited for
 *       its child.
 *   supervise alone MS
 *       no child: sigsuspend until a SIGALRM MS ms later (a real signal
 *       wait, which is profiled); prints parent=<pid>.
 *   supervise plant DIR TARGET CMD [ARGS...]
 *       forks; before the child execs CMD (its pid stays the same), plants
 *       symbolic links to TARGET at the temporary names a profile writer
 *       could predict for that pid (DIR/.<file>.tmp.<pid>); prints
 *       child=<pid> and exits with the child's status.
 *   supervise exec CMD [ARGS...]
 *       execs CMD, so a command runs with the runner's environment. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "progs.h"

static volatile sig_atomic_t got;

static void
on_signal(int sig)
{
	got = sig;
}

static pid_t
spinning_child(long ms)
{
	pid_t pid = fork();
	if (pid == 0) {
		spin_ms(ms);
		_exit(0);
	}
	return pid;
}

static int
wait_for_child(const char *how, long ms)
{
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	set_handler(SIGCHLD, on_signal, 0);
	/* Blocked before the fork: the SIGCHLD cannot be missed. */
	sigprocmask(SIG_BLOCK, &chld, &old);
	pid_t pid = spinning_child(ms);
	if (pid < 0)
		return 1;
	if (!strcmp(how, "sigsuspend")) {
		while (!got)
			sigsuspend(&old);
	} else if (!strcmp(how, "sigwaitinfo")) {
		siginfo_t si;
		while (sigwaitinfo(&chld, &si) < 0 && errno == EINTR)
			;
	} else if (!strcmp(how, "sigtimedwait")) {
		siginfo_t si;
		struct timespec ts = {60, 0};
		while (sigtimedwait(&chld, &si, &ts) < 0 && errno == EINTR)
			;
	} else if (!strcmp(how, "sigwait")) {
		int sig;
		sigwait(&chld, &sig);
	} else if (!strcmp(how, "pause")) {
		/* pause() cannot unblock atomically: a 50 ms tick ends each
		 * pause, so a SIGCHLD that came just before one is seen. */
		struct sigaction tick = {.sa_handler = on_signal};
		sigemptyset(&tick.sa_mask);
		sigaction(SIGALRM, &tick, NULL);
		struct itimerval it = {{0, 50000}, {0, 50000}};
		setitimer(ITIMER_REAL, &it, NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		while (got != SIGCHLD && waitpid(pid, NULL, WNOHANG) == 0)
			pause();
		struct itimerval off = {{0, 0}, {0, 0}};
		setitimer(ITIMER_REAL, &off, NULL);
	} else {
		return 2;
	}
	int st;
	waitpid(pid, &st, 0);
	printf("parent=%d\n", (int)getpid());
	return 0;
}

static int
alone(long ms)
{
	sigset_t alrm, old;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	set_handler(SIGALRM, on_signal, 0);
	sigprocmask(SIG_BLOCK, &alrm, &old);
	struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
	setitimer(ITIMER_REAL, &it, NULL);
	while (!got)
		sigsuspend(&old);
	printf("parent=%d\n", (int)getpid());
	return 0;
}

static int
plant(char **argv)
{
	const char *dir = argv[0], *target = argv[1];
	int go[2];
	if (pipe(go) != 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		char b;
		close(go[1]);
		if (read(go[0], &b, 1) != 1)
			_exit(126);
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	close(go[0]);
	static const char *const files[] = {"mutex.pb.gz", "block.pb.gz", "threads.txt",
					    "threads.pb.gz", "threadcreate.pb.gz"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char link[4096];
		snprintf(link, sizeof(link), "%s/.%s.tmp.%d", dir, files[i], (int)pid);
		if (symlink(target, link) != 0) {
			perror(link);
			return 1;
		}
	}
	printf("child=%d\n", (int)pid);
	fflush(stdout);
	if (write(go[1], "g", 1) != 1)
		return 1;
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "alone"))
		return alone(atol(argv[2]));
	if (argc >= 5 && !strcmp(argv[1], "plant"))
		return plant(argv + 2);
	if (argc >= 3 && !strcmp(argv[1], "exec")) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		return 127;
	}
	if (argc >= 3) {
		int r = wait_for_child(argv[1], atol(argv[2]));
		if (r != 2)
			return r;
	}
	fprintf(stderr, "usage: supervise sigsuspend|sigwaitinfo|sigtimedwait|sigwait|pause|alone MS\n"
			"       supervise plant DIR TARGET CMD [ARGS...] | exec CMD [ARGS...]\n");
	return 2;
}

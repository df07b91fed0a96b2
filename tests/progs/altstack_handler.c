/* Signals handled on a small alternate signal stack, as Python's
 * faulthandler, Go's runtime and Rust's std set one up:
 *   altstack_handler <crash|term|exit|abort> [bytes]
 * makes one recorded wait (a mutex a thread holds for 20 ms, then joined:
 * the process is single-threaded afterwards), sets an alternate stack of
 * bytes (default 16 KiB; for abort, Rust's 8 KiB, SIGSTKSZ, or room for
 * two of the kernel's signal frames and 2 KiB where those are bigger)
 * with an unmapped page below it, so that running off its end faults
 * rather than writing over other memory, then:
 *   crash  installs a SIGSEGV handler (SA_ONSTACK | SA_NODEFER) that puts
 *          back the action it replaced and raises the signal again from
 *          inside the handler, as faulthandler does, and faults: dies of
 *          SIGSEGV
 *   term   raises SIGTERM, left at its default action: dies of SIGTERM
 *   exit   installs a SIGALRM handler (SA_ONSTACK) that calls exit(3) and
 *          spins in its own code until a 20 ms timer fires: exits 3
 *   abort  installs a SIGUSR1 handler (SA_ONSTACK) that calls abort(), as
 *          Rust's does on a stack overflow, and raises SIGUSR1: dies of
 *          SIGABRT
 * Natively: that death or status, and nothing on stderr. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction previous;
static volatile int *volatile nowhere;

static void
on_segv(int sig)
{
	sigaction(sig, &previous, NULL);
	raise(sig);
}

static void
on_usr1(int sig)
{
	(void)sig;
	abort();
}

static void
on_alarm(int sig)
{
	(void)sig;
	exit(3);
}

static NOINLINE void
spin_until_alarm(void)
{
	for (volatile unsigned long i = 0;; i++) {
	}
}

static void
small_altstack(size_t bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	bytes = (bytes + page - 1) / page * page;
	char *map = mmap(NULL, bytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	if (map == MAP_FAILED || mprotect(map, page, PROT_NONE) != 0)
		die("mmap", 0);
	stack_t ss = {.ss_sp = map + page, .ss_size = bytes};
	if (sigaltstack(&ss, NULL) != 0)
		die("sigaltstack", 0);
}

int
main(int argc, char **argv)
{
	need_args(argc, 2, "altstack_handler <crash|term|exit|abort> [bytes]");
	contended_wait(&m, 20000);
	bool aborts = !strcmp(argv[1], "abort");
	/* The kernel's signal frame (AT_MINSIGSTKSZ: 3376 bytes with
	 * AVX-512): abort() from the handler adds ours below the first. */
	unsigned long frame = getauxval(AT_MINSIGSTKSZ);
	long dflt = !aborts ? 16384 : frame <= 3584 ? 8192 : (long)(2 * frame + 2048);
	small_altstack((size_t)arg_long(argc, argv, 2, dflt));
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	if (!strcmp(argv[1], "crash")) {
		sa.sa_handler = on_segv;
		sa.sa_flags = SA_ONSTACK | SA_NODEFER;
		if (sigaction(SIGSEGV, &sa, &previous) != 0)
			die("sigaction", 0);
		*nowhere = 1;
	} else if (aborts) {
		sa.sa_handler = on_usr1;
		sa.sa_flags = SA_ONSTACK;
		if (sigaction(SIGUSR1, &sa, NULL) != 0)
			die("sigaction", 0);
		raise(SIGUSR1);
	} else if (!strcmp(argv[1], "term")) {
		raise(SIGTERM);
	} else if (!strcmp(argv[1], "exit")) {
		sa.sa_handler = on_alarm;
		sa.sa_flags = SA_ONSTACK;
		if (sigaction(SIGALRM, &sa, NULL) != 0)
			die("sigaction", 0);
		struct itimerval it = {.it_value = {0, 20000}};
		if (setitimer(ITIMER_REAL, &it, NULL) != 0)
			die("setitimer", 0);
		spin_until_alarm();
	}
	return 2;
}

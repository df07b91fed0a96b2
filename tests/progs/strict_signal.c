/* A strict ISO C program (built with -std=c11 and only _XOPEN_SOURCE):
 * glibc's <signal.h> then maps signal() to __sysv_signal, and sigset() is
 * available. Whatever the shim does for SIGINT/SIGTERM, such a program
 * must see what it would see without it: signal()/sigset() return SIG_DFL
 * for a signal it never touched, and sigaction() reports the handler it
 * installed. Prints each result; exit 1 with FAIL lines otherwise. */
#undef _GNU_SOURCE
#define _XOPEN_SOURCE 700
#include <signal.h>
#include <stdio.h>
#include <string.h>

static int failures;
static volatile sig_atomic_t got;

static void
on_signal(int sig)
{
	got = sig;
}

static void
check(int ok, const char *what)
{
	printf("%s: %s\n", what, ok ? "yes" : "no");
	if (!ok) {
		failures++;
		fprintf(stderr, "FAIL: %s\n", what);
	}
}

static int
reports_handler(int sig)
{
	struct sigaction old;
	memset(&old, 0, sizeof(old));
	return sigaction(sig, NULL, &old) == 0 && old.sa_handler == on_signal;
}

int
main(void)
{
	check(signal(SIGTERM, on_signal) == SIG_DFL, "signal(SIGTERM) returned SIG_DFL");
	check(reports_handler(SIGTERM), "sigaction reports the SIGTERM handler");
	check(raise(SIGTERM) == 0 && got == SIGTERM, "the SIGTERM handler ran");

	check(sigset(SIGINT, on_signal) == SIG_DFL, "sigset(SIGINT) returned SIG_DFL");
	check(reports_handler(SIGINT), "sigaction reports the SIGINT handler");
	got = 0;
	check(raise(SIGINT) == 0 && got == SIGINT, "the SIGINT handler ran");
	return failures ? 1 : 0;
}

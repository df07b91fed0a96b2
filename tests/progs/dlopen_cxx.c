/* dlopen_cxx LIB: a C program (no C++ runtime of its own) that contends on
 * a mutex, asks for a live snapshot (CONTEND_DUMP_SIGNAL=SIGUSR2: the shim
 * loads its report library then, before any C++ runtime is in the
 * process) and waits for its thread dump in $CONTEND_OUT, then loads LIB
 * (tests/progs/cxx_plugin_lib.cc, which brings libstdc++) and contends in
 * its C++ code, and exits: the final profiles should name the C++ frames
 * demangled. Exit status 0, 2 if the snapshot never came or LIB did not
 * load. */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *
hold(void *arg)
{
	pthread_mutex_lock(&m);
	sleep_us(30000);
	pthread_mutex_unlock(&m);
	return arg;
}

int
main(int argc, char **argv)
{
	const char *out = getenv("CONTEND_OUT");
	if (argc < 2 || !out)
		return 2;
	pthread_t t;
	pthread_create(&t, NULL, hold, NULL);
	sleep_us(10000);
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
	pthread_join(t, NULL);

	char snap[4096];
	snprintf(snap, sizeof(snap), "%s/threads.0001.txt", out);
	raise(SIGUSR2);
	int ms = 0;
	while (access(snap, F_OK) != 0 && ms++ < 60000)
		sleep_us(1000);
	if (access(snap, F_OK) != 0)
		return 2;

	void *h = dlopen(argv[1], RTLD_NOW);
	void (*contend)(void) = h ? (void (*)(void))dlsym(h, "cxx_plugin_contend") : NULL;
	if (!contend)
		return 2;
	contend();
	return 0;
}

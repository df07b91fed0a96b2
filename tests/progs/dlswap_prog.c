/* Loads libdlswap_a.so, waits on a mutex from it `rounds` times, unloads
 * it (dlclose), then does the same with libdlswap_b.so, which the loader
 * most likely maps where A was, and keeps B loaded to the end. Each wait is certain: a holder thread
 * keeps the mutex until this thread is seen asleep in pthread_mutex_lock
 * (/proc/self/task/<tid>/stat). Prints base_a=, base_b= (load biases),
 * reused=1 when B took A's address, unloaded_a=1 when A was really
 * unmapped.
 *   dlswap_prog <libdlswap_a.so> <libdlswap_b.so> [rounds] */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int armed, held, waiter_tid;

static void *
holder(void *arg)
{
	(void)arg;
	MUST0(pthread_mutex_lock(&m));
	__atomic_store_n(&held, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&armed, __ATOMIC_SEQ_CST))
		sleep_us(500);
	for (int64_t t0 = now_ns(); task_state(0, waiter_tid) != 'S';) {
		if (now_ns() - t0 > 60000000000LL)
			die("waiter never blocked", ETIMEDOUT);
		sleep_us(500);
	}
	sleep_us(5000);
	MUST0(pthread_mutex_unlock(&m));
	return NULL;
}

static uintptr_t
run_lib(const char *path, int rounds, int unload)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "SETUP: dlopen: %s\n", dlerror());
		_exit(99);
	}
	void (*run)(pthread_mutex_t *, int *);
	*(void **)&run = dlsym(h, "dlswap_run");
	struct link_map *lm = NULL;
	if (!run || dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0) {
		fprintf(stderr, "SETUP: dlsym/dlinfo: %s\n", dlerror());
		_exit(99);
	}
	uintptr_t base = (uintptr_t)lm->l_addr;
	for (int i = 0; i < rounds; i++) {
		armed = held = 0;
		pthread_t t;
		XPT(pthread_create(&t, NULL, holder, NULL));
		while (!__atomic_load_n(&held, __ATOMIC_SEQ_CST))
			sleep_us(500);
		run(&m, &armed);
		XPT(pthread_join(t, NULL));
	}
	if (unload)
		CHECK_EQ(dlclose(h), 0);
	return base;
}

int
main(int argc, char **argv)
{
	need_args(argc, 3, "dlswap_prog <libdlswap_a.so> <libdlswap_b.so> [rounds]");
	int rounds = (int)arg_long(argc, argv, 3, 3);
	waiter_tid = (int)syscall(SYS_gettid);
	uintptr_t a = run_lib(argv[1], rounds, 1);
	void *again = dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD);
	printf("unloaded_a=%d\n", again == NULL);
	if (again)
		dlclose(again);
	uintptr_t b = run_lib(argv[2], rounds, 0); /* stays loaded */
	printf("base_a=%#lx\nbase_b=%#lx\nreused=%d\n", (unsigned long)a, (unsigned long)b, a == b);
	return check_status();
}

/* Loads libdl_hold.so (path in argv[1]) with dlopen() after the shim has
 * started and runs the holder/waiters scenario with its functions
 * (dl_hold_and_sleep, dl_waiter_lock); the library stays loaded.
 *   dlopen_prog <path of libdl_hold.so> [waiters] [hold_us] [rounds] */
#include <dlfcn.h>
#include <stdio.h>

#include "progs.h"

int
main(int argc, char **argv)
{
	need_args(argc, 2, "dlopen_prog <libdl_hold.so> [waiters] [hold_us] [rounds]");
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "SETUP: dlopen: %s\n", dlerror());
		return 99;
	}
	struct scenario s = {0};
	*(void **)&s.hold = dlsym(h, "dl_hold_and_sleep");
	*(void **)&s.wait = dlsym(h, "dl_waiter_lock");
	if (!s.hold || !s.wait) {
		fprintf(stderr, "SETUP: dlsym: %s\n", dlerror());
		return 99;
	}
	scenario_args(&s, argc, argv, 2);
	scenario_run(&s);
	return 0;
}

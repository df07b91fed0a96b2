// libcxxplugin.so: C++ code a C program loads with dlopen (a C server's
// C++ module). cxx_plugin_contend() holds a mutex in a namespaced C++
// function until another thread is blocked on it (its futex wait, read
// from /proc/self/task/TID/syscall: no timing), so the holder's unlock
// stack in the mutex profile has a C++ frame: cxxplug::hold_briefly().
// It uses the C++ runtime (operator new), so loading it loads libstdc++.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <string>

namespace cxxplug {
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int waiter_tid;

static bool
blocked_in_futex(int tid)
{
	char path[64], buf[32];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	bool in = fgets(buf, sizeof(buf), f) && strtol(buf, nullptr, 10) == SYS_futex;
	fclose(f);
	return in;
}

__attribute__((noinline)) void
hold_briefly()
{
	std::string *held = new std::string(40, 'x'); // libstdc++'s operator new
	struct timespec ms = {0, 1000 * 1000};
	for (int i = 0; i < 30000; i++) {
		int tid = __atomic_load_n(&waiter_tid, __ATOMIC_SEQ_CST);
		if (tid && blocked_in_futex(tid))
			break;
		nanosleep(&ms, nullptr);
	}
	delete held;
	pthread_mutex_unlock(&m);
}

static void *
waiter(void *)
{
	__atomic_store_n(&waiter_tid, (int)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
	return nullptr;
}
} // namespace cxxplug

extern "C" void
cxx_plugin_contend(void)
{
	pthread_t t;
	pthread_mutex_lock(&cxxplug::m);
	pthread_create(&t, nullptr, cxxplug::waiter, nullptr);
	cxxplug::hold_briefly();
	pthread_join(t, nullptr);
}

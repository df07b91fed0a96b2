// libcxxplugin.so: C++ code a C program loads with dlopen (a C server's
// C++ module). cxx_plugin_contend() holds a mutex in a namespaced C++
// function while another thread waits for it, so the holder's unlock
// stack in the mutex profile has a C++ frame: cxxplug::hold_briefly().
// It uses the C++ runtime (operator new), so loading it loads libstdc++.
#include <pthread.h>
#include <time.h>

#include <string>

namespace cxxplug {
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) void
hold_briefly()
{
	pthread_mutex_lock(&m);
	std::string *held = new std::string(40, 'x'); // libstdc++'s operator new
	struct timespec ts = {0, 50 * 1000 * 1000 + (long)held->size()};
	delete held;
	nanosleep(&ts, nullptr);
	pthread_mutex_unlock(&m);
}

static void *
waiter(void *)
{
	struct timespec ts = {0, 10 * 1000 * 1000};
	nanosleep(&ts, nullptr);
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
	return nullptr;
}
} // namespace cxxplug

extern "C" void
cxx_plugin_contend(void)
{
	pthread_t t;
	pthread_create(&t, nullptr, cxxplug::waiter, nullptr);
	cxxplug::hold_briefly();
	pthread_join(t, nullptr);
}

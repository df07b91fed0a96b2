/* A preloadable allocator that takes a pthread mutex around every call,
 * like many real allocators and malloc debuggers, and forwards to glibc's
 * __libc_* functions. Preloaded together with libcontend (in either
 * order), the shim meets a pthread_mutex_lock from inside malloc: while
 * dlsym resolves its symbols, while a stack is captured, while the report
 * is written. The program must run and be profiled as usual.
 *
 * It also counts allocator calls made from inside an allocator call of the
 * same thread (libunwind's Gtest-nomalloc check): the shim records the
 * waits for this allocator's lock, and the wakeups at its unlock, while
 * the thread is inside malloc, so a nested call is the shim allocating
 * while it records. Such a call is served without the lock (which this
 * thread holds) and reported at exit as "lockmalloc: nested=<n>" on
 * stderr.
 *
 * lockmalloc_hold(then) takes the allocator's lock, calls then(), and
 * keeps the lock until some thread has blocked on it, plus 20 ms: waits
 * inside malloc by construction. While it holds the lock it also makes
 * the other kinds of wrapped waits (a sleep, a poll, a timed-out condition
 * wait, semaphore wait and read), which the shim records with a stack
 * while this thread counts as inside the allocator. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t a, size_t n);
extern void __libc_free(void *p);

void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);
void *memalign(size_t a, size_t n);
int posix_memalign(void **out, size_t a, size_t n);
void *aligned_alloc(size_t a, size_t n);
void free(void *p);

static pthread_mutex_t heap_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int in_alloc __attribute__((tls_model("initial-exec")));
static long nested;

#define LOCKED(type, call)                                                   \
	do {                                                                 \
		if (in_alloc) {                                              \
			__atomic_fetch_add(&nested, 1, __ATOMIC_RELAXED);    \
			return call;                                         \
		}                                                            \
		in_alloc = 1;                                                \
		pthread_mutex_lock(&heap_lock);                              \
		type r_ = call;                                              \
		pthread_mutex_unlock(&heap_lock);                            \
		in_alloc = 0;                                                \
		return r_;                                                   \
	} while (0)

static long
mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

void lockmalloc_hold(void (*then)(void));

/* Waits of every other kind, each about 1 ms, none of which allocates in
 * glibc. */
static void
other_waits(void)
{
	struct timespec ms = {0, 1000000};
	nanosleep(&ms, NULL);
	poll(NULL, 0, 1);
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c = PTHREAD_COND_INITIALIZER;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&m);
	while (pthread_cond_timedwait(&c, &m, &until) == 0)
		;
	pthread_mutex_unlock(&m);
	sem_t sem;
	sem_init(&sem, 0, 0);
	while (sem_timedwait(&sem, &until) != 0 && errno == EINTR)
		;
	sem_destroy(&sem);
	int p[2];
	if (pipe(p) == 0) {
		char x = 1;
		struct pollfd pf = {p[0], POLLIN, 0};
		if (write(p[1], &x, 1) == 1 && poll(&pf, 1, 1) == 1 && read(p[0], &x, 1) == 1) {
			close(p[0]);
			close(p[1]);
		}
	}
}

void
lockmalloc_hold(void (*then)(void))
{
	in_alloc = 1;
	pthread_mutex_lock(&heap_lock);
	then();
	other_waits();
	/* glibc's lock word is 2 once a thread sleeps on it. */
	long give_up = mono_ns() + 10000000000L;
	while (__atomic_load_n(&heap_lock.__data.__lock, __ATOMIC_RELAXED) != 2 &&
	       mono_ns() < give_up)
		;
	long until = mono_ns() + 20000000L;
	while (mono_ns() < until)
		;
	pthread_mutex_unlock(&heap_lock);
	in_alloc = 0;
}

__attribute__((destructor)) static void
report_nested(void)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "lockmalloc: nested=%ld\n",
			 __atomic_load_n(&nested, __ATOMIC_RELAXED));
	if (write(2, buf, (size_t)n) < 0)
		return;
}

void *
malloc(size_t n)
{
	LOCKED(void *, __libc_malloc(n));
}

void *
calloc(size_t n, size_t m)
{
	LOCKED(void *, __libc_calloc(n, m));
}

void *
realloc(void *p, size_t n)
{
	LOCKED(void *, __libc_realloc(p, n));
}

void *
memalign(size_t a, size_t n)
{
	LOCKED(void *, __libc_memalign(a, n));
}

void *
aligned_alloc(size_t a, size_t n)
{
	return memalign(a, n);
}

int
posix_memalign(void **out, size_t a, size_t n)
{
	void *p = memalign(a, n);
	if (!p)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

void
free(void *p)
{
	if (in_alloc) {
		__atomic_fetch_add(&nested, 1, __ATOMIC_RELAXED);
		__libc_free(p);
		return;
	}
	in_alloc = 1;
	pthread_mutex_lock(&heap_lock);
	__libc_free(p);
	pthread_mutex_unlock(&heap_lock);
	in_alloc = 0;
}

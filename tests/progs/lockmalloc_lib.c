/* A preloadable allocator that takes a pthread mutex around every call,
 * like many real allocators and malloc debuggers, and forwards to glibc's
 * __libc_* functions. Preloaded together with libcontend (in either
 * order), the shim meets a pthread_mutex_lock from inside malloc: while
 * dlsym resolves its symbols, while libunwind captures a stack, while the
 * report is written. The program must run and be profiled as usual. */
#include <pthread.h>
#include <stddef.h>

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

#define LOCKED(type, call)                          \
	do {                                        \
		pthread_mutex_lock(&heap_lock);     \
		type r_ = call;                     \
		pthread_mutex_unlock(&heap_lock);   \
		return r_;                          \
	} while (0)

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
	pthread_mutex_lock(&heap_lock);
	__libc_free(p);
	pthread_mutex_unlock(&heap_lock);
}

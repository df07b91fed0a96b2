/* A preloaded allocator wrapper that counts the allocations made while
 * the program says it is inside a signal handler (countmalloc_flag set):
 * the shim must make none on behalf of a wrapper called there (as
 * libunwind's Gtest-nomalloc checks its own unwinder). Forwards to glibc's
 * __libc_* entry points; not thread-aware beyond the atomic counter. */
#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t k);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t a, size_t n);
void __libc_free(void *p);

volatile int countmalloc_flag;
long countmalloc_in_handler;

static void
count(void)
{
	if (countmalloc_flag)
		__atomic_fetch_add(&countmalloc_in_handler, 1, __ATOMIC_RELAXED);
}

void *
malloc(size_t n)
{
	count();
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t k)
{
	count();
	return __libc_calloc(n, k);
}

void *
realloc(void *p, size_t n)
{
	count();
	return __libc_realloc(p, n);
}

void *
memalign(size_t a, size_t n)
{
	count();
	return __libc_memalign(a, n);
}

int
posix_memalign(void **out, size_t a, size_t n)
{
	count();
	void *p = __libc_memalign(a, n);
	if (!p)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

void *
aligned_alloc(size_t a, size_t n)
{
	count();
	return __libc_memalign(a, n);
}

void
free(void *p)
{
	__libc_free(p);
}

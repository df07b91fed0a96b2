/* The allocation calls of a shared object's own code (scratch.h): linked
 * with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free
 * (core/meson.build), so that each of those calls made by the objects of
 * libcontend.so or libcontend-report.so comes here; __real_* is the C
 * library's. Without a scratch heap in use, a call
 * costs one load and a branch more. Thread-safety, signal safety: those
 * of the C library's functions, except while a scratch heap is in use
 * (scratch.h: one thread only). */
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "scratch.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t k);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t k);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

void *
__wrap_malloc(size_t n)
{
	struct ct_scratch *s = ct_scratch_current();
	if (CT_LIKELY(!s))
		return __real_malloc(n);
	void *p = ct_scratch_alloc(s, n, false);
	return p ? p : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t k)
{
	struct ct_scratch *s = ct_scratch_current();
	size_t bytes;
	if (CT_LIKELY(!s) || __builtin_mul_overflow(n, k, &bytes))
		return __real_calloc(n, k);
	void *p = ct_scratch_alloc(s, bytes, true);
	return p ? p : __real_calloc(n, k);
}

/* Whether p is a block of a scratch heap no longer in use. */
static bool
ct_sc_stale(const void *p)
{
	struct ct_scratch *last = ct_scratch_last();
	return CT_UNLIKELY(last != NULL) && ct_scratch_owns(last, p);
}

void
__wrap_free(void *p)
{
	struct ct_scratch *s = ct_scratch_current();
	if (CT_LIKELY(!s)) {
		if (!ct_sc_stale(p))
			__real_free(p);
		return;
	}
	/* A chunk of the C library's heap is left alone: see scratch.h. */
	if (p && ct_scratch_owns(s, p))
		ct_scratch_release(s, p);
}

void *
__wrap_realloc(void *p, size_t n)
{
	struct ct_scratch *s = ct_scratch_current();
	if (CT_LIKELY(!s)) {
		if (!ct_sc_stale(p))
			return __real_realloc(p, n);
		void *q = n ? __real_malloc(n) : NULL;
		if (q)
			memcpy(q, p, ct_scratch_block_size(p) < n ? ct_scratch_block_size(p) : n);
		return q;
	}
	if (!p)
		return __wrap_malloc(n);
	if (n == 0) { /* as glibc's: frees p */
		__wrap_free(p);
		return NULL;
	}
	void *q;
	if (ct_scratch_owns(s, p)) {
		q = ct_scratch_resize(s, p, n);
		if (!q && (q = __real_malloc(n)))
			memcpy(q, p, ct_scratch_block_size(p) < n ? ct_scratch_block_size(p) : n);
		return q;
	}
	/* Copied out of the C library's heap, whose chunk stays as it is. */
	q = ct_scratch_alloc(s, n, false);
	if (!q)
		return __real_realloc(p, n);
	size_t had = malloc_usable_size(p);
	memcpy(q, p, had < n ? had : n);
	return q;
}

/* Growable arrays for report/: one helper instead of a realloc dance in
 * every builder, and one to free a builder's arrays. Header-only; no
 * state. */
#ifndef CT_VEC_H
#define CT_VEC_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* Makes room for at least need elements of size elsz in *arr (capacity
 * *cap, in elements), doubling so that appends are amortized O(1).
 * Returns 0 or -ENOMEM; on failure *arr and *cap are unchanged. */
static inline int
ct_vec_reserve(void *arr, size_t *cap, size_t need, size_t elsz)
{
	void **p = arr;
	size_t ncap = *cap ? *cap : 16;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / elsz)
		return -ENOMEM;
	np = realloc(*p, ncap * elsz);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

/* Frees each of the n pointers (NULL ones included, as free does). */
static inline void
ct_free_each(void *const *ptrs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ptrs[i]);
}

/* CT_FREE_ALL(p->a, p->b, ...): free() of each argument, in order: a
 * struct's arrays released in one statement rather than a line each. */
#define CT_FREE_ALL(...)                                                     \
	ct_free_each((void *const[]){__VA_ARGS__},                           \
		     sizeof((void *const[]){__VA_ARGS__}) / sizeof(void *))

#endif

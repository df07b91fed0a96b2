/* The scratch heap (scratch.h): blocks cut from one anonymous mapping in
 * order, freed blocks kept on lists by size class and handed out again
 * (as malloc would: a dump encodes its profiles one after another with
 * buffers of the same sizes, so it keeps touching the same few pages).
 * No coalescing: the heap lives for one dump. The wrappers that route a
 * shared object's own allocation calls here are in scratch_wrap.c. Not
 * thread-safe; no lock. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "compiler.h"
#include "scratch.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* Each block starts with the size asked for and its span (header
 * included), so that realloc can copy it and free can file it; 16 bytes
 * keep the blocks aligned as malloc's are. A free block's first word
 * links it to the next free one of its class. */
#define CT_SC_HDR 16
#define CT_SC_MIN_SPAN 32

struct ct_sc_head {
	size_t size, span;
};
_Static_assert(sizeof(struct ct_sc_head) == CT_SC_HDR, "the header");

/* Set by a fork child's exit dump: on the pages it writes anyway. */
static struct ct_scratch *ct_sc_now CT_FORK_HOT;
/* The last one used: its blocks may still be given to free or realloc. */
static struct ct_scratch *ct_sc_last CT_FORK_HOT;

/* The scratch heap is opened for reading and writing this much at a time
 * as it fills (a PostgreSQL backend's dump takes about 8 pages). */
#define CT_SC_OPEN_STEP (256u << 10)

/* Whether [lo, end) is open for use, opening more if not: false when
 * that fails (the commit limit), and the caller falls back to the C
 * library. */
static bool
ct_sc_room(struct ct_scratch *s, const char *end)
{
	if (end <= s->open)
		return true;
	size_t want = ((size_t)(end - s->lo) + CT_SC_OPEN_STEP - 1) / CT_SC_OPEN_STEP * CT_SC_OPEN_STEP;
	char *to = want < (size_t)(s->hi - s->lo) ? s->lo + want : s->hi;
	if (mprotect(s->open, (size_t)(to - s->open), PROT_READ | PROT_WRITE) != 0)
		return false;
	s->open = to;
	return true;
}

int
ct_scratch_open(struct ct_scratch *s, size_t reserve, size_t populate)
{
	/* No access until opened (ct_sc_room): under strict overcommit
	 * (vm.overcommit_memory=2) MAP_NORESERVE is ignored, and a 64 MiB
	 * writable mapping was charged whole to every exiting fork child. */
	char *p = mmap(NULL, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	memset(s, 0, sizeof(*s));
	s->lo = s->cur = s->top = s->open = p;
	s->hi = p + reserve;
	if (populate && !ct_sc_room(s, p + (populate < reserve ? populate : reserve))) {
		munmap(p, reserve);
		memset(s, 0, sizeof(*s));
		return -ENOMEM;
	}
	/* Older kernels say EINVAL: the pages then come one fault each. */
	if (populate)
		(void)madvise(p, populate < reserve ? populate : reserve, MADV_POPULATE_WRITE);
	return 0;
}

void
ct_scratch_use(struct ct_scratch *s)
{
	if (s)
		ct_sc_last = s;
	ct_sc_now = s;
}

struct ct_scratch *
ct_scratch_current(void)
{
	return ct_sc_now;
}

struct ct_scratch *
ct_scratch_last(void)
{
	return ct_sc_last;
}

bool
ct_scratch_owns(const struct ct_scratch *s, const void *p)
{
	return (const char *)p >= s->lo && (const char *)p < s->hi;
}

static struct ct_sc_head *
ct_sc_head(const void *p)
{
	return (struct ct_sc_head *)((char *)p - CT_SC_HDR);
}

/* The span of a block of n bytes; 0 when it cannot be one. */
static size_t
ct_sc_span(size_t n)
{
	if (n > SIZE_MAX / 2)
		return 0;
	size_t span = CT_SC_HDR + ((n + 15) & ~(size_t)15);
	return span < CT_SC_MIN_SPAN ? CT_SC_MIN_SPAN : span;
}

/* Class c holds the free blocks whose span is in [2^c, 2^(c+1)). */
static unsigned
ct_sc_class(size_t span)
{
	unsigned c = 63 - (unsigned)__builtin_clzll((unsigned long long)span);
	return c < CT_SCRATCH_CLASSES ? c : CT_SCRATCH_CLASSES - 1;
}

/* A free block of at least span bytes, off its list; NULL if none. Looks
 * at a few of its own class, then takes the first of a larger one. */
static struct ct_sc_head *
ct_sc_reuse(struct ct_scratch *s, size_t span)
{
	unsigned c = ct_sc_class(span);
	void **link = &s->free[c];
	for (int i = 0; *link && i < 4; i++) {
		struct ct_sc_head *h = ct_sc_head(*link);
		if (h->span >= span) {
			*link = *(void **)*link;
			return h;
		}
		link = (void **)*link;
	}
	for (unsigned k = c + 1; k < CT_SCRATCH_CLASSES; k++)
		if (s->free[k]) {
			void *p = s->free[k];
			s->free[k] = *(void **)p;
			return ct_sc_head(p);
		}
	return NULL;
}

void *
ct_scratch_alloc(struct ct_scratch *s, size_t n, bool zero)
{
	size_t span = ct_sc_span(n);
	if (!span)
		return NULL;
	struct ct_sc_head *h = ct_sc_reuse(s, span);
	if (!h) {
		if (span > (size_t)(s->hi - s->cur) || !ct_sc_room(s, s->cur + span))
			return NULL;
		h = (struct ct_sc_head *)s->cur;
		s->cur += span;
		h->span = span;
	}
	char *p = (char *)h + CT_SC_HDR;
	/* At or past top every byte is still the mapping's zero. */
	if (zero && p < s->top)
		memset(p, 0, (size_t)(s->top - p) < n ? (size_t)(s->top - p) : n);
	if (s->cur > s->top)
		s->top = s->cur;
	h->size = n;
	return p;
}

void
ct_scratch_release(struct ct_scratch *s, void *p)
{
	struct ct_sc_head *h = ct_sc_head(p);
	if ((char *)h + h->span == s->cur) {
		s->cur = (char *)h;
		return;
	}
	unsigned c = ct_sc_class(h->span);
	*(void **)p = s->free[c];
	s->free[c] = p;
}

void *
ct_scratch_resize(struct ct_scratch *s, void *p, size_t n)
{
	struct ct_sc_head *h = ct_sc_head(p);
	size_t span = ct_sc_span(n);
	if (!span)
		return NULL;
	if (span <= h->span) { /* it fits where it is */
		h->size = n;
		return p;
	}
	if ((char *)h + h->span == s->cur) { /* the last block grows in place */
		if (span - h->span > (size_t)(s->hi - s->cur) || !ct_sc_room(s, (char *)h + span))
			return NULL;
		s->cur = (char *)h + span;
		if (s->cur > s->top)
			s->top = s->cur;
		h->span = span;
		h->size = n;
		return p;
	}
	size_t old = h->size;
	void *q = ct_scratch_alloc(s, n, false);
	if (q) {
		memcpy(q, p, old < n ? old : n);
		ct_scratch_release(s, p);
	}
	return q;
}

size_t
ct_scratch_block_size(const void *p)
{
	return ct_sc_head(p)->size;
}

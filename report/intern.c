/* Key interning (see intern.h): an open-addressing index over an
 * append-only entry array, with keys copied into a chunked arena so their
 * addresses never change. Never shrinks; freed all at once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"
#include "vec.h"

/* The first chunk is small, each next one twice the last, up to
 * CT_INTERN_CHUNK: a big profile needs a handful of chunks, and a fork
 * child's small ones (a few hundred bytes of names each) touch one page
 * per table rather than leaving 64 KiB holes between the dump's other
 * allocations, spread over more pages. */
#define CT_INTERN_CHUNK (64 * 1024)
#define CT_INTERN_FIRST_CHUNK 2048

struct ct_intern_chunk {
	struct ct_intern_chunk *next;
	size_t used, size;
	char data[];
};

void
ct_intern_init(struct ct_intern *t)
{
	memset(t, 0, sizeof(*t));
}

/* FNV-1a, then a final mix so low bits (the slot index) depend on all
 * input bytes; keys are short so speed is not the issue. */
static uint64_t
intern_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static char *
intern_copy(struct ct_intern *t, const void *key, size_t len)
{
	struct ct_intern_chunk *c = t->chunks;
	size_t need = len + 1;
	char *p;

	if (!c || c->size - c->used < need) {
		size_t size = !c ? CT_INTERN_FIRST_CHUNK - sizeof(*c) :
				   c->size >= CT_INTERN_CHUNK / 2 ? CT_INTERN_CHUNK : 2 * c->size;

		if (size < need)
			size = need;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->used = 0;
		c->next = t->chunks;
		t->chunks = c;
	}
	p = c->data + c->used;
	c->used += need;
	if (len)
		memcpy(p, key, len);
	p[len] = '\0';
	return p;
}

/* Slot of slots[0..nslots) where key lives, or the empty slot where it
 * would go. */
static size_t
intern_probe(const struct ct_intern *t, const uint32_t *slots, size_t nslots, const void *key,
	     size_t len, uint64_t h)
{
	size_t mask = nslots - 1;
	size_t i = h & mask;

	for (;;) {
		uint32_t s = slots[i];
		const struct ct_intern_ent *e;

		if (s == 0)
			return i;
		e = &t->ents[s - 1];
		if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
			return i;
		i = (i + 1) & mask;
	}
}

/* The index keys are added to now: slots, or lslots once frozen. */
static uint32_t **
intern_live(struct ct_intern *t, size_t **nslots, size_t *first)
{
	*nslots = t->frozen ? &t->nlslots : &t->nslots;
	*first = t->frozen ? t->nfrozen : 0;
	return t->frozen ? &t->lslots : &t->slots;
}

/* Moves the entries of the live index (from *first on) to one of nslots
 * (a power of two, more than twice those entries). */
static int
intern_rehash(struct ct_intern *t, size_t nslots)
{
	size_t *nlive, first;
	uint32_t **live = intern_live(t, &nlive, &first), *slots;

	if (nslots > UINT32_MAX)
		return -ENOMEM;
	slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = first; i < t->n; i++) {
		size_t j = t->ents[i].hash & (nslots - 1);

		while (slots[j])
			j = (j + 1) & (nslots - 1);
		slots[j] = (uint32_t)(i + 1);
	}
	free(*live);
	*live = slots;
	*nlive = nslots;
	return 0;
}

/* Keeps the load factor at or below 1/2 so probes stay short. */
static int
intern_grow(struct ct_intern *t)
{
	size_t *nlive, first;

	intern_live(t, &nlive, &first);
	if (t->n - first + 1 <= *nlive / 2)
		return 0;
	return intern_rehash(t, *nlive ? *nlive * 2 : 64);
}

int
ct_intern_reserve(struct ct_intern *t, size_t extra)
{
	size_t *nlive, first;
	intern_live(t, &nlive, &first);
	size_t need = t->n + extra, nslots = *nlive ? *nlive : 64;
	int err;

	if (need < t->n)
		return -ENOMEM;
	while (need - first > nslots / 2) {
		if (nslots > UINT32_MAX / 2)
			return -ENOMEM;
		nslots *= 2;
	}
	if (nslots > *nlive && (err = intern_rehash(t, nslots)) != 0)
		return err;
	return ct_vec_reserve(&t->ents, &t->cap, need, sizeof(*t->ents));
}

void
ct_intern_freeze(struct ct_intern *t)
{
	if (t->frozen)
		return;
	t->frozen = 1;
	t->nfrozen = t->n;
}

/* Index + 1 of key in either index, or 0. */
static uint32_t
intern_lookup(const struct ct_intern *t, const void *key, size_t len, uint64_t h)
{
	uint32_t s = 0;

	if (t->nslots)
		s = t->slots[intern_probe(t, t->slots, t->nslots, key, len, h)];
	if (!s && t->nlslots)
		s = t->lslots[intern_probe(t, t->lslots, t->nlslots, key, len, h)];
	return s;
}

int
ct_intern_add(struct ct_intern *t, const void *key, size_t len, uint32_t *idx)
{
	uint64_t h = intern_hash(key, len);
	struct ct_intern_ent *e;
	uint32_t found = intern_lookup(t, key, len, h);
	int err;

	if (found) {
		*idx = found - 1;
		return 0;
	}
	err = intern_grow(t);
	if (err)
		return err;
	err = ct_vec_reserve(&t->ents, &t->cap, t->n + 1, sizeof(*t->ents));
	if (err)
		return err;
	e = &t->ents[t->n];
	e->key = intern_copy(t, key, len);
	if (!e->key)
		return -ENOMEM;
	e->len = len;
	e->hash = h;
	size_t *nlive, first;
	uint32_t *live = *intern_live(t, &nlive, &first);
	live[intern_probe(t, live, *nlive, key, len, h)] = (uint32_t)(t->n + 1);
	*idx = (uint32_t)t->n++;
	return 1;
}

int
ct_intern_find(const struct ct_intern *t, const void *key, size_t len, uint32_t *idx)
{
	uint32_t found = intern_lookup(t, key, len, intern_hash(key, len));

	if (!found)
		return -ENOENT;
	*idx = found - 1;
	return 0;
}

int
ct_intern_str(struct ct_intern *t, const char *s, uint32_t *idx)
{
	return ct_intern_add(t, s, strlen(s), idx);
}

void
ct_intern_free(struct ct_intern *t)
{
	struct ct_intern_chunk *c = t->chunks;

	while (c) {
		struct ct_intern_chunk *next = c->next;

		free(c);
		c = next;
	}
	free(t->slots);
	free(t->lslots);
	free(t->ents);
	ct_intern_init(t);
}

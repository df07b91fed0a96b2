/* Key interning for report/: maps byte strings to dense indexes.
 *
 * The pprof builder needs "have I seen this string / function / address
 * before, and what is its index" for thousands of keys; so does the
 * symbolizer's cache. One open-addressing table serves all of them.
 * Each key is copied once into an arena, NUL-terminated, and never moves,
 * so ct_intern_key() pointers stay valid until ct_intern_free().
 *
 * Not thread-safe (one owner). Allocates. Not async-signal-safe.
 */
#ifndef CT_INTERN_H
#define CT_INTERN_H

#include <stddef.h>
#include <stdint.h>

struct ct_intern_chunk;

struct ct_intern_ent {
	const char *key; /* arena copy, followed by a NUL byte */
	size_t len;
	uint64_t hash;
};

struct ct_intern {
	uint32_t *slots; /* 0 = empty, else index + 1 */
	size_t nslots;   /* 0 or a power of two */
	struct ct_intern_ent *ents;
	size_t n, cap;
	struct ct_intern_chunk *chunks;
	/* After ct_intern_freeze: slots index only the first nfrozen keys
	 * and is never written again; later keys are in lslots. */
	int frozen;
	size_t nfrozen;
	uint32_t *lslots;
	size_t nlslots;
};

/* A zeroed struct ct_intern is an empty table; this just zeroes it. */
void ct_intern_init(struct ct_intern *t);

/* Looks key[0..len) up, adding it if absent. *idx receives its index
 * (0 for the first key added, then 1, 2, ...). Returns 1 if the key was
 * added, 0 if it was already there, or -ENOMEM (table unchanged). */
int ct_intern_add(struct ct_intern *t, const void *key, size_t len, uint32_t *idx);

/* Makes room for extra more keys, so that adding them allocates nothing
 * but the copies of the keys themselves. 0 or -ENOMEM (the table is
 * unchanged then, or only bigger). */
int ct_intern_reserve(struct ct_intern *t, size_t extra);

/* From now on keys are added to a second, private index; the index of
 * the keys already there is only read. For a fork child's copy of a
 * table its parent filled: each key the child added wrote a slot at a
 * random place of the inherited index, and each such page had to be
 * copied (the kept symbolizer's five tables cost a PostgreSQL backend
 * about 10 copy-on-write page faults at exit). Indexes, keys and lookups
 * are unchanged. Once per table; later calls do nothing. Allocates
 * nothing. */
void ct_intern_freeze(struct ct_intern *t);

/* Looks key[0..len) up without adding it: 0 and *idx set if present,
 * else -ENOENT. */
int ct_intern_find(const struct ct_intern *t, const void *key, size_t len, uint32_t *idx);

/* Same as ct_intern_add for a NUL-terminated string (the NUL is not part of the key). */
int ct_intern_str(struct ct_intern *t, const char *s, uint32_t *idx);

/* The stored copy of key idx (idx < t->n); NUL-terminated. */
static inline const char *
ct_intern_key(const struct ct_intern *t, uint32_t idx)
{
	return t->ents[idx].key;
}

/* Frees everything and leaves an empty table. */
void ct_intern_free(struct ct_intern *t);

#endif

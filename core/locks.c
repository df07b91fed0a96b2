/* Creation sites and per-(lock, site) distributions; see locks.h. No
 * malloc on any recording path: the site table is static, the statistics
 * one anonymous mapping made at init. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "dlhist.h"
#include "locks.h"
#include "ops.h"
#include "pages.h"
#include "seqcount.h"
#include "snapshot.h"
#include "spin.h"

/* ---- creation sites ---- */

#define CT_LS_WAYS 8
#define CT_LS_BUCKETS (CT_LOCKSITE_CAP / CT_LS_WAYS)

static struct ct_locksite ct_ls[CT_LOCKSITE_CAP];
static ct_spin ct_ls_lock[CT_LS_BUCKETS];
static uint32_t ct_ls_seq;
/* One bit per slot ever filled (a slot stays filled: eviction rewrites
 * it), set after its first write: a snapshot and the fork child touch
 * only those slots, not the 320 KiB of the table (untouched pages are
 * mapped in by a mere read, and a child writing to the parent's pages
 * copies each one). */
static uint64_t ct_ls_inuse[CT_LOCKSITE_CAP / 64];
/* One bit per bucket whose lock was ever taken, set before it is: the
 * fork child looks for a lock held at the fork among those only, never
 * reading the 4 KiB of locks (an untouched page of them is a fault). */
static uint64_t ct_ls_locked[CT_LS_BUCKETS / 64] CT_FORK_HOT;

static size_t
ct_ls_bucket(uintptr_t obj)
{
	uint64_t a = (uint64_t)obj >> 3;
	return (size_t)((a * 0x9e3779b97f4a7c15ULL) >> 40) % CT_LS_BUCKETS;
}

/* Records (obj, site) unless an entry for obj exists and only_new. */
static void
ct_ls_put(uintptr_t obj, unsigned kind, uintptr_t site, uint32_t how, bool only_new)
{
	size_t b = ct_ls_bucket(obj);
	struct ct_locksite *e = &ct_ls[b * CT_LS_WAYS], *slot = NULL;
	uint32_t gen = ct_dlhist_gen();

	if (!(__atomic_load_n(&ct_ls_locked[b / 64], __ATOMIC_RELAXED) & 1ULL << (b % 64)))
		__atomic_fetch_or(&ct_ls_locked[b / 64], 1ULL << (b % 64), __ATOMIC_RELAXED);
	ct_spin_lock(&ct_ls_lock[b]);
	for (int i = 0; i < CT_LS_WAYS; i++) {
		if (e[i].how && e[i].obj == obj) {
			slot = only_new ? NULL : &e[i];
			if (only_new)
				goto out;
			break;
		}
		if (!slot && !e[i].how)
			slot = &e[i];
	}
	if (!slot) { /* full: the oldest goes */
		slot = &e[0];
		for (int i = 1; i < CT_LS_WAYS; i++)
			if ((int32_t)(e[i].seq - slot->seq) < 0)
				slot = &e[i];
	}
	bool first = slot->how == 0;
	uint32_t w = ct_seq_write_begin(&slot->wseq);
	__atomic_store_n(&slot->obj, obj, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->site, site, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->kind, kind, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->how, how, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->dl_gen, gen, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->seq, __atomic_fetch_add(&ct_ls_seq, 1, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	ct_seq_write_end(&slot->wseq, w);
	if (first) {
		size_t bit = (size_t)(slot - ct_ls);
		__atomic_fetch_or(&ct_ls_inuse[bit / 64], 1ULL << (bit % 64), __ATOMIC_RELEASE);
	}
out:
	ct_spin_unlock(&ct_ls_lock[b]);
}

void
ct_locks_created(const void *obj, unsigned kind, uintptr_t site)
{
	if (obj)
		ct_ls_put((uintptr_t)obj, kind, site, CT_LS_INIT, false);
}

/* ---- statistics ---- */

#define CT_LSTAT_STRIPES 64
#define CT_LSTAT_PER (CT_LOCKSTAT_CAP / CT_LSTAT_STRIPES)

static struct ct_lockstat *ct_lst CT_INIT_HOT;
static ct_spin ct_lst_lock[CT_LSTAT_STRIPES] CT_FORK_HOT;
/* Stripes of ct_lst opened for writing, each under its lock (pages.h
 * ct_pages_reserve_wiped: no commit charge for the others). A fork child
 * keeps its parent's, with the pages. */
static bool ct_lst_open[CT_LSTAT_STRIPES];
/* One bit per entry in use, set after its used flag: a snapshot reads
 * these 512 bytes instead of a word of every entry, so it maps in only
 * the pages entries were written to (a fork child that recorded one wait
 * used to map in the whole 4 MiB table at exit, a thousand page faults). */
static uint64_t ct_lst_inuse[CT_LOCKSTAT_CAP / 64] CT_FORK_HOT;
uint64_t ct_locks_dropped CT_FORK_HOT;

int
ct_locks_init(void)
{
	return ct_lst ? 0 : CT_PAGES_RESERVE_TABLE_WIPED(ct_lst, CT_LOCKSTAT_CAP);
}

static uint64_t
ct_lst_hash(uintptr_t obj, uintptr_t site, unsigned role)
{
	uint64_t h = ((uint64_t)obj * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)site * 0xc2b2ae3d27d4eb4fULL);
	h ^= role + (h >> 31);
	return h * 0x100000001b3ULL;
}

void
ct_locks_add(const void *obj, unsigned kind, uintptr_t site, enum ct_lock_role role,
	     double weight, int64_t ns, double total, uintptr_t assoc)
{
	if (!ct_lst || !obj)
		return;
	uintptr_t o = (uintptr_t)obj;
	kind &= ~CT_LKF_HOLD_TRACKABLE;
	if (role == CT_LR_WAIT)
		ct_ls_put(o, kind, site, CT_LS_FIRST, true);
	uint64_t h = ct_lst_hash(o, site, role);
	size_t stripe = (size_t)(h % CT_LSTAT_STRIPES), start = (size_t)((h >> 8) % CT_LSTAT_PER);
	struct ct_lockstat *base = ct_lst + stripe * CT_LSTAT_PER;
	uint32_t gen = ct_dlhist_gen();

	ct_spin_lock(&ct_lst_lock[stripe]);
	/* A stripe that cannot be opened (the commit limit) is a full one. */
	if (CT_UNLIKELY(!ct_lst_open[stripe]) &&
	    !(ct_lst_open[stripe] = ct_pages_commit(base, CT_LSTAT_PER * sizeof(*base)) == 0))
		goto full;
	for (size_t i = 0; i < CT_LSTAT_PER; i++) {
		struct ct_lockstat *e = base + (start + i) % CT_LSTAT_PER;
		bool fresh = !e->used;
		if (fresh) {
			/* Invisible to snapshots until used is set below. */
			e->obj = o;
			e->site = site;
			e->role = role;
			e->dl_gen = gen;
		} else if (e->obj != o || e->site != site || e->role != role) {
			continue;
		}
		uint32_t w = fresh ? 0 : ct_seq_write_begin(&e->wseq);
		__atomic_store_n(&e->kind, kind, __ATOMIC_RELAXED);
		if (assoc)
			__atomic_store_n(&e->assoc, assoc, __ATOMIC_RELAXED);
		__atomic_store_n(&e->events, e->events + 1, __ATOMIC_RELAXED);
		double c = e->count + weight, t = e->total_ns + total;
		__atomic_store(&e->count, &c, __ATOMIC_RELAXED);
		__atomic_store(&e->total_ns, &t, __ATOMIC_RELAXED);
		if (ns >= 0) {
			if (ns > e->max_ns)
				__atomic_store_n(&e->max_ns, ns, __ATOMIC_RELAXED);
			unsigned b = ct_lk_bucket(ns);
			double h = e->hist[b] + weight;
			__atomic_store(&e->hist[b], &h, __ATOMIC_RELAXED);
		}
		if (fresh) {
			__atomic_store_n(&e->used, 1, __ATOMIC_RELEASE);
			size_t bit = (size_t)(e - ct_lst);
			__atomic_fetch_or(&ct_lst_inuse[bit / 64], 1ULL << (bit % 64),
					  __ATOMIC_RELEASE);
		} else
			ct_seq_write_end(&e->wseq, w);
		ct_spin_unlock(&ct_lst_lock[stripe]);
		return;
	}
full:
	ct_spin_unlock(&ct_lst_lock[stripe]);
	__atomic_fetch_add(&ct_locks_dropped, 1, __ATOMIC_RELAXED);
}

/* The figures of e, as between two updates, into out (whose key fields
 * the caller filled); the reader side of ct_locks_add. */
static void
ct_lst_read(const struct ct_lockstat *e, struct ct_lockstat *out)
{
	CT_SEQ_READ(&e->wseq, {
		out->kind = __atomic_load_n(&e->kind, __ATOMIC_RELAXED);
		out->assoc = __atomic_load_n(&e->assoc, __ATOMIC_RELAXED);
		out->events = __atomic_load_n(&e->events, __ATOMIC_RELAXED);
		__atomic_load(&e->count, &out->count, __ATOMIC_RELAXED);
		__atomic_load(&e->total_ns, &out->total_ns, __ATOMIC_RELAXED);
		out->max_ns = __atomic_load_n(&e->max_ns, __ATOMIC_RELAXED);
		for (unsigned b = 0; b < CT_LK_BUCKETS; b++)
			__atomic_load(&e->hist[b], &out->hist[b], __ATOMIC_RELAXED);
	});
}

/* Slot e as between two rewrites; false if empty. */
static bool
ct_ls_read(const struct ct_locksite *e, struct ct_locksite *out)
{
	CT_SEQ_READ(&e->wseq, {
		out->obj = __atomic_load_n(&e->obj, __ATOMIC_RELAXED);
		out->site = __atomic_load_n(&e->site, __ATOMIC_RELAXED);
		out->kind = __atomic_load_n(&e->kind, __ATOMIC_RELAXED);
		out->how = __atomic_load_n(&e->how, __ATOMIC_RELAXED);
		out->dl_gen = __atomic_load_n(&e->dl_gen, __ATOMIC_RELAXED);
		out->seq = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
	});
	out->wseq = 0;
	return out->how != 0;
}

/* A copy of bitmap words[0..n) (entries published later are left for the
 * next snapshot) and how many bits it has set. */
static size_t
ct_bits_copy(const uint64_t *words, uint64_t *out, size_t n)
{
	size_t set = 0;
	for (size_t i = 0; i < n; i++) {
		out[i] = __atomic_load_n(&words[i], __ATOMIC_ACQUIRE);
		set += (size_t)__builtin_popcountll(out[i]);
	}
	return set;
}

/* The next set bit of bits at or after i, or end. */
static size_t
ct_bits_next(const uint64_t *bits, size_t i, size_t end)
{
	while (i < end) {
		uint64_t w = bits[i / 64] >> (i % 64);
		if (w)
			return i + (size_t)__builtin_ctzll(w);
		i = (i / 64 + 1) * 64;
	}
	return end;
}

int
ct_locks_snapshot_stats(struct ct_snapshot *snap)
{
	uint64_t lst_bits[CT_LOCKSTAT_CAP / 64];
	struct ct_lockstat *st = NULL;
	size_t nst = 0;
	size_t cst = ct_lst ? ct_bits_copy(ct_lst_inuse, lst_bits, CT_LOCKSTAT_CAP / 64) : 0;

	if (cst && !(st = malloc(cst * sizeof(*st))))
		return -ENOMEM;
	for (size_t i = 0; cst && (i = ct_bits_next(lst_bits, i, CT_LOCKSTAT_CAP)) < CT_LOCKSTAT_CAP;
	     i++) {
		const struct ct_lockstat *e = &ct_lst[i];
		/* Pairs with the release store of a new entry: its key is
		 * complete and never changes after. */
		if (!__atomic_load_n(&e->used, __ATOMIC_ACQUIRE))
			continue;
		struct ct_lockstat *c = &st[nst++];
		c->obj = e->obj;
		c->site = e->site;
		c->role = e->role;
		c->dl_gen = e->dl_gen;
		c->used = 1;
		c->wseq = 0;
		ct_lst_read(e, c);
	}
	snap->lockstats = st;
	snap->nlockstats = nst;
	snap->lockstats_dropped = __atomic_load_n(&ct_locks_dropped, __ATOMIC_RELAXED);
	return 0;
}

int
ct_locks_snapshot(struct ct_snapshot *snap)
{
	uint64_t ls_bits[CT_LOCKSITE_CAP / 64];
	struct ct_locksite *ls = NULL;
	size_t nls = 0;
	size_t cls = ct_bits_copy(ct_ls_inuse, ls_bits, CT_LOCKSITE_CAP / 64);

	if (ct_locks_snapshot_stats(snap) < 0)
		return -ENOMEM;
	if (cls && !(ls = malloc(cls * sizeof(*ls)))) {
		free(snap->lockstats);
		snap->lockstats = NULL;
		snap->nlockstats = 0;
		return -ENOMEM;
	}
	for (size_t i = 0; cls && (i = ct_bits_next(ls_bits, i, CT_LOCKSITE_CAP)) < CT_LOCKSITE_CAP;
	     i++)
		if (ct_ls_read(&ct_ls[i], &ls[nls]))
			nls++;
	snap->locksites = ls;
	snap->nlocksites = nls;
	return 0;
}

static int
ct_cmp_uptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

/* Appends v to objs when it is an address (at most cap). */
static void
ct_obj_push(uintptr_t *objs, size_t *n, size_t cap, uintptr_t v)
{
	if (v && *n < cap)
		objs[(*n)++] = v;
}

int
ct_locks_snapshot_sites(struct ct_snapshot *snap)
{
	size_t cap = snap->nlockstats * 2 + snap->nthreads * 2;
	for (int k = 0; k < CT_PROF_COUNT; k++)
		cap += snap->prof[k].nrecords;
	if (cap == 0)
		return 0;
	/* A fork child's exit dump refers to a handful: no heap for them. */
	uintptr_t small[64], *objs = small;
	if (cap > CT_ARRAY_SIZE(small) && !(objs = malloc(cap * sizeof(*objs))))
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < snap->nlockstats; i++) {
		ct_obj_push(objs, &n, cap, snap->lockstats[i].obj);
		ct_obj_push(objs, &n, cap, snap->lockstats[i].assoc);
	}
	for (int k = 0; k < CT_PROF_COUNT; k++)
		for (size_t i = 0; i < snap->prof[k].nrecords; i++)
			ct_obj_push(objs, &n, cap, snap->prof[k].records[i].obj);
	for (size_t t = 0; snap->threads && t < snap->nthreads; t++) {
		ct_obj_push(objs, &n, cap, snap->threads[t].obj);
		ct_obj_push(objs, &n, cap, snap->threads[t].aux);
	}
	if (n > CT_ARRAY_SIZE(small)) {
		qsort(objs, n, sizeof(*objs), ct_cmp_uptr);
	} else {
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && objs[j - 1] > objs[j]; j--) {
				uintptr_t t = objs[j];
				objs[j] = objs[j - 1];
				objs[j - 1] = t;
			}
	}
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || objs[u - 1] != objs[i])
			objs[u++] = objs[i];
	struct ct_locksite *ls = u ? malloc(u * sizeof(*ls)) : NULL;
	if (u && !ls) {
		if (objs != small)
			free(objs);
		return -ENOMEM;
	}
	/* Each object's bucket only (a few hundred bytes): the whole table
	 * is 80 pages, shared with the parent in a fork child, where each
	 * page read costs (a PostgreSQL backend inherits some 300 sites
	 * spread over all of them, and its profiles name no lock). */
	size_t nls = 0;
	for (size_t i = 0; i < u; i++) {
		size_t b = ct_ls_bucket(objs[i]);
		for (size_t j = b * CT_LS_WAYS; j < (b + 1) * CT_LS_WAYS; j++) {
			struct ct_locksite c;
			if (__atomic_load_n(&ct_ls[j].obj, __ATOMIC_RELAXED) == objs[i] &&
			    ct_ls_read(&ct_ls[j], &c) && c.obj == objs[i]) {
				ls[nls++] = c;
				break;
			}
		}
	}
	if (objs != small)
		free(objs);
	if (nls == 0) {
		free(ls);
		ls = NULL;
	}
	snap->locksites = ls;
	snap->nlocksites = nls;
	return 0;
}

void
ct_locks_fork_child(void)
{
	if (ct_lst)
		ct_pages_zero_child(ct_lst, CT_LOCKSTAT_CAP * sizeof(struct ct_lockstat));
	memset(ct_lst_inuse, 0, sizeof(ct_lst_inuse));
	memset(ct_lst_lock, 0, sizeof(ct_lst_lock));
	/* A slot a thread of the parent was rewriting when the fork copied
	 * it stays as it is (a name hint at worst), with an even counter.
	 * Only a bucket whose lock was held can hold one: the other slots
	 * stay shared with the parent, untouched (a child that reads or
	 * writes a page pays for it, and the table is 80 pages). */
	for (size_t b = 0; b < CT_LS_BUCKETS; b++) {
		if (!(ct_ls_locked[b / 64] & 1ULL << (b % 64)) || !ct_ls_lock[b].v)
			continue;
		for (size_t i = b * CT_LS_WAYS; i < (b + 1) * CT_LS_WAYS; i++)
			if (ct_ls[i].wseq & 1u)
				ct_ls[i].wseq &= ~1u;
		ct_ls_lock[b].v = 0;
	}
	ct_locks_dropped = 0;
}

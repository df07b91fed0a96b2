/* Creation sites and per-(lock, site) distributions; see locks.h. No
 * malloc on any recording path: the site table is static, the statistics
 * one anonymous mapping made at init. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dlhist.h"
#include "locks.h"
#include "ops.h"
#include "snapshot.h"
#include "spin.h"

/* ---- creation sites ---- */

#define CT_LS_WAYS 8
#define CT_LS_BUCKETS (CT_LOCKSITE_CAP / CT_LS_WAYS)

static struct ct_locksite ct_ls[CT_LOCKSITE_CAP];
static ct_spin ct_ls_lock[CT_LS_BUCKETS];
static uint32_t ct_ls_seq;

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
	slot->obj = obj;
	slot->site = site;
	slot->kind = kind;
	slot->how = how;
	slot->dl_gen = gen;
	slot->seq = __atomic_fetch_add(&ct_ls_seq, 1, __ATOMIC_RELAXED);
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

static struct ct_lockstat *ct_lst;
static ct_spin ct_lst_lock[CT_LSTAT_STRIPES];
uint64_t ct_locks_dropped;

int
ct_locks_init(void)
{
	if (ct_lst)
		return 0;
	void *p = mmap(NULL, CT_LOCKSTAT_CAP * sizeof(struct ct_lockstat), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	ct_lst = p;
	return 0;
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
	for (size_t i = 0; i < CT_LSTAT_PER; i++) {
		struct ct_lockstat *e = base + (start + i) % CT_LSTAT_PER;
		if (!e->used) {
			e->used = 1;
			e->obj = o;
			e->site = site;
			e->role = role;
			e->dl_gen = gen;
		} else if (e->obj != o || e->site != site || e->role != role) {
			continue;
		}
		e->kind = kind;
		if (assoc)
			e->assoc = assoc;
		e->events++;
		e->count += weight;
		e->total_ns += total;
		if (ns >= 0) {
			if (ns > e->max_ns)
				e->max_ns = ns;
			e->hist[ct_lk_bucket(ns)] += weight;
		}
		ct_spin_unlock(&ct_lst_lock[stripe]);
		return;
	}
	ct_spin_unlock(&ct_lst_lock[stripe]);
	__atomic_fetch_add(&ct_locks_dropped, 1, __ATOMIC_RELAXED);
}

/* Bounded like the profile tables' copy: a holder that cannot run (a
 * fork child's) must not hang a dump. */
#define CT_LOCKS_COPY_SPINS 50000000UL

int
ct_locks_snapshot(struct ct_snapshot *snap)
{
	struct ct_lockstat *st = NULL;
	struct ct_locksite *ls = NULL;
	size_t nst = 0, nls = 0;

	if (ct_lst) {
		/* Stripe by stripe through a buffer made beforehand: no
		 * allocation while a stripe lock is held. */
		struct ct_lockstat *buf = malloc(CT_LSTAT_PER * sizeof(*buf));
		size_t cap = 0;
		if (!buf)
			return -ENOMEM;
		for (size_t s = 0; s < CT_LSTAT_STRIPES; s++) {
			size_t got = 0;
			if (!ct_spin_lock_bounded(&ct_lst_lock[s], CT_LOCKS_COPY_SPINS))
				continue;
			for (size_t i = 0; i < CT_LSTAT_PER; i++)
				if (ct_lst[s * CT_LSTAT_PER + i].used)
					buf[got++] = ct_lst[s * CT_LSTAT_PER + i];
			ct_spin_unlock(&ct_lst_lock[s]);
			if (nst + got > cap) {
				size_t ncap = cap ? cap * 2 : 64;
				while (ncap < nst + got)
					ncap *= 2;
				struct ct_lockstat *nv = realloc(st, ncap * sizeof(*nv));
				if (!nv) {
					free(buf);
					free(st);
					return -ENOMEM;
				}
				st = nv;
				cap = ncap;
			}
			memcpy(st + nst, buf, got * sizeof(*buf));
			nst += got;
		}
		free(buf);
	}
	ls = malloc(CT_LOCKSITE_CAP * sizeof(*ls));
	if (!ls) {
		free(st);
		return -ENOMEM;
	}
	for (size_t b = 0; b < CT_LS_BUCKETS; b++) {
		if (!ct_spin_lock_bounded(&ct_ls_lock[b], CT_LOCKS_COPY_SPINS))
			continue;
		for (int i = 0; i < CT_LS_WAYS; i++)
			if (ct_ls[b * CT_LS_WAYS + i].how)
				ls[nls++] = ct_ls[b * CT_LS_WAYS + i];
		ct_spin_unlock(&ct_ls_lock[b]);
	}
	snap->lockstats = st;
	snap->nlockstats = nst;
	snap->locksites = ls;
	snap->nlocksites = nls;
	snap->lockstats_dropped = __atomic_load_n(&ct_locks_dropped, __ATOMIC_RELAXED);
	return 0;
}

void
ct_locks_fork_child(void)
{
	if (ct_lst) {
		void *p = mmap(ct_lst, CT_LOCKSTAT_CAP * sizeof(struct ct_lockstat),
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
		if (p == MAP_FAILED)
			memset(ct_lst, 0, CT_LOCKSTAT_CAP * sizeof(struct ct_lockstat));
	}
	memset(ct_lst_lock, 0, sizeof(ct_lst_lock));
	memset(ct_ls_lock, 0, sizeof(ct_ls_lock));
	ct_locks_dropped = 0;
}

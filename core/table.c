/* Profile tables; see table.h. Never calls malloc on the recording path:
 * the records live in one anonymous mapping made at init. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dlhist.h"
#include "table.h"

static uint64_t
ct_hash(unsigned op, unsigned fd_kind, uint32_t gen, const uintptr_t *pcs, unsigned depth)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ op ^ ((uint64_t)fd_kind << 32) ^
		     ((uint64_t)gen << 48);
	for (unsigned i = 0; i < depth; i++) {
		h ^= pcs[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h ? h : 1; /* 0 marks an empty record */
}

int
ct_table_init(struct ct_table *t, size_t cap)
{
	memset(t, 0, sizeof(*t));
	size_t per = (cap + CT_TABLE_STRIPES - 1) / CT_TABLE_STRIPES;
	if (per == 0)
		per = 1;
	t->per = per;
	t->cap = per * CT_TABLE_STRIPES;
	t->map_len = t->cap * sizeof(struct ct_record);
	void *p = mmap(NULL, t->map_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	t->recs = p;
	t->ovf.op = CT_OP_TABLE_FULL;
	return 0;
}

void
ct_table_destroy(struct ct_table *t)
{
	if (t->recs)
		munmap(t->recs, t->map_len);
	t->recs = NULL;
}

static void ct_table_put(struct ct_table *t, unsigned op, unsigned fd_kind, uintptr_t obj,
			 unsigned lock_kind, const uintptr_t *pcs, unsigned depth, double count,
			 double delay, bool counts);

void
ct_table_add(struct ct_table *t, unsigned op, const uintptr_t *pcs, unsigned depth,
	     double count, double delay)
{
	ct_table_put(t, op, 0, 0, 0, pcs, depth, count, delay, true);
}

void
ct_table_add_lock(struct ct_table *t, unsigned op, uintptr_t obj, unsigned lock_kind,
		  const uintptr_t *pcs, unsigned depth, double count, double delay)
{
	ct_table_put(t, op, 0, obj, lock_kind, pcs, depth, count, delay, true);
}

void
ct_table_add_fd(struct ct_table *t, unsigned op, unsigned fd_kind, const uintptr_t *pcs,
		unsigned depth, double count, double delay)
{
	ct_table_put(t, op, fd_kind, 0, 0, pcs, depth, count, delay, false);
}

static void
ct_table_put(struct ct_table *t, unsigned op, unsigned fd_kind, uintptr_t obj, unsigned lock_kind,
	     const uintptr_t *pcs, unsigned depth, double count, double delay, bool counts)
{
	if (!t->recs)
		return;
	if (counts)
		__atomic_fetch_add(&t->nrecorded, 1, __ATOMIC_RELAXED);
	if (depth > CT_STACK_MAX)
		depth = CT_STACK_MAX;
	/* The same addresses in another generation may be other code. */
	uint32_t gen = ct_dlhist_gen();
	uint64_t h = ct_hash(op, fd_kind, gen, pcs, depth) ^ ((uint64_t)obj * 0x9e3779b97f4a7c15ULL);
	h = h ? h : 1;
	size_t stripe = (size_t)(h % CT_TABLE_STRIPES);
	struct ct_record *base = t->recs + stripe * t->per;
	size_t start = (size_t)((h / CT_TABLE_STRIPES) % t->per);

	ct_spin_lock(&t->lock[stripe]);
	for (size_t i = 0; i < t->per; i++) {
		struct ct_record *r = base + (start + i) % t->per;
		if (r->hash == 0) {
			r->hash = h;
			r->op = op;
			r->fd_kind = fd_kind;
			r->dl_gen = gen;
			r->obj = obj;
			r->lock_kind = lock_kind;
			r->depth = depth;
			memcpy(r->pc, pcs, depth * sizeof(pcs[0]));
		} else if (r->hash != h || r->op != op || r->fd_kind != fd_kind ||
			   r->dl_gen != gen || r->obj != obj || r->depth != depth || memcmp(r->pc, pcs, depth * sizeof(pcs[0])) != 0) {
			continue;
		}
		r->count += count;
		r->delay_ns += delay;
		ct_spin_unlock(&t->lock[stripe]);
		return;
	}
	ct_spin_unlock(&t->lock[stripe]);

	ct_spin_lock(&t->ovf_lock);
	t->ovf.count += count;
	t->ovf.delay_ns += delay;
	t->ovf_events++;
	ct_spin_unlock(&t->ovf_lock);
}

/* Bounded so a dump never hangs on a lock whose holder cannot run. */
#define CT_TABLE_COPY_SPINS 50000000UL

/* Copies stripe s into buf (room for t->per records) under its lock;
 * returns how many, or -1 if the lock could not be had. No allocation
 * under the lock: a thread holding the allocator's lock may be waiting to
 * record into this very stripe. */
static long
ct_table_copy_stripe(struct ct_table *t, size_t s, struct ct_record *buf)
{
	if (!ct_spin_lock_bounded(&t->lock[s], CT_TABLE_COPY_SPINS))
		return -1;
	long n = 0;
	for (size_t i = 0; i < t->per; i++) {
		const struct ct_record *r = t->recs + s * t->per + i;
		if (r->hash != 0)
			buf[n++] = *r;
	}
	ct_spin_unlock(&t->lock[s]);
	return n;
}

int
ct_table_copy(struct ct_table *t, struct ct_profile_snapshot *out)
{
	size_t n = 0, cap = 64;
	struct ct_record *v = malloc(cap * sizeof(*v));
	struct ct_record *buf = t->recs ? malloc(t->per * sizeof(*buf)) : NULL;
	if (!v || (t->recs && !buf)) {
		free(v);
		free(buf);
		return -ENOMEM;
	}
	for (size_t s = 0; s < CT_TABLE_STRIPES && t->recs; s++) {
		long got = ct_table_copy_stripe(t, s, buf);
		if (got <= 0)
			continue;
		if (n + (size_t)got + 1 > cap) {
			size_t ncap = cap;
			while (n + (size_t)got + 1 > ncap)
				ncap *= 2;
			struct ct_record *nv = realloc(v, ncap * sizeof(*v));
			if (!nv) {
				free(v);
				free(buf);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		memcpy(v + n, buf, (size_t)got * sizeof(*v));
		n += (size_t)got;
	}
	free(buf);
	/* Room for the overflow record is kept above (n + 1 <= cap). */
	if (ct_spin_lock_bounded(&t->ovf_lock, CT_TABLE_COPY_SPINS)) {
		out->overflow_events = t->ovf_events;
		if (t->ovf_events)
			v[n++] = t->ovf;
		ct_spin_unlock(&t->ovf_lock);
	}
	out->records = v;
	out->nrecords = n;
	return 0;
}

void
ct_table_reset(struct ct_table *t)
{
	if (t->recs) {
		/* Fresh zero pages instead of writing over the parent's
		 * copy-on-write pages. */
		void *p = mmap(t->recs, t->map_len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
		if (p == MAP_FAILED)
			memset(t->recs, 0, t->map_len);
	}
	memset(t->lock, 0, sizeof(t->lock));
	memset(&t->ovf_lock, 0, sizeof(t->ovf_lock));
	memset(&t->ovf, 0, sizeof(t->ovf));
	t->ovf.op = CT_OP_TABLE_FULL;
	t->ovf_events = 0;
	t->nrecorded = 0;
}

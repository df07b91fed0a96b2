/* Profile tables; see table.h. Never calls malloc on the recording path:
 * the records live in one anonymous mapping made at init. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "compiler.h"
#include "dlhist.h"
#include "pages.h"
#include "seqcount.h"
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
	t->map_len = t->cap * sizeof(struct ct_record) + (t->cap + 63) / 64 * sizeof(uint64_t);
	void *p = ct_pages_reserve_wiped(t->map_len);
	if (!p)
		return -errno;
	t->recs = p;
	t->inuse = (uint64_t *)(t->recs + t->cap);
	/* The in-use bits, read by every copy, are open from the start. */
	int err = ct_pages_commit(t->inuse, (t->cap + 63) / 64 * sizeof(uint64_t));
	if (err) {
		ct_pages_unmap_wiped(p, t->map_len);
		t->recs = NULL;
		return err;
	}
	t->ovf.op = CT_OP_TABLE_FULL;
	return 0;
}

void
ct_table_destroy(struct ct_table *t)
{
	if (t->recs)
		ct_pages_unmap_wiped(t->recs, t->map_len);
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

/* Adds one event to r's values. The caller holds the lock that makes it
 * r's only writer; seq is odd meanwhile, for copies (table.h). */
static inline void
ct_record_bump(struct ct_record *r, double count, double delay)
{
	uint32_t seq = ct_seq_write_begin(&r->seq);
	double c = r->count + count, d = r->delay_ns + delay;
	__atomic_store(&r->count, &c, __ATOMIC_RELAXED);
	__atomic_store(&r->delay_ns, &d, __ATOMIC_RELAXED);
	ct_seq_write_end(&r->seq, seq);
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
	/* A stripe that cannot be opened (the commit limit) is a full one. */
	if (CT_UNLIKELY(!t->open[stripe]) &&
	    !(t->open[stripe] = ct_pages_commit(base, t->per * sizeof(*base)) == 0)) {
		ct_spin_unlock(&t->lock[stripe]);
		goto overflow;
	}
	for (size_t i = 0; i < t->per; i++) {
		size_t slot = (start + i) % t->per, bit = stripe * t->per + slot;
		struct ct_record *r = base + slot;
		if (r->hash == 0) {
			/* A new record: key and first values complete before
			 * a copy can see the hash (no seq needed yet). */
			r->op = op;
			r->fd_kind = fd_kind;
			r->dl_gen = gen;
			r->obj = obj;
			r->lock_kind = lock_kind;
			r->depth = depth;
			memcpy(r->pc, pcs, depth * sizeof(pcs[0]));
			r->count = count;
			r->delay_ns = delay;
			__atomic_store_n(&r->hash, h, __ATOMIC_RELEASE);
			/* After the hash: a copy that sees the bit sees the key. */
			__atomic_fetch_or(&t->inuse[bit / 64], 1ULL << (bit % 64), __ATOMIC_RELEASE);
			ct_spin_unlock(&t->lock[stripe]);
			return;
		}
		if (r->hash != h || r->op != op || r->fd_kind != fd_kind || r->dl_gen != gen ||
		    r->obj != obj || r->depth != depth ||
		    memcmp(r->pc, pcs, depth * sizeof(pcs[0])) != 0)
			continue;
		ct_record_bump(r, count, delay);
		ct_spin_unlock(&t->lock[stripe]);
		return;
	}
	ct_spin_unlock(&t->lock[stripe]);
overflow:
	ct_spin_lock(&t->ovf_lock);
	uint32_t seq = ct_seq_write_begin(&t->ovf.seq);
	double c = t->ovf.count + count, d = t->ovf.delay_ns + delay;
	__atomic_store(&t->ovf.count, &c, __ATOMIC_RELAXED);
	__atomic_store(&t->ovf.delay_ns, &d, __ATOMIC_RELAXED);
	__atomic_store_n(&t->ovf_events, t->ovf_events + 1, __ATOMIC_RELAXED);
	ct_seq_write_end(&t->ovf.seq, seq);
	ct_spin_unlock(&t->ovf_lock);
}

/* Reads r's values (and *events, if given) as they were between two
 * events: the reader side of ct_record_bump. False when the writer did
 * not finish within CT_SEQ_SETTLE_NS; the values are then as read. */
static bool
ct_record_read(const struct ct_record *r, const uint64_t *events, double *count, double *delay,
	       uint64_t *nevents)
{
	return CT_SEQ_READ(&r->seq, {
		__atomic_load(&r->count, count, __ATOMIC_RELAXED);
		__atomic_load(&r->delay_ns, delay, __ATOMIC_RELAXED);
		if (events)
			*nevents = __atomic_load_n(events, __ATOMIC_RELAXED);
	});
}

int
ct_table_copy(struct ct_table *t, struct ct_profile_snapshot *out)
{
	/* Sized by the records in use now (and the overflow record), so a
	 * process that recorded a stack or two (a fork child at exit)
	 * allocates a few KiB, not 64 records of about 1 KiB each: a large
	 * request is a search of the heap's bins, and in a fork child every
	 * free chunk it touches is a page of its parent's. Records published
	 * meanwhile grow the array below. */
	size_t n = 0, cap = 2;
	for (size_t i = 0; t->recs && i < (t->cap + 63) / 64; i++)
		cap += (size_t)__builtin_popcountll(__atomic_load_n(&t->inuse[i], __ATOMIC_ACQUIRE));
	struct ct_record *v = malloc(cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	out->unsettled = 0;
	for (size_t i = 0; t->recs && i < t->cap; i++) {
		uint64_t w = __atomic_load_n(&t->inuse[i / 64], __ATOMIC_ACQUIRE) >> (i % 64);
		if (w == 0) {
			i = (i / 64 + 1) * 64 - 1; /* nothing more in this word */
			continue;
		}
		i += (size_t)__builtin_ctzll(w);
		if (i >= t->cap)
			break;
		const struct ct_record *r = t->recs + i;
		/* Pairs with the release store that publishes a new record:
		 * its key is complete and never changes after. */
		if (__atomic_load_n(&r->hash, __ATOMIC_ACQUIRE) == 0)
			continue;
		/* Room for this one and the overflow record. */
		if (n + 2 > cap) {
			struct ct_record *nv = realloc(v, 2 * cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap *= 2;
		}
		struct ct_record *c = v + n;
		c->hash = r->hash;
		c->op = r->op;
		c->fd_kind = r->fd_kind;
		c->dl_gen = r->dl_gen;
		c->obj = r->obj;
		c->lock_kind = r->lock_kind;
		c->depth = r->depth;
		c->seq = 0;
		memcpy(c->pc, r->pc, c->depth * sizeof(c->pc[0]));
		if (!ct_record_read(r, NULL, &c->count, &c->delay_ns, NULL))
			out->unsettled++;
		n++;
	}
	double count, delay;
	uint64_t events = 0;
	if (!ct_record_read(&t->ovf, &t->ovf_events, &count, &delay, &events))
		out->unsettled++;
	out->overflow_events = events;
	if (events) {
		v[n] = (struct ct_record){.op = CT_OP_TABLE_FULL, .count = count, .delay_ns = delay};
		n++;
	}
	out->records = v;
	out->nrecords = n;
	return 0;
}

void
ct_table_reset(struct ct_table *t)
{
	if (t->recs)
		ct_pages_zero_child(t->recs, t->map_len);
	memset(t->lock, 0, sizeof(t->lock));
	memset(&t->ovf_lock, 0, sizeof(t->ovf_lock));
	memset(&t->ovf, 0, sizeof(t->ovf));
	t->ovf.op = CT_OP_TABLE_FULL;
	t->ovf_events = 0;
	t->nrecorded = 0;
}

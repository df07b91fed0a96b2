/* Bounded profile tables: one record per distinct (op, fd_kind, lock, stack,
 * loaded-objects generation: core/dlhist.h, read once per add).
 *
 * Memory is one mmap of cap records made at init (pages are opened and
 * touched only as records fill: pages.h ct_pages_reserve_wiped), split
 * into stripes with a private spinlock each, so
 * threads recording different stacks rarely meet. A full stripe folds the
 * event into one overflow record: totals stay right, the loss is counted.
 * ct_table_add: thread-safe, no allocation, not async-signal-safe (a
 * handler interrupting a holder of the same stripe would spin).
 *
 * Copies (snapshots) take no lock a recording thread takes, so a snapshot
 * never pauses the program, whatever the table's size: the stripe locks
 * only order the recording threads among themselves. A record's key (op,
 * fd_kind, dl_gen, depth, pc) is written once, before its hash is
 * published with a release store, and never changes after; its values
 * (count, delay_ns) change under a per-record sequence counter (seq, odd
 * while they change: core/seqcount.h), so a copy takes each record's values as they were
 * between two events: never half an event, nothing lost or counted twice,
 * and exactly the totals once recording has stopped. */
#ifndef CT_TABLE_H
#define CT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"
#include "spin.h"

#define CT_TABLE_STRIPES 64

struct ct_table {
	struct ct_record *recs; /* cap records, stripe s owns [s*per, (s+1)*per) */
	/* One bit per record, set once its key is published: a copy finds the
	 * records in use by reading cap/8 bytes instead of a word of every
	 * record, so it reads only the pages records were written to (a
	 * fork child that recorded a few stacks used to read 2 x 4 MiB of
	 * untouched pages at exit). In the same mapping, after the records. */
	uint64_t *inuse;
	size_t cap, per;
	size_t map_len;
	ct_spin lock[CT_TABLE_STRIPES];
	/* Stripes opened for writing (pages.h ct_pages_commit), each under
	 * its lock: the records' pages have no access until their stripe
	 * takes its first record, so that they cost no commit charge. A fork
	 * child inherits the opened pages with these flags. */
	bool open[CT_TABLE_STRIPES];
	ct_spin ovf_lock;
	struct ct_record ovf;     /* op CT_OP_TABLE_FULL, depth 0; its seq also covers ovf_events */
	uint64_t ovf_events;
	uint64_t nrecorded;       /* events added, for "anything to write?" */
};

/* Maps room for cap records (rounded up to whole stripes). 0 or -errno. */
int ct_table_init(struct ct_table *t, size_t cap);
void ct_table_destroy(struct ct_table *t);

/* Adds count and delay to the record of (op, pcs[0..depth)). */
void ct_table_add(struct ct_table *t, unsigned op, const uintptr_t *pcs, unsigned depth,
		  double count, double delay);

/* The same for an event on lock obj of kind lock_kind (core/locks.h): the
 * same stack on another lock is another record. */
void ct_table_add_lock(struct ct_table *t, unsigned op, uintptr_t obj, unsigned lock_kind,
		       const uintptr_t *pcs, unsigned depth, double count, double delay);

/* The same for an I/O, sleep or process wait, on an fd of kind fd_kind
 * (enum ct_fd_kind, 0 if none): the same stack with another kind is
 * another record. Such records alone do not make the table non-empty for
 * ct_table_empty: whether they are worth a dump is ct_iowait's call. */
void ct_table_add_fd(struct ct_table *t, unsigned op, unsigned fd_kind, const uintptr_t *pcs,
		     unsigned depth, double count, double delay);

/* Copies the non-empty records into a new heap array in out (which the
 * caller frees with ct_snapshot_free). Allocates: call off the hot path
 * with the guard held. Takes no lock: recording threads never wait for
 * it, and it waits for a recording thread only while that thread is
 * between the two writes of one event. A record whose writer stays in the
 * middle of an event for CT_SEQ_SETTLE_NS (core/seqcount.h: a thread of
 * the parent that a fork copied mid-event, which never runs in the child)
 * is taken as it is and counted in out->unsettled. 0 or -ENOMEM. */
int ct_table_copy(struct ct_table *t, struct ct_profile_snapshot *out);

/* Forgets everything and re-arms every lock: the fork child's fresh start.
 * Only safe when no other thread can use t (fork child, tests). */
void ct_table_reset(struct ct_table *t);

static inline bool
ct_table_empty(const struct ct_table *t)
{
	return __atomic_load_n(&t->nrecorded, __ATOMIC_RELAXED) == 0;
}

#endif

/* Locks as things: what kind each contended lock is, where it was
 * created, and per (lock, site) the distribution of its waits and holds.
 *
 * Nothing here names a lock: core keeps addresses (of the lock, of the
 * call sites); report/ turns them into stable names when profiles are
 * written (report/locknames.h). Two bounded tables, both made before
 * anything can record (static storage, so init wrappers called before
 * the shim's constructor find them):
 *   - creation sites: lock address -> (site, kind), filled by the init
 *     wrappers (pthread_mutex_init ...) and, for locks that were never
 *     init'ed (PTHREAD_MUTEX_INITIALIZER in heap memory), by the first
 *     recorded wait. CT_LOCKSITE_CAP entries; a full bucket evicts its
 *     oldest entry (that lock then falls back to its first-wait site).
 *   - statistics: (lock, site, role) -> weighted count, total, max and a
 *     fixed log-scale histogram (CT_LK_BUCKETS). CT_LOCKSTAT_CAP entries
 *     made at init with mmap (pages touched only as used); events that
 *     find their stripe full are counted, not kept.
 * Every function is thread-safe, never allocates (except
 * ct_locks_snapshot), preserves errno and takes only private spinlocks,
 * which only the recording paths take: ct_locks_snapshot reads both tables
 * under per-entry sequence counters (core/seqcount.h), so a snapshot never
 * makes a recording thread wait.
 * Callers hold the guard. Not async-signal-safe. Only slow paths (a wait
 * that happened, an unlock with waiters, an init call) get here. */
#ifndef CT_LOCKS_H
#define CT_LOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a lock is: the base kind in the low byte, mutex attributes above. */
enum ct_lock_kind {
	CT_LK_NONE,    /* not a lock (I/O, sleep, join) */
	CT_LK_MUTEX,
	CT_LK_RWLOCK,
	CT_LK_SPIN,
	CT_LK_COND,
	CT_LK_SEM,
	CT_LK_BARRIER,
	CT_LK_FUTEX,   /* a word the program waits on with syscall(SYS_futex) */
};
#define CT_LK_BASE(k) ((k)&0xffu)
#define CT_LKF_RECURSIVE (1u << 8)
#define CT_LKF_ERRORCHECK (1u << 9)
#define CT_LKF_ADAPTIVE (1u << 10)
#define CT_LKF_ROBUST (1u << 11)
#define CT_LKF_PI (1u << 12)
#define CT_LKF_PP (1u << 13)
/* Not part of the kind: set by a mutex wrapper when the lock was acquired
 * with its word still saying "waiters", so this hold's unlock is sure to
 * take the slow path (interpose/mutex.c) and its end will be seen. */
#define CT_LKF_HOLD_TRACKABLE (1u << 31)

/* The kind a wait in op is on when the wrapper says nothing more. */
unsigned ct_lock_kind_of_op(unsigned op);

/* "mutex", "mutex-recursive", "mutex-robust-pi", "rwlock", "spinlock",
 * "condvar", "semaphore", "barrier", "futex"; "" for CT_LK_NONE. Writes
 * into buf (at least 48 bytes) and returns it. */
const char *ct_lock_kind_name(unsigned kind, char *buf, size_t len);

enum ct_lock_role {
	CT_LR_WAIT,   /* site = where a thread waited; histogram of waits */
	CT_LR_HOLD,   /* site = where the hold began (its lock call, after a
	               * wait); histogram of hold times */
	CT_LR_HOLDER, /* site = an unlock that had waiters, as in the mutex
	               * profile: count and delay charged, no histogram */
	CT_LR_COUNT
};

/* Fixed log-scale buckets: [0] < 1024 ns, then 4 per power of two from
 * 2^10 ns (1.02 us) up to 2^37 ns (137 s), the last one open-ended. */
#define CT_LK_SUB 4
#define CT_LK_MIN_SHIFT 10
#define CT_LK_MAX_SHIFT 37
#define CT_LK_BUCKETS (2 + (CT_LK_MAX_SHIFT - CT_LK_MIN_SHIFT) * CT_LK_SUB)

/* Bucket of a duration, and the lower bound of a bucket. Pure. */
unsigned ct_lk_bucket(int64_t ns);
int64_t ct_lk_bucket_lo(unsigned b);

/* How a creation-site entry was learnt. */
enum ct_locksite_how {
	CT_LS_INIT = 1,  /* pthread_*_init / sem_init: site = its caller */
	CT_LS_FIRST = 2, /* never init'ed: site = the first recorded wait */
};

struct ct_locksite {
	uintptr_t obj;
	uintptr_t site;  /* return address into the creating/first-waiting function */
	uint32_t kind;
	uint32_t how;    /* enum ct_locksite_how; 0 = empty */
	uint32_t dl_gen; /* core/dlhist.h generation of site */
	uint32_t seq;    /* insertion order, for eviction */
	uint32_t wseq;   /* core/seqcount.h: odd while the slot is rewritten */
};

struct ct_lockstat {
	uintptr_t obj;
	uintptr_t site;    /* return address, like ct_record.pc[0] */
	uintptr_t assoc;   /* a condvar's mutex (the last one it was used with), else 0 */
	uint32_t role;     /* enum ct_lock_role */
	uint32_t kind;
	uint32_t dl_gen;
	uint32_t used;     /* 0 = empty slot; set (release) once the key is in */
	uint32_t wseq;     /* core/seqcount.h: odd while the figures below change */
	uint64_t events;   /* raw events recorded (what the figures rest on) */
	double count;      /* estimated events, scaled like the profiles */
	double total_ns;   /* estimated total duration */
	int64_t max_ns;    /* longest single recorded duration */
	double hist[CT_LK_BUCKETS]; /* estimated events per bucket */
};

/* Creation sites kept at once. */
#define CT_LOCKSITE_CAP 8192
/* (lock, site, role) statistics kept; about 1 KiB each, touched when used. */
#define CT_LOCKSTAT_CAP 4096

/* Maps the statistics table. From ct_profiles_init. 0 or -errno. */
int ct_locks_init(void);

/* An init call at site made obj a lock of kind (creation-site table). */
void ct_locks_created(const void *obj, unsigned kind, uintptr_t site);

/* A recorded wait (or hold, or charge) on obj at site: weight events
 * (the sampling's scaling) adding total ns, the single event's duration
 * being ns (for the histogram and max; < 0: none, CT_LR_HOLDER). assoc:
 * a condvar's mutex, else 0. A wait on an obj without a creation site
 * makes site its first-wait site. */
void ct_locks_add(const void *obj, unsigned kind, uintptr_t site, enum ct_lock_role role,
		  double weight, int64_t ns, double total, uintptr_t assoc);

/* Events that found the statistics table full. */
extern uint64_t ct_locks_dropped;

struct ct_snapshot;
/* Copies both tables into snap (heap arrays it owns), taking none of
 * their locks. Guard held, allocates. 0 or -ENOMEM. */
int ct_locks_snapshot(struct ct_snapshot *snap);

/* Copies the statistics into snap (lockstats, lockstats_dropped; no
 * creation site). Same rules as ct_locks_snapshot. */
int ct_locks_snapshot_stats(struct ct_snapshot *snap);

/* Adds to snap (whose profiles, statistics and threads are taken) the
 * creation sites of the locks it refers to: the statistics' locks and
 * condition variables' mutexes, the records' locks, the threads' wait
 * objects; report/ names no other lock. Reads only those objects'
 * buckets. Same rules as ct_locks_snapshot. 0 or -ENOMEM. */
int ct_locks_snapshot_sites(struct ct_snapshot *snap);

/* Fork child (core/fork.h, CT_LOCK_TABLES): statistics emptied, creation
 * sites kept (the parent's locks exist in the child too), every lock
 * re-armed. Async-signal-safe. */
void ct_locks_fork_child(void);

#endif

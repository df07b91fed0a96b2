/* The immutable copy of the profile tables that report/ turns into files.
 *
 * A snapshot is made by core (ct_snapshot_take) off the hot path and owned
 * by its caller; report/ only reads it. It carries raw return addresses and
 * no symbol, file or format knowledge: symbolization happens in report/.
 */
#ifndef CT_SNAPSHOT_H
#define CT_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ops.h"

/* Their entries, defined by core/locks.h (which readers of them include):
 * the snapshot only holds the arrays. */
struct ct_lockstat;
struct ct_locksite;

/* Deepest stack kept, like Go 1.23's default of 128 frames. */
#define CT_STACK_MAX 128

enum ct_profile_kind {
	CT_PROF_MUTEX, /* stacks of holders of contended locks (leaf = unlock) */
	CT_PROF_BLOCK, /* stacks where threads blocked (leaf = lock/wait call) */
	CT_PROF_COUNT
};

/* One distinct (op, fd_kind, stack) with its accumulated, already scaled
 * values (Go >= 1.20 semantics: scaled at record time, so the writer must
 * not scale again). */
struct ct_record {
	double count;      /* estimated number of events (contentions) */
	double delay_ns;   /* estimated total delay in nanoseconds */
	uint64_t hash;     /* of op, fd_kind and pcs; table bookkeeping */
	uint32_t op;       /* enum ct_op: the libc function that is the leaf */
	uint32_t depth;    /* number of valid entries in pc[] */
	/* enum ct_fd_kind (fdkind.h) of an I/O wait on an fd, the fd_kind
	 * label; 0 (CT_FD_NONE) for everything else. Part of the key. */
	uint32_t fd_kind;
	/* The loaded-objects generation (core/dlhist.h) the stack was
	 * recorded in, part of the key; 0 = resolve against the mappings of
	 * the moment the file is written (records made at dump time). */
	uint32_t dl_gen;
	/* The lock waited on or released (part of the key, so each lock
	 * keeps its own samples: report/ names it in the `lock` label), 0
	 * when the event is on no lock; and its kind (core/locks.h). */
	uint32_t lock_kind;
	/* Table bookkeeping (core/table.c): odd while a recording thread
	 * changes count and delay_ns, so a copy never takes half an event.
	 * Meaningless in a snapshot. */
	uint32_t seq;
	uintptr_t obj;
	/* Return addresses, innermost first, shim frames already removed:
	 * pc[0] is the return address into the caller of the wrapped
	 * function. Report subtracts 1 to find the call's line. */
	uintptr_t pc[CT_STACK_MAX];
};

struct ct_profile_snapshot {
	enum ct_profile_kind kind;
	size_t nrecords;
	struct ct_record *records; /* heap array owned by the snapshot */
	/* Events that found the table full. Their values are already folded
	 * into a record with op CT_OP_TABLE_FULL and depth 0, so totals stay
	 * right; these counters say how much was lost to that. */
	uint64_t overflow_events;
	/* Records copied while a writer was stuck in the middle of an event
	 * (core/table.h): each may be off by that one event. 0 normally. */
	uint64_t unsettled;
	/* Sampling setting in force when the snapshot was taken:
	 * mutex: fraction N (1 in N); block: rate in ns. 0 = off. */
	uint64_t rate;
};

/* One thread as a dump sees it (threads.h has the live registry). */
struct ct_thread_snap {
	int tid;
	int state;                 /* enum ct_thread_state (threads.h) */
	int detached;
	int creator_tid;           /* 0 if unknown */
	char name[16];             /* from /proc/self/task/<tid>/comm */
	uintptr_t start_routine;   /* 0 if not created through pthread_create */
	int64_t age_ns;            /* since creation, -1 if unknown */
	int create_depth;
	uintptr_t create_pc[32];   /* return addresses, innermost first */
	/* The wait in progress, if waiting. */
	int waiting;
	uint32_t op;               /* enum ct_op */
	uintptr_t obj;             /* lock/cond/sem address */
	int fd;                    /* I/O waits, else -1 */
	int64_t wait_ns;           /* how long so far, since the first wait of a
	                            * re-armed run (core/threads.h, ct_wait_unwoken) */
	uint32_t rearms;           /* waits of that run before the current one */
	int owner_tid;             /* holder of obj when known (mutex, rwlock writer), else 0 */
	char owner_name[16];       /* its name, "" if unknown */
	/* What else the wait is on: a condition wait's mutex; a poll's
	 * pollfd array (address in the program) and its length. */
	uintptr_t aux;
	uint32_t naux;
	/* The thread has waited nowhere else since it started (locks aside):
	 * a service thread parked where it always parks. */
	int home;
	/* Parked for work (core/threads.c, ct_threads_classify): a wait for
	 * input (accept, epoll, sigwait ..., a poll of listening sockets, a
	 * wait for a client on a connection the process accepted), one of
	 * several threads waiting at the same site on the same condvar,
	 * semaphore or fd (or condvars under one mutex), or a service
	 * thread's only wait (home). */
	int idle;
	int stuck;                 /* wait_ns >= CONTEND_STUCK and not idle */
	int crashed;               /* the signal it crashed with (its stack in
	                            * pc), or 0 */
	/* Stack at the wait: pc[0] is the return address into the caller of
	 * the wrapped function (always known for a wait); deeper frames when
	 * they could be read. */
	int depth;
	uintptr_t pc[CT_STACK_MAX];
};

/* A shared object that a dlclose removed (core/dlhist.h): addresses of
 * records of a generation <= gen fell in it when [start, limit) holds them. */
struct ct_dl_gone {
	uint32_t gen;             /* the generation it was last mapped in */
	uint64_t base;            /* load bias */
	uint64_t start, limit;    /* executable range, start page-aligned */
	uint64_t offset;          /* file offset of start */
	uint64_t lo, hi;          /* every PT_LOAD (memory size): where its data lies too */
	char path[512];
	char build_id[72];        /* lowercase hex, "" when unknown */
};

struct ct_snapshot {
	int64_t time_nanos;     /* wall clock, ns since the epoch, at start */
	int64_t duration_nanos; /* from profiling start to the snapshot */
	pid_t pid;
	struct ct_profile_snapshot prof[CT_PROF_COUNT];
	/* Entry address of the real libc function behind each op, or 0: the
	 * leaf Location points there so pprof shows the right mapping. */
	uintptr_t leaf_addr[CT_OP_COUNT];
	/* Thread dump: every registered thread (NULL/0 when not taken). */
	size_t nthreads;
	struct ct_thread_snap *threads;
	int64_t stuck_ns;           /* the CONTEND_STUCK in force */
	uint64_t threads_untracked; /* threads that found the registry full */
	/* /proc/self/task/<tid>/ files the process may not read (it changed
	 * its credentials or is not dumpable): 1 = syscall (blocked threads'
	 * stacks stop at the wait's call site), 2 = comm (names as at
	 * pthread_create). */
	unsigned task_denied;
	/* Unloaded objects, for records of earlier generations. */
	uint32_t dl_gen;            /* the generation at the snapshot */
	size_t ndl_gone;
	struct ct_dl_gone *dl_gone; /* heap array owned by the snapshot */
	uint64_t dl_gone_dropped;   /* removals the history had no room for */
	/* The objects mapped at the snapshot, from dl_iterate_phdr (the main
	 * program first, under the path recorded at startup; no vDSO): what
	 * report/ symbolizes against when /proc/self is closed to the
	 * process after a credential change. gen is 0. */
	size_t ndl_live;
	struct ct_dl_gone *dl_live; /* heap array owned by the snapshot */
	/* Locks (core/locks.h): per (lock, site, role) distributions and
	 * the creation sites known, heap arrays owned by the snapshot. */
	size_t nlockstats;
	struct ct_lockstat *lockstats;
	size_t nlocksites;
	struct ct_locksite *locksites;
	uint64_t lockstats_dropped; /* events that found the table full */
};

/* Frees the record arrays (not the struct itself). */
void ct_snapshot_free(struct ct_snapshot *snap);

#endif

/* The process-wide profiling state: the two profile tables, when
 * profiling started, and the snapshot of it all.
 *
 * ct_profiles_init runs once from the shim's constructor (single-threaded
 * or not, it is idempotent under ct_hot.ready). ct_profiles_fork_child runs in
 * a fork child before any other thread exists there. */
#ifndef CT_PROFILES_H
#define CT_PROFILES_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "hot.h"
#include "snapshot.h"
#include "table.h"

extern struct ct_table ct_profiles[CT_PROF_COUNT];

/* ct_hot.ready (hot.h, on the line every timed call reads anyway) is
 * nonzero once the tables exist; cleared while a fork child rebuilds, and
 * for good once the program confined itself with seccomp. Hidden, as
 * everything of core: read on every wait, from this file's neighbours and
 * interpose/ alike, with a direct load. */

/* Set for good, in this process and its children, once the program
 * confined itself with seccomp (core/dump.h ct_dump_before_sandbox): the
 * shim records, writes and starts nothing more, and its fork, exit and
 * thread-exit paths make no system call of their own. */
extern CT_HIDDEN int ct_sandboxed;

/* A process whose only records are I/O, sleep and process waits adding
 * up to less than this writes no profiles: cat, grep or sh -c that
 * inherited LD_PRELOAD from a profiled server leave no directories and
 * do not pay for symbolization at exit. */
#define CT_PROFILES_IO_DUMP_MIN_NS (1000 * 1000)

/* The scaled delay of the recorded I/O, sleep and process waits but the
 * waits for children (core/iowait.c adds to it), against
 * CT_PROFILES_IO_DUMP_MIN_NS. */
extern CT_HIDDEN uint64_t ct_profiles_io_ns;

/* Allocates the tables and the waiter table from ct_cfg, stamps the start
 * time and sets ct_hot.ready. 0 or -errno (then nothing is recorded). */
int ct_profiles_init(void);

/* Fork child (core/fork.h, CT_LOCK_TABLES and CT_LOCK_WAITERS): forget
 * the parent's events and waiters, re-arm every table and bucket lock,
 * restart the clock. Async-signal-safe. */
void ct_profiles_fork_child(void);

#ifdef CT_TEST_SEAMS
/* Holds every stripe and overflow lock of every table. */
void ct_profiles_test_hold(long hold_us);
#endif

/* Entry address of the real libc function behind op (for the leaf). */
void ct_profiles_set_leaf(unsigned op, uintptr_t addr);

/* True when any event was recorded since start (or the fork). */
bool ct_profiles_have_data(void);

/* Fills snap from the tables: the profiles, the lock statistics, not the
 * locks' creation sites (ct_locks_snapshot_sites, once the threads are
 * in too). Allocates; call with the guard held, off the hot path. 0 or
 * -ENOMEM. */
int ct_profiles_snapshot(struct ct_snapshot *snap);

#endif

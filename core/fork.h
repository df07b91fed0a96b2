/* The fork protocol of every internal lock and "busy" state of the shim,
 * in one place. Registered once (pthread_atfork, from init); the _Fork()
 * wrapper runs the child part itself, since _Fork skips atfork handlers.
 *
 * The locks, and what happens to each across fork:
 *
 *   CT_LOCK_DUMPER_OWNED  core/dumper.c ct_owned_lock (the list of the
 *       dumper thread's descriptors). Taken in prepare, released in the
 *       parent, released in the child after the child closed what the
 *       list names: the child needs the list whole. Safe to take: its only
 *       holder is the dumper thread, which holds it for a memcpy or while
 *       it creates and lists a socket (its listening socket: socket, bind,
 *       listen; a client's: accept4 on the non-blocking listener; system
 *       calls that do not wait), waits for nothing meanwhile and runs with every signal blocked (so no
 *       handler can fork on top of it).
 *   CT_LOCK_TABLES        core/table.c: the stripe spinlocks and ovf_lock
 *       of each profile table; core/locks.c: the statistics stripes and
 *       the creation-site buckets. Taken only by recording threads:
 *       snapshots read without them (per-record sequence counters,
 *       core/table.h). Not taken; re-initialised in the child with the
 *       tables emptied (a child starts its own profile), the creation
 *       sites kept (the parent's locks live on in the child). A signal
 *       dump's child keeps the tables: it only reads them, and a record a
 *       parent thread was changing when the fork copied it is taken as it
 *       is after CT_SEQ_SETTLE_NS.
 *   CT_LOCK_WAITERS       core/waiters.c: the bucket spinlocks. Not taken;
 *       re-initialised in the child with the buckets emptied (the parent's
 *       waiters do not exist there).
 *   CT_LOCK_REPORT_LOAD   core/plugin.c: the report library's "loading" state
 *       (a dlopen under way on another thread). Not waited for; set back
 *       to "not tried" in the child, which loads it itself if it dumps.
 *   CT_LOCK_DL_PASS       core/dlhist.c ct_dl_lock: the shim's own calls
 *       into the dynamic loader (ct_dl_iterate's dl_iterate_phdr, which
 *       holds glibc's loader write lock while it calls back; the dlopen and
 *       dlsym of the report library and of libunwind; the first
 *       backtrace(), which loads libgcc_s; libunwind's walks of blocked
 *       threads' stacks, which call dl_iterate_phdr per frame). Taken in
 *       prepare after the warm-up (waiting at most about a second for a
 *       call under way), released in the parent and the child: a child
 *       copied during such a call inherited glibc's lock held and its exit
 *       dump hung. A _Fork child frees it. report/ makes no loader call
 *       (tests/layering). The program's own calls are not covered (a
 *       child copied in the middle of one is in the same state natively,
 *       but its exit dump then waits for the lock: bounded by the dump's
 *       deadline). Its test seam holds it inside a real pass, glibc's
 *       loader lock held as well.
 *   CT_LOCK_REAL_RESOLVE  interpose/real.c: "resolving" the real functions
 *       (only before init finished). Set back to "unresolved" in the child
 *       (through the interpose hook given to ct_fork_install).
 *
 * Why the locks that are only re-initialised are not taken in prepare, as
 * jemalloc takes its own: holding a lock across fork is only safe if no
 * path that holds it can wait for something the forking thread holds, and
 * for these the forking thread may itself be a holder: a signal handler
 * that forks (fork from a handler, _Fork, our own signal dump) may have
 * interrupted its thread inside ct_table_add or a waiter-bucket update,
 * and prepare would then spin forever on its own lock. Taking them would
 * also buy the child nothing, since it throws their data away, and would
 * cost each fork 2 x 65 table locks and one lock per waiter bucket (the
 * buckets' pages are touched only as they are used). The loading states
 * are not waited for either: the loader may be waiting on the dynamic
 * linker's lock, which the forking thread may hold (a library constructor
 * that forks).
 *
 * Not listed: the unwinder (glibc's backtrace(), loaded under glibc's own
 * once-flag; the child, single-threaded, may load it at a capture again:
 * ct_stack_fork_child); ct_init_once's state (interpose/init.c), waited on only by
 * the constructor's concurrent callers, before any atfork handler exists;
 * and state that is not a lock: interpose/signal.c's dispositions
 * (lock-free slots), the dlclose history (core/dlhist.c: a slot claimed
 * by an atomic add counts once its ready flag is set, so one a fork cut
 * short is skipped), the thread registry (compare-and-swap on each slot's
 * state; the child keeps only its own slot), the tick clock and the
 * configuration (single words, atomics).
 *
 * Order: prepare first warms the symbols the children will inherit
 * (ct_dump_prefork, core/dump.h: not a lock; only once children are
 * known to write profiles, never from a signal handler), then takes the
 * taken locks in the order above (there is one today); the parent releases them in reverse; the child resets, in this
 * order: its identity (cached tid, random state), the loading states, the
 * interpose hook, the tables and waiters, the thread registry, the dumper,
 * the final dump's state and the output directory (contend.<childpid>:
 * core/dump.c), the fatal dump's owner (core/dump_fatal.c).
 * The child of our own signal dump (core/dump_fatal.c) keeps the parent's tables,
 * registry and output directory: it writes the parent's profiles.
 *
 * Threads may fork at the same moment: glibc (2.36) takes no lock of its
 * own around the handlers, so two threads' prepare, parent and child
 * handlers interleave. Whatever a prepare hands to its own parent or
 * child handler (which locks it took; that prepare ran at all) is kept
 * per thread (CT_TLS), never in a variable another fork could reset;
 * test fork/threads_forking_at_once.
 *
 * The child part is async-signal-safe (system calls, stores, mmap): it runs
 * after _Fork, which may be called from a signal handler. */
#ifndef CT_FORK_H
#define CT_FORK_H

#include <stdbool.h>

enum ct_fork_lock {
	CT_LOCK_DUMPER_OWNED,
	CT_LOCK_TABLES,
	CT_LOCK_WAITERS,
	CT_LOCK_REPORT_LOAD,
	CT_LOCK_REAL_RESOLVE,
	CT_LOCK_DL_PASS,
	CT_LOCK_COUNT
};

/* Registers the handlers with pthread_atfork, once per process (later
 * calls do nothing). interpose_child, if not NULL, is interpose/'s part
 * of the child protocol (CT_LOCK_REAL_RESOLVE); interpose_hold its test
 * seam (test builds only; may be NULL). From init. */
void ct_fork_install(void (*interpose_child)(void), void (*interpose_hold)(long hold_us));

/* The three parts, for pthread_atfork and the _Fork wrapper. ct_fork_child
 * is async-signal-safe and needs nothing of prepare: it is correct after
 * a fork that ran no prepare handler (_Fork) whatever the other threads of
 * the parent held. */
void ct_fork_prepare(void);
void ct_fork_parent(void);
void ct_fork_child(void);

#ifdef CT_TEST_SEAMS
/* Test builds only (libcontend-seams.so): the name of lock i, and holds
 * lock `which` on the calling thread for hold_us microseconds, the way
 * its real holders do (guard raised), with *held set to 1 while it is
 * held. 0, or -1 for an unknown lock. */
const char *ct_fork_lock_name(int which);
int ct_fork_test_hold(int which, long hold_us, int *held);
#endif

#endif

/* The dumper thread: live profiles while the program runs. Numbered
 * snapshots of every profile (mutex.0001.pb.gz, block.0001.pb.gz, ...)
 * on CONTEND_DUMP_SIGNAL and every CONTEND_INTERVAL, and the
 * /debug/pprof HTTP server of CONTEND_HTTP (report/http.h), all run on
 * this one thread: never in a signal handler, never in a wrapper.
 *
 * It is started with every signal blocked and holds the shim's guard
 * (ct_guard_enter, core/thread.h) for good, so its own locks, allocations
 * and I/O are never profiled and it never appears in a profile. Its work
 * takes no lock the program's threads take (a snapshot reads the tables
 * under per-record sequence counters, core/table.h): it costs them CPU
 * time, never a pause.
 *
 * It exists only when needed, so that a process that never needs it stays
 * single-threaded (unshare(CLONE_NEWUSER) and the like keep working):
 * from init with CONTEND_HTTP (the server answers from the start); with
 * CONTEND_INTERVAL or CONTEND_DUMP_SIGNAL only, from the first of
 *   - the program's first pthread_create (just before its thread), and
 *   - a wrapped blocking call (I/O, sleep, poll, wait) that waited at
 *     least 5 us, once the first snapshot is due or a dump was requested,
 *     made outside any signal handler (the trampoline's count, and on
 *     x86-64 ct_stack_outside_signal_handler),
 *     so that a single-threaded program still gets its snapshots.
 * Until then the dump signal's handler leaves its request in the pipe.
 *
 * It belongs to the process that started it: a fork child has none of
 * its parent's (their descriptors are closed in the child) but is armed
 * with its own, started by the same rules (ct_dumper_postfork_child). */
#ifndef CT_DUMPER_H
#define CT_DUMPER_H

#include <pthread.h>
#include <stdbool.h>

#include "compiler.h"
#include "hot.h"

typedef int (*ct_thread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

/* Whether sig's action is still libcontend's own (the program set no
 * handler and no SIG_IGN for it). Thread-safe. */
typedef bool (*ct_signal_ours_fn)(int sig);

/* From the shim's constructor, after the tables exist: arms the dumper
 * if CONTEND_HTTP, CONTEND_INTERVAL or CONTEND_DUMP_SIGNAL asks for it
 * (its wake-up channel), and starts the thread at once for CONTEND_HTTP
 * only. create is the real pthread_create (not our wrapper); ours tells
 * whether the dump signal is still ours (no action of the program's, and
 * the program has not waited for it with sigwait* or signalfd): then the
 * thread also takes it
 * when the program blocks it in every thread of its own (Apache's
 * workers block every signal), where no handler would ever run. The
 * thread registers its own atexit (stop before the final dump). Returns
 * 0, also when nothing is needed, or -errno (logged; the program runs
 * on). */
int ct_dumper_start(ct_thread_create_fn create, ct_signal_ours_fn ours);

/* From the pthread_create wrapper, guard not held, before the real call:
 * starts an armed dumper that does not run yet. */
void ct_dumper_before_thread_create(void);

/* From the end of a recorded blocking wait, guard not held: starts an
 * armed dumper if a snapshot is due or requested and the caller is not in
 * a signal handler. One load when nothing is armed. Preserves errno. */
void ct_dumper_start_if_due(void);

/* ct_hot.dumper_wanted (hot.h, on the line every timed call reads
 * anyway) is nonzero while an armed dumper without a thread has work now:
 * a fork child's CONTEND_HTTP port 0 server (due at once), or a dump
 * request taken by the signal's handler. */

/* From the start of a blocking call, guard not held: a child that blocks
 * from its start and never returns (a pre-forked worker parked in accept()
 * or epoll_wait(), a stuck request) would otherwise never serve its port,
 * since ct_dumper_start_if_due runs when a wait ends. One load. */
static inline void
ct_dumper_start_if_wanted(void)
{
	if (CT_UNLIKELY(__atomic_load_n(&ct_hot.dumper_wanted, __ATOMIC_RELAXED)))
		ct_dumper_start_if_due();
}

/* The signal whose handler should call ct_dumper_request: the configured
 * CONTEND_DUMP_SIGNAL once the dumper is armed, else 0. */
int ct_dumper_signal(void);

/* From the dump signal's handler: asks the dumper for a numbered
 * snapshot (requests that arrive while one is pending are merged; the
 * thread, if not started yet, takes it when it starts). Async-signal-safe:
 * an atomic add, an fstat(2) and one send(2) to the dumper's wake-up
 * channel (a socket pair: never SIGPIPE); errno preserved. A channel the
 * program has closed (a sweep of its descriptors) gets nothing, and the
 * request still counts: the thread, woken by the channel's end, makes a
 * new one and finds it. False when no dumper is armed
 * in this process, so the caller can apply the signal's default action
 * instead. */
bool ct_dumper_request(void);

/* True while the thread runs in this process. Async-signal-safe. */
bool ct_dumper_running(void);

/* Stops the dumper thread (waits for it, bounded) and says what the live
 * snapshots cost; registered with atexit when the thread starts, and
 * before a seccomp filter (core/dump.h ct_dump_before_sandbox). Nothing
 * when it is not running. Program thread. */
void ct_dumper_stop(void);

/* The program's threads, for glibc's rule that a process whose last
 * thread ends (by pthread_exit, main's included, or cancellation) exits
 * with status 0 as that thread ends: glibc counts every thread, the
 * dumper among them, so while it ran the program's last thread ended and
 * the process lived on, deaf to SIGTERM and SIGINT (the dumper blocks
 * every signal). Counted, once ct_dumper_start armed a dumper: the
 * initial thread and every thread made through the pthread_create
 * wrapper. ct_dumper_thread_coming before the real pthread_create (the
 * count must never be low while the creator may end first),
 * ct_dumper_thread_failed when it failed, ct_dumper_thread_begins first
 * thing in the new thread: it marks the thread with a key whose
 * destructor counts it out at its end, whichever way it ends. The last
 * one stops the dumper thread and joins it, so that glibc's count
 * reaches zero with the program's own last thread. A thread the count
 * does not know (made before init, or by a raw clone) only makes it
 * reach zero early: live profiles then stop early, nothing else.
 * Thread-safe; no allocation in coming/failed/begins; the destructor may
 * block until the dumper has finished what it does (a snapshot). */
void ct_dumper_thread_coming(void);
void ct_dumper_thread_failed(void);
void ct_dumper_thread_begins(void);

/* The fork protocol's part for CT_LOCK_DUMPER_OWNED (core/fork.h). The
 * child part closes the parent's dumper descriptors (wake-up channel, HTTP
 * sockets) and, with rearm, arms a dumper of the child's own, not started:
 * its dump signal and interval snapshots write into its own output
 * directory, and it serves CONTEND_HTTP only when the port is 0 (a fixed
 * port is the parent's; the parent says so once on stderr at its first
 * fork). Without rearm (the copy a signal dump writes from, a _Fork child
 * whose heap cannot be trusted) the child never starts one and the dump
 * signal takes its default action there. Async-signal-safe. */
void ct_dumper_prefork(void);
void ct_dumper_postfork_parent(void);
void ct_dumper_postfork_child(bool rearm);

#ifdef CT_TEST_SEAMS
void ct_dumper_test_hold(long hold_us);
#endif

#endif

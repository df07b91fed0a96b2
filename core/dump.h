/* Writing the profiles to files: at exit, and from a forked copy of the
 * process when a default-action SIGINT/SIGTERM is about to kill it.
 *
 * The report code (libdw, zlib, protobuf-c) lives in libcontend-report.so,
 * dlopen()ed only when there is something to write, so processes that
 * recorded nothing pay neither the loading nor the symbolization. */
#ifndef CT_DUMP_H
#define CT_DUMP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Called once at init (no allocation): where libcontend-report.so is, and
 * how to fork from a signal handler (glibc's _Fork, or NULL). */
void ct_dump_configure(const char *report_lib, pid_t (*fork_fn)(void));

/* Expands CONTEND_OUT for the current pid into an absolute directory path.
 * At init and in a fork child. Async-signal-safe. */
void ct_dump_set_dir(void);

/* The directory the next dump goes to. */
const char *ct_dump_dir(void);

/* Writes mutex<suffix>.pb.gz and block<suffix>.pb.gz if anything was
 * recorded, and says where on stderr unless CONTEND_QUIET. Takes the
 * guard, allocates, dlopen()s: never from a signal handler or a wrapper.
 * Returns 0 (also when there was nothing to write) or -errno. */
int ct_dump_write(const char *suffix);

/* libcontend-report.so's exported symbol name, loading the library on
 * first use (once per process, thread-safe); NULL when it cannot be
 * loaded or lacks name (logged). Guard held; never from a wrapper or a
 * signal handler. */
void *ct_dump_report_sym(const char *name);

struct ct_snapshot;

/* Takes a snapshot of what dumps write: the profile tables and, with
 * threads, the thread registry. Times the table copy: the only step that
 * can hold up the program's threads (each stripe's spinlock is held while
 * that stripe is copied). Guard held; allocates. 0 or -ENOMEM (then snap
 * holds nothing). */
int ct_dump_snapshot(struct ct_snapshot *snap, bool threads);

/* Table copies timed by ct_dump_snapshot so far. */
struct ct_copy_stats {
	uint64_t n;
	int64_t last_ns, max_ns, total_ns; /* wall clock */
	int64_t cpu_max_ns, cpu_total_ns;  /* the copying thread's CPU time */
};
void ct_dump_copy_stats(struct ct_copy_stats *st);

/* The atexit handler: the final dump, once. */
void ct_dump_at_exit(void);

/* From the handler of a fatal signal sig, which the caller has already
 * set back to its default action: writes the final dump from a forked
 * copy and waits for it at most timeout_ms; a watchdog timer delivers sig
 * when the time is up, so a lock frozen by the signal cannot keep the
 * process alive. Does nothing if a final dump already ran. */
void ct_dump_from_signal(int sig, int timeout_ms);

/* From the handler of SIGINT/SIGTERM: the interrupted thread may be
 * inside malloc, where the dump's fork would wait for itself. Hands the
 * signal to a thread blocked in one of our wrappers instead (which is not)
 * and returns true; the caller then just returns. A watchdog re-sends sig
 * to the process if that thread does not take over in time. False when no
 * such thread exists or the signal was handed over once already. */
bool ct_dump_hand_over(int sig, int timeout_ms);

/* True in the child of the fork a signal dump makes: the fork-child hook
 * must keep the tables then. */
bool ct_dump_in_signal_fork(void);

/* From the handler of a crash signal (SIGSEGV ...): writes threads.txt
 * with raw addresses and /proc/self/maps beside it (async-signal-safe),
 * then tries a symbolized dump from a forked copy, waiting at most
 * timeout_ms. Never returns to the fault itself: the caller re-raises. */
void ct_dump_crash(int sig, int timeout_ms);

#endif

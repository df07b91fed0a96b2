/* Writing the profiles to files: at exit, and from a forked copy of the
 * process when a default-action SIGINT/SIGTERM is about to kill it.
 * Three files by lifetime, each with its contract in its opening comment:
 * core/dump.c, the common write path and the output directory (the whole
 * process); core/dump_exit.c, the exit dump (once, at exit);
 * core/dump_fatal.c, the fatal-signal and crash dumps (once, from a signal
 * handler).
 *
 * The report code (libdw, zlib, protobuf-c) lives in libcontend-report.so,
 * loaded (core/plugin.h) only when there is something to write, so
 * processes that recorded nothing pay neither the loading nor the
 * symbolization. */
#ifndef CT_DUMP_H
#define CT_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdint.h>
#include <sys/types.h>

#include "plugin.h"

/* ---- core/dump.c ---- */

/* Expands CONTEND_OUT for the current pid into an absolute directory path
 * (a relative one is taken from the working directory at init, also in a
 * fork child). At init and in a fork child. Async-signal-safe. */
void ct_dump_set_dir(void);

/* The directory the next dump goes to. */
const char *ct_dump_dir(void);

/* Whether this process only borrows the shim's memory: a vfork() child
 * (or a clone() without fork handlers) sharing it with the process the
 * shim's state belongs to, until it execs or exits. What such a child
 * does to itself (dropping root, confining itself with seccomp) must not
 * change that state. Async-signal-safe (one getpid). */
bool ct_dump_borrowed(void);

/* The program running as root is about to give up root for good, to
 * uid (interpose/creds.c): makes the output directory now, owned by uid
 * and the group the process has, if uid itself could not make it later
 * (core/outfile.h ct_outfile_make_dir_for), unless the process changed
 * its root (ct_dump_after_chroot): then it only says, on stderr, when uid
 * will not be able to write there. After the call, with its
 * result: a call that failed leaves the process root, and the directory
 * made for uid is given back to it. Thread-safe; async-signal-safe (as
 * setuid is); keeps errno. */
void ct_dump_before_uid_drop(uid_t uid);
void ct_dump_after_uid_drop(bool dropped);

/* The program is about to change its root (interpose/creds.c): then the
 * report library and the files names come from resolve in the new root,
 * if at all (bind, postfix, vsftpd, sshd's privilege separation). Loads
 * the report library and opens the loaded objects' files and, when
 * something was recorded, resolves the recorded stacks and this call's,
 * keeping the files open (regular files: a jailed process may hold them
 * without a way out, which a directory would give it; so the output
 * directory is the one its path names inside the new root). Program
 * thread; nothing from a signal handler; keeps errno. */
void ct_dump_before_chroot(void);
/* After a chroot that succeeded: a later uid drop makes no directory for
 * the new user (ct_dump_before_uid_drop), since a jail must stay
 * unwritable for it. Async-signal-safe. */
void ct_dump_after_chroot(void);

/* Writes mutex<suffix>.pb.gz and block<suffix>.pb.gz if anything was
 * recorded, with the thread dump (threads<suffix>.txt ...) beside them,
 * and says where on stderr unless CONTEND_QUIET. With threads, the thread
 * dump is written even when nothing was recorded (a requested live dump).
 * Takes the guard, allocates, dlopen()s: never from a signal handler or a
 * wrapper. Returns 0 (also when there was nothing to write) or -errno. */
int ct_dump_write(const char *suffix, bool threads);

struct ct_snapshot;

/* Takes a snapshot of what dumps write: the profile tables and, with
 * threads, the thread registry. Times the table copy. Neither takes a lock
 * the program's threads take (core/table.h, threads.h): a snapshot holds
 * none of them up. Guard held; allocates. 0 or -ENOMEM (then snap holds
 * nothing). */
int ct_dump_snapshot(struct ct_snapshot *snap, bool threads);

/* Table copies timed by ct_dump_snapshot so far (the struct is the one
 * the HTTP server reads through ct_http_host.copy_stats). Thread-safe. */
void ct_dump_copy_stats(struct ct_copy_stats *st);

/* Fork child (core/fork.h), async-signal-safe, except in a signal
 * dump's copy: the final dump's state is this process's own and the
 * output directory is CONTEND_OUT for the child's pid. */
void ct_dump_fork_child(void);

/* ---- core/dump_exit.c ---- */

/* The atexit handler: the final dump, once. Called by exit() in a
 * signal handler that interrupted the heap's or the loader's code on this
 * thread (ct_dump_set_locking_code), it writes nothing and says so: that
 * code may hold a lock only the interrupted frame would release, and the
 * dump allocates and loads (it hung such a process for good, where exit
 * alone is fine: a SIGTERM handler that calls exit() while the main
 * thread frees memory). */
void ct_dump_at_exit(void);

/* At init, on the process's initial thread (whose stack grows to its
 * limit, unlike other threads' and a fork child's forked thread's). */
void ct_dump_exit_init(void);

/* Before the program confines itself with seccomp (interpose/sandbox.c),
 * after which a system call its filter does not allow kills it: stops the
 * dumper thread (waiting for it as at exit), writes what was recorded, as
 * the final dump at exit would (it then writes nothing), and sets
 * ct_sandboxed and clears ct_hot.ready (core/profiles.h). Once; program thread;
 * allocates; keeps errno. */
void ct_dump_before_sandbox(void);

/* The program is about to replace its image (the exec family,
 * interpose/exec.c): what was recorded would go with it, so it is written
 * now, if there is anything (a fork child that execs at once recorded
 * nothing, and pays one check), with CT_SUFFIX_EXEC in the names
 * (mutex.exec.pb.gz, threads.exec.txt): the new image keeps the pid and
 * writes its own under the plain names. Should the exec fail, the process
 * goes on and its exit writes everything under the plain names; a later
 * exec of the same process writes nothing more. Nothing from a signal
 * handler (exec is async-signal-safe, writing is not), a vfork() child
 * (its parent's memory: the parent writes its own at its exit), a
 * sandboxed process or once the final dump is claimed. Program thread;
 * allocates; keeps errno. */
void ct_dump_before_exec(void);

/* Code in which a thread may hold the heap's or the dynamic loader's
 * lock (libc, the loader, the object that defines malloc): executable
 * range i of CT_DUMP_LOCKING_CODE, [lo, hi); 0, 0 when unknown. Set once
 * at init, before any handler runs. */
#define CT_DUMP_LOCKING_CODE 3
void ct_dump_set_locking_code(int i, uintptr_t lo, uintptr_t hi);

/* ---- core/dump_fatal.c ---- */

/* Called once at init (no allocation): how to fork from a signal handler
 * (glibc's _Fork, or NULL). */
void ct_dump_configure(pid_t (*fork_fn)(void));

/* From the handler of SIGINT/SIGTERM at their default action (all
 * signals blocked), with the ucontext_t it got. Returns only when the
 * signal came while its thread held a lock the fork needs (inside malloc
 * or fork(): core/forklocks.h), with the signal to come again as the
 * thread leaves that function (or, where that cannot be arranged, to the
 * process a millisecond later, a few dozen times at most); otherwise
 * never returns to the program. The first thread to get
 * here writes the final dump from a forked copy (glibc's fork, which waits
 * out malloc locks held by other threads), then sends sig to every other
 * thread, which parks in this function with every signal blocked, waits
 * for the copy at most timeout_ms, and calls die(sig), which must end the
 * process with sig. sig is unblocked in the writing thread: a watchdog
 * sends it after fork_ms if the fork has not returned (the thread held a
 * lock the fork needs) or after timeout_ms, and a second sig from outside
 * ends the wait too; either way the process dies of sig, bounded by
 * timeout_ms (a SIGKILL 2 s later if sig was made SIG_IGN meanwhile).
 * Async-signal-safe apart from the fork. */
void ct_dump_fatal(int sig, const void *uc, int fork_ms, int timeout_ms, void (*die)(int));

/* True in the child of the fork a signal dump makes: the fork-child hook
 * must keep the tables then. */
bool ct_dump_in_signal_fork(void);

/* Fork prepare (core/fork.h), before the locks are taken: when earlier
 * fork children of this process wrote profiles (they say so in a page
 * shared with them) or this process recorded enough to write its own,
 * loads the report library and has it resolve this process's recorded
 * stacks and the fork's own stack with the kept symbolizer
 * (ct_report_warm), so the child, and every later one, inherits the
 * debug information already read. Once per set of loaded objects;
 * nothing from a signal handler, with the guard held, or on glibc < 2.35
 * (whose prepare handlers run under its atfork lock). Keeps errno. */
void ct_dump_prefork(void);

#ifdef CT_TEST_SEAMS
/* Test builds only (libcontend-seams.so): the return addresses this
 * process's fork children reported having resolved themselves (at most
 * max into out); returns how many there are. */
size_t ct_dump_test_kids_pcs(uintptr_t *out, size_t max);
/* The forked copy of a crash dump sleeps ms before it writes: a window
 * in which a test sees what the process's other threads do meanwhile. */
void ct_dump_test_crash_copy_delay(int ms);
#endif

/* Fork child (core/fork.h), async-signal-safe, except in a signal
 * dump's copy: no fatal dump is under way in this process. */
void ct_dump_fatal_fork_child(void);

/* From the handler of a crash signal (SIGSEGV ...), with the ucontext_t
 * it got: writes threads.txt with raw addresses and /proc/self/maps
 * beside it (async-signal-safe), then tries a symbolized dump from a
 * forked copy, waiting at most timeout_ms (a crash inside malloc or
 * fork() gives the fork less: core/forklocks.h). Once the copy is made,
 * every other thread is sent park_sig (0: none), which must reach one of
 * our handlers, where ct_dump_crash_bystander parks it: natively no
 * thread ran on after a crash. The first thread to crash is the one that
 * writes; another that crashes meanwhile parks. Never returns to the fault itself: the caller re-raises.
 * Call it on a stack of our own (core/ownstack.h): the copy writes on the
 * stack this runs on. */
void ct_dump_crash(int sig, const void *uc, int timeout_ms, int park_sig);

/* First thing in each of our handlers of tracked signals: while another
 * thread of this process writes its crash dump, parks the calling thread
 * for good, every signal blocked. Async-signal-safe. */
void ct_dump_crash_bystander(void);

#endif

/* The dumper thread: live profiles while the program runs. Numbered
 * snapshots of every profile (mutex.0001.pb.gz, block.0001.pb.gz, ...)
 * on CONTEND_DUMP_SIGNAL and every CONTEND_INTERVAL, and the
 * /debug/pprof HTTP server of CONTEND_HTTP (report/http.h), all run on
 * this one thread: never in a signal handler, never in a wrapper.
 *
 * It is started with every signal blocked and keeps the shim's guard
 * (ct_self.busy) raised for good, so its own locks, allocations and I/O
 * are never profiled and it never appears in a profile. Its work holds
 * up the program's threads only while a snapshot copies the tables.
 *
 * It belongs to the process that started it: a fork child has none (its
 * descriptors are closed in the child, and the dump signal then takes
 * its default action there). */
#ifndef CT_DUMPER_H
#define CT_DUMPER_H

#include <pthread.h>
#include <stdbool.h>

typedef int (*ct_thread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

/* From the shim's constructor, after the tables exist: starts the thread
 * if CONTEND_HTTP, CONTEND_INTERVAL or CONTEND_DUMP_SIGNAL asks for it.
 * create is the real pthread_create (not our wrapper). Registers its own
 * atexit (stop before the final dump) and fork-child hooks. Returns 0,
 * also when nothing is needed, or -errno (logged; the program runs on). */
int ct_dumper_start(ct_thread_create_fn create);

/* The signal whose handler should call ct_dumper_request: the configured
 * CONTEND_DUMP_SIGNAL once the dumper runs, else 0. */
int ct_dumper_signal(void);

/* From the dump signal's handler: asks the dumper for a numbered
 * snapshot (requests that arrive while one is pending are merged).
 * Async-signal-safe: an atomic add and one write(2) to the dumper's pipe;
 * errno preserved. False when no dumper runs in this process, so the
 * caller can apply the signal's default action instead. */
bool ct_dumper_request(void);

#endif

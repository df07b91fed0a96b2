/* report/: turns a core snapshot into symbolized pprof files.
 *
 * Runs only off the hot path (exit, dump thread, CLI, tests). May allocate,
 * use stdio, zlib, libdw and protobuf-c. Not async-signal-safe. Not
 * re-entrant: one caller at a time. The caller sets the shim's per-thread
 * guard so that locks taken in here are not profiled.
 *
 * libcontend.so does not link this code: it dlopen()s libcontend-report.so
 * and looks up ct_report_write only when there is something to write, so a
 * process that recorded nothing never loads libdw, zlib or protobuf-c. The
 * interface between the two (struct ct_report_opts, ct_report_write_fn)
 * is core/plugin.h.
 */
#ifndef CT_REPORT_H
#define CT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/compiler.h"
#include "../core/plugin.h"
#include "../core/snapshot.h"

/* Writes <dir>/mutex<suffix>.pb.gz and <dir>/block<suffix>.pb.gz (gzip'd
 * perftools.profiles.Profile), and the thread dumps when the snapshot has
 * threads, fully symbolized from the current process's /proc/self/maps.
 * Files follow core/outfile.h: written to a new temporary name and moved
 * into place, so a reader never sees a partial file, and never replacing
 * a file another process wrote (then pid-qualified names are used). Each
 * file is tried even when another failed. Returns 0 or the first
 * negative errno.
 *
 * dir and its missing parents are created. opts->errbuf (if any) is
 * cleared on entry. Symbolization looks at the process
 * as it is at the call (getpid() then), so this works from an atexit
 * handler and in a forked child; debug info is only read from local files
 * (never debuginfod). Odd addresses (0, unmapped, no symbols) become
 * Locations without lines, never a failure. The snapshot is not modified. */
CT_EXPORT int ct_report_write(const struct ct_snapshot *snap, const struct ct_report_opts *opts);

/* Before a fork in a process whose fork children write profiles (the
 * postmaster of a process-per-connection server): takes the process's
 * kept symbolizer (symbolize.h, ct_symbolize_acquire) for snap and
 * resolves, as the writer would, every return address of snap's records
 * and pcs[0..npcs) (the stack of the fork call, which every child's
 * stacks share at their base). That opens the debug information of the
 * objects involved (the program, libc) once, in the parent: the children
 * inherit it and resolve their own addresses without reading or
 * decompressing those files again. With a new kept symbolizer it also
 * reads the process's mappings, which a child whose objects and addresses
 * they cover uses for its profiles instead of /proc/self/maps. Does
 * nothing when the kept symbolizer is in use. Same context rules as
 * ct_report_write. */
CT_EXPORT void ct_report_warm(const struct ct_snapshot *snap, const uintptr_t *pcs, size_t npcs);

/* Before a chroot (core/dump.h ct_dump_before_chroot) with nothing
 * recorded yet: opens the file of every object snap lists into the kept
 * symbolizer (no debug information: that costs tens of ms for libc's, and
 * most such processes record nothing), so that addresses recorded later
 * are named from the objects' symbol tables when their files are out of
 * the new root's reach. Same context rules as ct_report_write. */
CT_EXPORT void ct_report_open_objects(const struct ct_snapshot *snap);

/* ct_report_set_demangler, the library's last export, is in demangle.h. */

/* Renders one profile of snap into memory, for the HTTP endpoint and
 * snapshots. name: "mutex", "block", "threads" (alias "goroutine") or
 * "threadcreate"; debug 0 = gzip'd protobuf, 1 = legacy text that pprof
 * parses (mutex/block), 2 = the threads.txt dump (threads only). *out is
 * malloc'ed and owned by the caller. Returns 0, -ENOENT (unknown name),
 * -EINVAL (debug level not offered for name) or -errno. Same context rules
 * as ct_report_write. */
CT_EXPORT int ct_report_render(const struct ct_snapshot *snap, const char *name, int debug,
			       uint8_t **out, size_t *outlen);
typedef int (*ct_report_render_fn)(const struct ct_snapshot *, const char *, int, uint8_t **,
				   size_t *);

#endif

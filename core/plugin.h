/* The interface between libcontend.so (the shim: interpose/ over core/)
 * and libcontend-report.so (report/: symbolization, pprof, HTTP), and the
 * loader of the latter.
 *
 * The shim links none of report/: it dlopen()s libcontend-report.so only
 * when there is something to write or serve, so a process that recorded
 * nothing never loads libdw, zlib or protobuf-c, and looks up four exported
 * symbols in it:
 *   - ct_report_write (ct_report_write_fn): the files of a dump;
 *   - ct_report_warm (ct_report_warm_fn): symbols resolved before a fork,
 *     for the children (core/dump.h, ct_dump_prefork), and before a
 *     chroot (ct_dump_before_chroot);
 *   - ct_report_open_objects (ct_report_open_objects_fn): the loaded
 *     objects' files opened and kept, before a chroot;
 *   - ct_http_ops (struct ct_http_ops): the /debug/pprof server, which
 *     calls back into the shim through struct ct_http_host.
 * Everything both sides must agree on is declared here and only here;
 * report/ implements it (report/report.h, report/http.h), core/ calls it
 * (core/dump.c, core/dumper.c). Core includes no report/ header.
 *
 * The report side runs on the calling thread with the shim's guard held
 * (core/thread.h), so the locks, allocations and I/O it makes pass
 * through the shim's wrappers unrecorded. Never async-signal-safe. */
#ifndef CT_PLUGIN_H
#define CT_PLUGIN_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "snapshot.h"

/* ---- the dump writer: ct_report_write ---- */

struct ct_output;
struct ct_scratch;

struct ct_report_opts {
	const char *dir;       /* output directory; created (mode 0700) if missing */
	const char *suffix;    /* "" or e.g. ".0001" for numbered snapshots: mutex.0001.pb.gz */
	char *errbuf;          /* failures (one line per failed file) and notices, lines
				  separated by '\n'; "" when there is nothing to say */
	size_t errlen;
	int summary;           /* print deadlocks, stuck threads and leaks on stderr */
	struct ct_output *out; /* the process's naming state across dumps; NULL = fresh */
	int quiet;             /* no notice about pid-qualified names */
	char *wrote;           /* (may be NULL) "mutex.pb.gz, block.pb.gz and threads.txt":
				  the files placed, for the 'wrote' line */
	size_t wrotelen;
	/* (may be NULL) the shim's scratch heap in use (core/scratch.h):
	 * the report library's own allocations come from it too, until
	 * ct_report_write returns. Only with no other thread running. */
	struct ct_scratch *scratch;
};

/* The type of ct_report_write (contract in report/report.h). */
typedef int (*ct_report_write_fn)(const struct ct_snapshot *, const struct ct_report_opts *);

/* The type of ct_report_warm (contract in report/report.h): before a
 * fork, resolves the addresses of snap's records and pcs[0..npcs) (return
 * addresses: the fork's own stack) with the process's kept symbolizer, so
 * fork children inherit it filled. */
typedef void (*ct_report_warm_fn)(const struct ct_snapshot *snap, const uintptr_t *pcs,
				  size_t npcs);

/* The type of ct_report_open_objects (contract in report/report.h): opens
 * the file of every object snap lists into the kept symbolizer, so that
 * their symbol tables name addresses once the files are out of reach. */
typedef void (*ct_report_open_objects_fn)(const struct ct_snapshot *snap);

/* The type of ct_report_set_demangler (contract in report/report.h). */
typedef void (*ct_report_set_demangler_fn)(void *fn);

/* ---- the HTTP server: ct_http_ops ---- */

/* Connections served at once; more are answered 503 and closed. */
#define CT_HTTP_MAX_CONNS 16
/* Connections being refused or closed (not counted above): a few bytes
 * each, so a burst of refused clients still gets its 503. */
#define CT_HTTP_MAX_CLOSING 256
/* Descriptors ct_http_ops.pollfds may fill: the host sizes its poll
 * array with this. */
#define CT_HTTP_MAX_POLLFDS (1 + CT_HTTP_MAX_CONNS + CT_HTTP_MAX_CLOSING)

/* Table copies of the snapshots taken so far: wall clock and the copying
 * thread's CPU. What a copy costs the dumper, not the program: it takes
 * no lock a recording thread takes (core/table.h). */
struct ct_copy_stats {
	uint64_t n;
	int64_t last_ns, max_ns, total_ns; /* wall clock */
	int64_t cpu_max_ns, cpu_total_ns;  /* the copying thread's CPU time */
	/* Records taken while their writer was stopped in the middle of an
	 * event (core/table.h), over all copies: each may be off by that one
	 * event. 0 normally. */
	uint64_t unsettled;
};

/* What the server needs from the shim, which owns the tables and the
 * settings. Called on the server's thread. */
struct ct_http_host {
	/* A snapshot of every profile and, with threads, of the thread
	 * registry. 0 or -errno. */
	int (*snapshot)(struct ct_snapshot *snap, bool threads);
	/* The sampling setting of kind (mutex: fraction N, 1 in N; block:
	 * rate in ns; 0 = off). With set != NULL, *set becomes the setting
	 * (a relaxed atomic store the recording paths see at their next
	 * event) and the previous value is returned. */
	uint64_t (*sampling)(enum ct_profile_kind kind, const uint64_t *set);
	/* Live snapshots taken so far and their table-copy times. */
	void (*copy_stats)(struct ct_copy_stats *st);
	/* Only the loaded objects (snap->dl_live, from dl_iterate_phdr: no
	 * /proc, so it works after a credential change) and the unload
	 * history, without copying the tables: for /debug/pprof/symbol.
	 * snap is zeroed first; free it with ct_snapshot_free. 0 or -ENOMEM. */
	int (*objects)(struct ct_snapshot *snap);
	/* accept4(lfd, SOCK_NONBLOCK | SOCK_CLOEXEC) under the lock fork()
	 * takes, listing the connection as the dumper's own: a fork child
	 * then closes it, so that a child forked while a request is served
	 * never holds the client's connection open. The descriptor, or -1
	 * with errno as accept4 sets it. NULL: plain accept4. */
	int (*accept)(int lfd);
};

struct ct_http;

/* The server (contract of the whole in report/http.h). Not thread-safe:
 * one owner thread. Allocates. */
struct ct_http_ops {
	/* Serves the listening socket lfd (non-blocking; the shim binds it
	 * early and loads this library at the first connection, so that
	 * short-lived processes never pay for it). ldev/lino: the socket's
	 * identity (fstat) when the shim made it. A descriptor that is no
	 * longer that socket (the program closed it, or dup2'd a file of its
	 * own onto the number) is the program's: refused with -EBADF, never
	 * served, never closed. On success *out owns lfd. 0 or -errno with a
	 * message in errbuf. */
	int (*open)(int lfd, dev_t ldev, ino_t lino, const struct ct_http_host *host,
		    struct ct_http **out, char *errbuf, size_t errlen);
	/* Fills at most max pollfds; lowers *deadline_ns (CLOCK_MONOTONIC)
	 * to the next time-out of the server. Returns how many. */
	int (*pollfds)(struct ct_http *h, struct pollfd *fds, int max, int64_t now_ns,
		       int64_t *deadline_ns);
	/* After poll(): fds/n exactly as pollfds filled them, with revents. */
	void (*step)(struct ct_http *h, const struct pollfd *fds, int n, int64_t now_ns);
	/* Closes every socket and frees h. NULL is fine. */
	void (*close)(struct ct_http *h);
};

/* ---- the loader (core/plugin.c) ---- */

/* Called once at init (no allocation): where libcontend-report.so is. */
void ct_plugin_configure(const char *report_lib);

/* libcontend-report.so's exported symbol name, loading the library on
 * first use (once per process, thread-safe: the dumper thread and the
 * exit path may both ask; the one that does not load waits at most 5 s);
 * NULL when it cannot be loaded or lacks name (logged). Guard held; never
 * from a wrapper or a signal handler. */
void *ct_plugin_sym(const char *name);

/* Before a call into the loaded report library: hands it the program's
 * C++ demangler (report/demangle.h) if the program loaded one since the
 * last look (a C program's C++ module); nothing once one was found. One
 * dl_iterate_phdr step otherwise. Same context as ct_plugin_sym. */
void ct_plugin_demangler_refresh(void);

/* Fork child (core/fork.h), async-signal-safe: the library's "loading"
 * state of a thread that is gone becomes "not tried"
 * (CT_LOCK_REPORT_LOAD). */
void ct_plugin_fork_child(void);

#ifdef CT_TEST_SEAMS
/* Holds the loader in its "loading" state for hold_us (fork tests). */
void ct_plugin_test_hold_load(long hold_us);
#endif

#endif

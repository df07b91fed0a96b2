/* In-process symbolization with elfutils libdw: code address -> function
 * name, source file, line and inline chain, for the pprof writer.
 *
 * `go tool pprof` cannot symbolize C or C++ binaries (pprof-format.md
 * §1.7), so report/ resolves every address at dump time, in the process
 * that recorded it, while its mappings are still present.
 *
 * A symbolizer describes the modules mapped when it was created; create
 * it at dump time, not at startup, so dlopen()ed libraries are seen.
 * Debug info is looked up locally only (the file itself, /usr/lib/debug
 * by build-id and .gnu_debuglink): never through debuginfod, because
 * this runs in an arbitrary process's atexit handler.
 *
 * Everything is cached for the symbolizer's lifetime: results per
 * address, names per function, a sorted function index per DWARF CU and
 * a sorted symbol index per module, so each new address costs a few
 * binary searches instead of a walk over a CU or a symbol table.
 *
 * Not thread-safe: one owner. Allocates. Not async-signal-safe.
 */
#ifndef CT_SYMBOLIZE_H
#define CT_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ct_symbolizer;

/* One source-level frame. Strings are owned by the symbolizer. */
struct ct_frame {
	const char *name;        /* demangled function name; never NULL */
	const char *system_name; /* linkage (mangled) name, else == name */
	const char *file;        /* source path, absolute unless the compiler
				  * relativized DW_AT_comp_dir; NULL if unknown */
	int64_t line;            /* 0 if unknown */
	int64_t column;          /* 0 if unknown */
	int64_t start_line;      /* the function's declaration line, 0 if unknown */
};

/* Creates a symbolizer for the current process (getpid() now, so a
 * forked child describes itself). Returns 0 or a negative errno. */
int ct_symbolize__new(struct ct_symbolizer **out);

/* Creates a symbolizer for one ELF file as if loaded at bias (its load
 * bias, dl_phdr_info.dlpi_addr): for a library that was unloaded since
 * its addresses were recorded. Returns 0, -ENOENT when the file cannot be
 * read as ELF, or -ENOMEM. */
int ct_symbolize__new_elf(const char *path, uint64_t bias, struct ct_symbolizer **out);

/* Creates a symbolizer for the current process from the objects listed
 * in v (path and load bias each; core/dlhist.c lists them with
 * dl_iterate_phdr), without /proc/self: for a process that changed its
 * uid/gid or set itself non-dumpable, whose /proc/self/auxv and maps
 * libdwfl can no longer read. Objects whose file cannot be read are left
 * out and named in ct_symbolize_note. Returns 0, -ENOENT when no object
 * could be reported, or -ENOMEM. */
struct ct_dl_gone;
int ct_symbolize__new_objs(const struct ct_dl_gone *v, size_t n, struct ct_symbolizer **out);

/* For a snapshot of this process: ct_symbolize__new, and when /proc/self
 * is closed to us, ct_symbolize__new_objs over snap->dl_live (saying so
 * once on stderr when a file cannot be read). Returns as those do. */
struct ct_snapshot;
int ct_symbolize__new_snap(const struct ct_snapshot *snap, struct ct_symbolizer **out);

/* The process's kept symbolizer for a snapshot of this process: the one
 * kept from an earlier write when the objects it was made for are still
 * the ones snap->dl_live lists (same paths, load biases and build IDs),
 * else a new one (ct_symbolize__new_snap), kept in its place. Kept means
 * kept across writes and across fork(): a fork child inherits its open
 * libdw sessions (debug information already read and decompressed) and
 * every address resolved so far, so a child that writes at exit resolves
 * only what its parent never did, and never opens a file again for
 * objects its parent already read (see ct_report_warm). When the kept one
 * is in use (another thread writing, or was when this process was forked
 * from its parent) *out is a new, private one instead. Pair every success
 * with ct_symbolize_release. Thread-safe (an atomic flag; no lock, so a
 * fork at any moment leaves nothing that can deadlock). Returns as
 * ct_symbolize__new_snap. */
int ct_symbolize_acquire(const struct ct_snapshot *snap, struct ct_symbolizer **out);

/* Makes room in sym's caches for about addrs more addresses (their
 * frames, functions, strings, CUs), so that resolving them grows none of
 * the caches' arrays. The kept symbolizer gets it before a fork
 * (ct_report_warm): a fork child's dump runs on a thread of its own, and
 * growing an array it inherited would be a realloc in its parent's heap
 * (the main malloc arena), which first consolidates the parent's free
 * chunks: writes all over pages the child shares copy-on-write with its
 * parent (measured in a PostgreSQL backend: 0.3 M instructions for the
 * one realloc, and the page copies). The room is address space the
 * parent does not touch. 0 or -ENOMEM (then sym is unchanged or only has
 * more room). */
int ct_symbolize_reserve(struct ct_symbolizer *sym, size_t addrs);

/* Opens the ELF file of every module of sym now (libdwfl opens them at
 * their first lookup), for a process about to lose sight of them. */
void ct_symbolize_open_all(struct ct_symbolizer *sym);

/* Whether sym is the kept one (not a private one). */
bool ct_symbolize_is_kept(const struct ct_symbolizer *sym);

/* Changes whenever a new kept symbolizer is made (for the same objects as
 * long as it stays the same). Not thread-safe: under the kept one's use
 * (between ct_symbolize_acquire and ct_symbolize_release). */
uint64_t ct_symbolize_kept_gen(void);

/* Gives back what ct_symbolize_acquire gave: the kept one stays (and is
 * free again), a private one is freed. NULL is allowed. */
void ct_symbolize_release(struct ct_symbolizer *sym);

/* "" or one line naming the files that could not be read (for the
 * profile's comments). Owned by sym. */
const char *ct_symbolize_note(const struct ct_symbolizer *sym);

/* NULL is allowed. */
void ct_symbolize__free(struct ct_symbolizer *sym);

/* Resolves the code at addr (for a return address pass pc - 1, the call
 * instruction). On success *frames points to *nframes frames, innermost
 * first: inlined callees, then the physical function last. *nframes is 0
 * when nothing is known about addr (0, unmapped, stripped without
 * symbols); that is not an error. *frames stays valid until the next call
 * or ct_symbolize__free. Results are cached per address and names per
 * function. Returns 0 or -ENOMEM. */
int ct_symbolize_addr(struct ct_symbolizer *sym, uint64_t addr, const struct ct_frame **frames,
		      size_t *nframes);

/* Lexically cleans a path in place, like Go's filepath.Clean:
 * "/a/./b//../c/" -> "/a/c", "/.." -> "/", "x/../../y" -> "../y",
 * "a/.." -> ".". Used on DWARF file names so pprof shows a compiler's
 * "build/../src/x.c" as "src/x.c" under the same root. No allocation;
 * any context. */
void ct_symbolize_clean_path(char *path);

#endif

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

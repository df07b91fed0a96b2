/* Which shared objects were mapped when a stack was recorded.
 *
 * Return addresses are symbolized when a file is written, against the
 * mappings of that moment; a library unloaded before then (dlclose) may
 * since have been replaced by another at the same address. So every
 * dlclose that unmaps objects ends a generation: the objects it removed
 * (path, load bias, executable range, build ID) are kept with the
 * generation they belonged to, and every record carries the generation it
 * was made in (core/table.c). report/ resolves an address of generation g
 * against the first object removed at a generation >= g that contains it,
 * and against the current mappings when none does (the object is still
 * mapped).
 *
 * The history is a fixed array in .bss (pages touched only by unloads):
 * CT_DLHIST_MAX removed objects; later ones are counted as dropped, start
 * no generation, and their addresses resolve against what is mapped at
 * write time (the profile says so in its comments).
 *
 * Known gap: a library that another thread loads (and runs and records
 * in) at the address of one just unmapped, before the dlclose wrapper
 * has bumped the generation (microseconds after the real dlclose
 * returns), is taken for the unmapped one. */
#ifndef CT_DLHIST_H
#define CT_DLHIST_H

#include <link.h>
#include <stdbool.h>

#include <stdint.h>

#include "snapshot.h"

#define CT_DLHIST_MAX 256

/* The current generation, from 1; read once per recorded event. */
extern uint32_t ct_dl_gen;

static inline uint32_t
ct_dlhist_gen(void)
{
	return __atomic_load_n(&ct_dl_gen, __ATOMIC_ACQUIRE);
}

/* The loaded objects before a dlclose, to compare after it. */
struct ct_dlhist_list;

/* Lists the loaded objects (dl_iterate_phdr; reads their build-ID notes
 * in memory). Allocates with malloc; NULL when out of memory (the unload
 * is then not recorded). Thread-safe; not async-signal-safe. Call with
 * the shim's guard held, before the real dlclose. */
struct ct_dlhist_list *ct_dlhist_before(void);

/* After the real dlclose: keeps the objects of before that are gone and,
 * if any is, starts a new generation. Frees before (NULL is a no-op).
 * Thread-safe (slots are claimed atomically), no locks. */
void ct_dlhist_after(struct ct_dlhist_list *before);

/* Records the main program's absolute path while /proc/self/exe can
 * still be read (a process that changes uid/gid or sets itself
 * non-dumpable loses that), else from AT_EXECFN and the working
 * directory. Call once at startup; not thread-safe. */
void ct_dlhist_init(void);

/* The main program's path from ct_dlhist_init, "" when unknown. */
const char *ct_dlhist_exe(void);

/* Copies the history into snap (dl_gen, dl_gone, dl_gone_dropped) and
 * lists what is mapped now (dl_live), without /proc. Allocates; 0 or
 * -ENOMEM (dl_live alone failing leaves it empty: report/ then reads
 * /proc/self/maps). Takes the loader's lock (dl_iterate_phdr). */
int ct_dlhist_snapshot(struct ct_snapshot *snap);

/* dl_iterate_phdr for the shim's own passes over the loaded objects
 * (here and core/dump.c). glibc holds its loader write lock while it
 * calls back, and a fork that copies the process meanwhile (another
 * thread forking while the dumper thread took a snapshot) leaves that
 * lock held in the child for good: the child's exit dump, which walks
 * the objects too, hung until its 10 s deadline and wrote nothing. So
 * these passes and the fork exclude each other: ct_dl_fork_hold, from
 * fork's prepare handler, waits for a pass under way to end and holds
 * further passes off until ct_dl_fork_release, from the parent and child
 * handlers. A thread never waits for itself (a signal handler that
 * interrupted its pass), and no wait is longer than about a second.
 * Not async-signal-safe (the callback's own contract). */
int ct_dl_iterate(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data);
/* The same exclusion around the shim's other calls into the loader
 * (dlopen and dlsym of the report library and of libunwind, libgcc_s
 * loaded by the first backtrace(), libunwind's walks of another thread's
 * stack, which look up each frame with dl_iterate_phdr), which also hold
 * its locks for a while. report/ makes no such call: its lock names use
 * the snapshot's list of objects (tests/layering checks both). True if this
 * call took the lock, to be given back to ct_dl_forks_on. Waits at most
 * about a second. */
bool ct_dl_forks_off(void);
void ct_dl_forks_on(bool mine);
void ct_dl_fork_hold(void);
#ifdef CT_TEST_SEAMS
/* Holds the lock for hold_us inside a pass (glibc's loader lock held
 * too), the way a snapshot's pass does (fork test seam, core/fork.h). */
void ct_dl_test_hold(long hold_us);
#endif
void ct_dl_fork_release(void);
/* The child of a _Fork (no prepare ran): frees the lock whoever held it. */
void ct_dl_fork_child_unprepared(void);

#endif

/* Between the dump files only (core/dump.c, dump_exit.c, dump_fatal.c):
 * the state every final dump shares, owned by core/dump.c. Everything
 * here is async-signal-safe (single words, atomics) and allocates nothing. */
#ifndef CT_DUMP_INT_H
#define CT_DUMP_INT_H

#include <stdbool.h>
#include <sys/types.h>

struct ct_output;

/* Claims the process's one final dump (exit, fatal signal or crash): true
 * for the first caller only. Thread-safe. */
bool ct_dump_final_claim(void);

/* True once some caller claimed the final dump. */
bool ct_dump_final_claimed(void);

/* Whether this process is a fork child made through fork() (the shim's
 * prepare handler gave it a page shared with its parent, where it counts
 * itself once it wrote). */
bool ct_dump_is_fork_child(void);

/* The profiled process whose profiles a forked copy writes (its files and
 * pid carry that one); 0 when this process writes its own. Set before the
 * fork of a signal dump. */
void ct_dump_set_profiled_pid(pid_t pid);
pid_t ct_dump_profiled_pid(void);

/* What names this process's files take and which directory it made
 * (outfile.h); the crash dump writes through it. */
struct ct_output *ct_dump_output(void);

#endif

/* Stable names of locks, resolved when profiles are written (never on
 * the hot path, which keeps only addresses: core/locks.h).
 *
 * A lock's name, in this order:
 *   1. the data symbol that holds it (a static or global lock): the ELF
 *      symbol table of the object mapping the address, demangled
 *      (`ledger_lock`, `Cache::mu_`); inside a bigger object, symbol+0xOFF
 *      (`g_cache+0x8`, a member of a static struct);
 *   2. else where it was created: the caller of pthread_mutex_init,
 *      pthread_rwlock_init, pthread_spin_init, pthread_cond_init, sem_init
 *      or pthread_barrier_init, as `function (file.c:LINE)`;
 *   3. else (a heap lock set up with PTHREAD_MUTEX_INITIALIZER, or one
 *      whose creation site was evicted) the first recorded wait on it, in
 *      the same form;
 *   4. else its address, `0x55d0c2a4b0c0` (not stable across runs).
 * Names 1-3 do not depend on where the objects were loaded (ASLR), so the
 * same program gives the same names run after run. Many heap locks made
 * at one site share that site's name: they are one lock class.
 *
 * Runs in the profiled process (the symbol lookup reads the files of the
 * objects the snapshot lists as loaded). Not thread-safe: one owner. Allocates. */
#ifndef CT_REPORT_LOCKNAMES_H
#define CT_REPORT_LOCKNAMES_H

#include <stddef.h>
#include <stdint.h>

struct ct_snapshot;
struct ct_symbolizer;
struct ct_locknames;

enum ct_lockname_how {
	CT_LN_SYMBOL,
	CT_LN_INIT,
	CT_LN_FIRST_WAIT,
	CT_LN_ADDRESS,
};

/* For the locks of snap; sym (may be NULL) symbolizes creation sites.
 * 0 or -ENOMEM. Cheap: the tables behind the names (the loaded objects,
 * the creation sites and kinds of snap) are built on the first
 * ct_locknames_get or ct_locknames_kind; if that runs out of memory,
 * locks are named by address and kinds are the callers' fallbacks. */
int ct_locknames__new(const struct ct_snapshot *snap, struct ct_symbolizer *sym,
		      struct ct_locknames **out);
void ct_locknames__free(struct ct_locknames *ln);

/* The name of the lock at obj (never NULL; "" for obj 0), owned by ln;
 * *how (may be NULL) says which rule gave it. */
const char *ct_locknames_get(struct ct_locknames *ln, uintptr_t obj, enum ct_lockname_how *how);

/* "symbol", "init", "first-wait", "address". */
const char *ct_lockname_how_str(enum ct_lockname_how how);

/* The most precise kind known for obj (core/locks.h): from its init
 * call, else from a recorded wait (mutex attributes are read there), else
 * fallback. A kind of another base than fallback's (an address reused by
 * another type of lock) is not taken; fallback 0 takes any. */
unsigned ct_locknames_kind(struct ct_locknames *ln, uintptr_t obj, unsigned fallback);

/* "function (file.c:LINE)" for the code at return address pc (the call
 * before it): the innermost frame not inlined from a system header;
 * "function" without a line, or "0x..." if unknown, into buf. */
const char *ct_locknames_site(struct ct_locknames *ln, uintptr_t pc, char *buf, size_t len);

#endif

/* Room for the paths the shim keeps for the whole process from its init:
 * its executable (dlhist.c), the report library (plugin.c), the working
 * directory at init and an output directory too long for dump.c's own
 * buffer. They are kept one
 * after the other in one buffer, so that a preloaded process touches one
 * page for all of them: each was a PATH_MAX array of its own, and each
 * page of static data a process first touches costs it a page fault
 * (some 20 us on the VMs we measure on), in every preloaded process,
 * however short, although only their first bytes were ever used.
 *
 * Only from the shim's init (one thread, ct_init_once) or a fork child's
 * handlers (one thread): no lock. No allocation; async-signal-safe. */
#ifndef CT_PATHS_H
#define CT_PATHS_H

#include <stddef.h>

/* The room holds four paths of PATH_MAX bytes: the three kept paths and
 * the output directory's room never run out of it. */
#define CT_PATHS_ROOM (4 * 4096)

/* n bytes of the room, for the rest of the process (never given back),
 * or NULL when the room is used up. */
char *ct_paths_take(size_t n);

/* A copy of s in the room, or NULL when what is left is too small. */
const char *ct_paths_keep(const char *s);

/* Where the next ct_paths_take will begin, if the room has n bytes left
 * (else NULL): to write a path there, then take as much of it as it
 * needs (a getcwd into the room, rather than into a stack buffer that
 * would deepen init's stack by a page). */
char *ct_paths_next(size_t n);

#endif

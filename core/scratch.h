/* A bump heap of fresh pages for the final dump of a fork child, in place
 * of the malloc heap it shares with its parent.
 *
 * Why: a process-per-connection server's child (a PostgreSQL backend)
 * writes its profiles at exit, and every chunk the dump took from, or gave
 * back to, the inherited heap was a page of its parent's to copy (a
 * copy-on-write fault, 20-27 us of CPU on a VM), spread over the parent's
 * free chunks; and it writes nothing after the dump but its exit.
 *
 * How: both shared objects (libcontend.so and libcontend-report.so) are
 * linked with -Wl,--wrap for malloc, calloc, realloc and free, so every
 * call their own code makes lands in __wrap_* (scratch_wrap.c, linked into
 * each), which hands it to the C library unless a scratch heap is in use
 * in that object (ct_scratch_use). The program's calls, and those the C
 * library, libdw, zlib or protobuf-c make for themselves (strdup's
 * included), are never affected. Memory that another library frees must
 * therefore come from the C library, not from malloc called here: the
 * file name a libdwfl callback returns (report/debuginfo.c). While in use:
 *   - allocations come from the scratch heap (the C library's when it is
 *     full);
 *   - free() of a block of the scratch heap makes it available again
 *     (the dump's buffers are reused, on the same pages), and free() of a
 *     chunk of the C library's heap does nothing: the process is about to
 *     exit and that chunk's page is its parent's;
 *   - realloc() of a chunk of the C library's heap copies it into the
 *     scratch heap and leaves the chunk alone, for the same reason.
 * Blocks stay valid until the process ends (the heap is never unmapped):
 * one kept past the dump stays readable, and freeing it then does nothing.
 *
 * Not thread-safe: in use only while one thread runs in the process (the
 * final dump of a single-threaded fork child, core/dump_exit.c), with the
 * guard held. No lock, no signal safety. */
#ifndef CT_SCRATCH_H
#define CT_SCRATCH_H

#include <stdbool.h>
#include <stddef.h>

/* Free blocks are kept by size class: [2^c, 2^(c+1)) bytes. */
#define CT_SCRATCH_CLASSES 40

struct ct_scratch {
	char *lo, *cur, *hi; /* the mapping, the next free byte, its end */
	char *open;          /* [lo, open) is open for use: the rest has no
				access, address space that strict overcommit
				does not charge (64 MiB each exiting child) */
	char *top;           /* the highest cur so far: bytes at or past it are zero */
	void *free[CT_SCRATCH_CLASSES];
};

/* Maps a scratch heap of reserve bytes (reserved, not committed), the
 * first populate of them made present at once (one system call instead of
 * a page fault per page; ignored where the kernel cannot). 0 or -errno,
 * with *s untouched on failure. */
int ct_scratch_open(struct ct_scratch *s, size_t reserve, size_t populate);

/* Makes this shared object's wrapped allocation calls use s (NULL: the C
 * library's again). Each shared object has its own setting: the shim sets
 * its own, the report library its own from struct ct_report_opts. */
void ct_scratch_use(struct ct_scratch *s);

/* The scratch heap in use in this shared object, or NULL. */
struct ct_scratch *ct_scratch_current(void);

/* The last scratch heap this shared object used, or NULL: a block of it
 * given to free() or realloc() after its use ended is never handed to the
 * C library (which would abort on it). */
struct ct_scratch *ct_scratch_last(void);

/* The allocator itself, for scratch_wrap.c (and the unit tests).
 * ct_scratch_alloc: n bytes aligned to 16 (zeroed with zero), NULL when
 * s is full. ct_scratch_owns: whether p is one of s's blocks (or inside
 * one). ct_scratch_release: frees block p for later allocations.
 * ct_scratch_resize: block p resized to n bytes, its contents kept up to
 * the smaller size: in place when it fits or is the last block, else in
 * a new block (p then freed); NULL, p untouched, when s is full.
 * ct_scratch_block_size: the size block p was given. */
bool ct_scratch_owns(const struct ct_scratch *s, const void *p);
void *ct_scratch_alloc(struct ct_scratch *s, size_t n, bool zero);
void ct_scratch_release(struct ct_scratch *s, void *p);
void *ct_scratch_resize(struct ct_scratch *s, void *p, size_t n);
size_t ct_scratch_block_size(const void *p);

#endif

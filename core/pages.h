/* Zero-filled anonymous memory for core's fixed tables (the recording
 * tables, the lock statistics, the thread slots, the waiter buckets).
 * Plain system calls: thread-safe, async-signal-safe, no malloc. */
#ifndef CT_PAGES_H
#define CT_PAGES_H

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

/* len bytes of zeroes, reserved but not committed (MAP_NORESERVE): a
 * table costs only the pages it touches. NULL with errno on failure. */
static inline void *
ct_pages_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Points table (a pointer variable) at n zeroed elements of its type
 * from map (ct_pages_map or ct_pages_map_wiped): 0, or -errno with table
 * unchanged. For the tables set up once at init, before any thread of
 * ours. */
#define CT_PAGES_MAP_TABLE_BY(map, table, n)                                                     \
	__extension__({                                                                          \
		__typeof__(table) ct_p_ = map((size_t)(n) * sizeof(*(table)));                  \
		if (ct_p_)                                                                       \
			(table) = ct_p_;                                                         \
		ct_p_ ? 0 : -errno;                                                              \
	})
#define CT_PAGES_MAP_TABLE(table, n) CT_PAGES_MAP_TABLE_BY(ct_pages_map, table, n)

/* The tables a fork child starts empty (the recording tables, the lock
 * statistics, the waiter buckets): mapped as ct_pages_map and marked
 * MADV_WIPEONFORK, so that a fork neither copies their page tables nor
 * shares their pages with the child (no copy-on-write faults in the
 * parent after every fork of a process-per-connection server), and the
 * child finds them zeroed. At init; thread-safe. */
void *ct_pages_map_wiped(size_t len);

#define CT_PAGES_MAP_TABLE_WIPED(table, n) CT_PAGES_MAP_TABLE_BY(ct_pages_map_wiped, table, n)

/* len bytes of address space with no access until ct_pages_commit opens
 * a part (see ct_pages_reserve_wiped), kept by fork children. NULL with
 * errno on failure. */
static inline void *
ct_pages_reserve(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* ct_pages_map_wiped with no access at all until ct_pages_commit opens a
 * part of it: address space, not memory, for the tables filled a stripe
 * at a time (the recording tables, the lock statistics). Where the kernel
 * refuses to overcommit (vm.overcommit_memory=2, which PostgreSQL's
 * documentation recommends), MAP_NORESERVE is ignored, and every process
 * and every fork child was charged those tables whole (13 of the shim's
 * 16 MiB), recording or not: a server's forks could fail for it. A
 * mapping without access is charged only as it is opened. At init;
 * thread-safe. */
void *ct_pages_reserve_wiped(size_t len);

#define CT_PAGES_RESERVE_TABLE_WIPED(table, n)                                                   \
	CT_PAGES_MAP_TABLE_BY(ct_pages_reserve_wiped, table, n)

/* Opens [p, p + len) of a ct_pages_reserve_wiped region for reading and
 * writing, in whole pages (those p and p + len - 1 fall in): 0, or -errno
 * (ENOMEM at the commit limit). A fork child keeps what its parent
 * opened. Async-signal-safe (mprotect). */
int ct_pages_commit(void *p, size_t len);

/* Unmaps a region of ct_pages_map_wiped (tests' tables). */
void ct_pages_unmap_wiped(void *p, size_t len);

/* In a fork child, for a region of ct_pages_map_wiped: zeroes it
 * (ct_pages_zero) unless the kernel did. Async-signal-safe. */
void ct_pages_zero_child(void *p, size_t len);

/* Around a fork whose child must keep the tables: the copy that a fatal
 * or crash dump writes from. Async-signal-safe (madvise); one window
 * at a time. */
void ct_pages_keep_begin(void);
void ct_pages_keep_end(void);

/* Zeroes the len bytes mapped at p with fresh zero pages rather than by
 * writing over every page (a fork child's copy-on-write ones would each
 * be copied first); by memset if that fails. */
static inline void
ct_pages_zero(void *p, size_t len)
{
	if (mmap(p, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) == MAP_FAILED)
		memset(p, 0, len);
}

#endif

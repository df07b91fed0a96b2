/* The tables a fork child starts empty; see pages.h. */
#include "pages.h"

#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#define MADV_KEEPONFORK 19
#endif

/* The regions the kernel wipes in a fork child: filled at init (an
 * entry is published by its len), never emptied. */
#define CT_PAGES_WIPED_MAX 8
static struct {
	void *p;
	size_t len;
} ct_wiped[CT_PAGES_WIPED_MAX];
static int ct_nwiped;
/* The process that marked them: only its fork children (and theirs, the
 * mark being inherited) find them wiped. */
static pid_t ct_wiped_pid;

/* Forks in progress whose child keeps the tables (ct_pages_keep_begin). */
static int ct_pages_keeping;

static void *
ct_pages_wipe(void *p, size_t len)
{
	if (!p)
		return NULL;
	int i = __atomic_fetch_add(&ct_nwiped, 1, __ATOMIC_RELAXED);
	/* Where the kernel cannot (before 4.14), the child zeroes them. */
	if (i < CT_PAGES_WIPED_MAX && madvise(p, len, MADV_WIPEONFORK) == 0) {
		__atomic_store_n(&ct_wiped_pid, getpid(), __ATOMIC_RELAXED);
		ct_wiped[i].p = p;
		__atomic_store_n(&ct_wiped[i].len, len, __ATOMIC_RELEASE);
	}
	return p;
}

void *
ct_pages_map_wiped(size_t len)
{
	return ct_pages_wipe(ct_pages_map(len), len);
}

void *
ct_pages_reserve_wiped(size_t len)
{
	return ct_pages_wipe(ct_pages_reserve(len), len);
}

int
ct_pages_commit(void *p, size_t len)
{
	uintptr_t page = (uintptr_t)getpagesize();
	uintptr_t lo = (uintptr_t)p & ~(page - 1);
	uintptr_t hi = ((uintptr_t)p + len + page - 1) & ~(page - 1);
	return mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE) == 0 ? 0 : -errno;
}

void
ct_pages_unmap_wiped(void *p, size_t len)
{
	int n = __atomic_load_n(&ct_nwiped, __ATOMIC_RELAXED);
	for (int i = 0; i < n && i < CT_PAGES_WIPED_MAX; i++)
		if (__atomic_load_n(&ct_wiped[i].len, __ATOMIC_ACQUIRE) == len && ct_wiped[i].p == p)
			__atomic_store_n(&ct_wiped[i].len, 0, __ATOMIC_RELEASE);
	munmap(p, len);
}

static bool
ct_pages_wiped(const void *p, size_t len)
{
	int n = __atomic_load_n(&ct_nwiped, __ATOMIC_RELAXED);
	for (int i = 0; i < n && i < CT_PAGES_WIPED_MAX; i++)
		if (__atomic_load_n(&ct_wiped[i].len, __ATOMIC_ACQUIRE) == len && ct_wiped[i].p == p)
			return true;
	return false;
}

void
ct_pages_zero_child(void *p, size_t len)
{
	/* The keeping count is the parent's as the fork copied it: a fork
	 * that raced a kept one may have copied the pages too. The process
	 * that marked them (a test resetting its own tables) zeroes them. */
	if (!ct_pages_wiped(p, len) || __atomic_load_n(&ct_pages_keeping, __ATOMIC_ACQUIRE) ||
	    getpid() == __atomic_load_n(&ct_wiped_pid, __ATOMIC_RELAXED))
		ct_pages_zero(p, len);
}

static void
ct_pages_advise_all(int advice)
{
	int n = __atomic_load_n(&ct_nwiped, __ATOMIC_RELAXED);
	for (int i = 0; i < n && i < CT_PAGES_WIPED_MAX; i++) {
		size_t len = __atomic_load_n(&ct_wiped[i].len, __ATOMIC_ACQUIRE);
		if (len)
			madvise(ct_wiped[i].p, len, advice);
	}
}

/* The windows never overlap: the one dump that forks such a copy is the
 * final one, which one thread claims (dump.h ct_dump_final_claim). */
void
ct_pages_keep_begin(void)
{
	/* Counted first: a fork that copies the regions kept copies the
	 * count too (madvise and fork's copy of the memory map exclude each
	 * other). */
	__atomic_fetch_add(&ct_pages_keeping, 1, __ATOMIC_SEQ_CST);
	ct_pages_advise_all(MADV_KEEPONFORK);
}

void
ct_pages_keep_end(void)
{
	/* Wiped again before the count drops, for the same reason. */
	ct_pages_advise_all(MADV_WIPEONFORK);
	__atomic_fetch_sub(&ct_pages_keeping, 1, __ATOMIC_SEQ_CST);
}

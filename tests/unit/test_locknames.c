/* report/locknames.c: a lock's name from this very binary's symbol table
 * (static locks, members of static objects), from its creation or
 * first-wait site, else its address (issue 14). */
#include <inttypes.h>
#include <criterion/criterion.h>
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/locks.h"
#include "../../core/snapshot.h"
#include "../../report/locknames.h"
#include "../../report/symbolize.h"

pthread_mutex_t ln_global_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t ln_static_rwlock = PTHREAD_RWLOCK_INITIALIZER;
static struct {
	long counter;
	pthread_mutex_t mu;
} ln_registry = {0, PTHREAD_MUTEX_INITIALIZER};

static __attribute__((noinline)) uintptr_t
ln_creation_site(void)
{
	return (uintptr_t)__builtin_return_address(0);
}

static __attribute__((noinline)) uintptr_t
ln_make_thing(void)
{
	uintptr_t pc = ln_creation_site();
	__asm__ volatile("" ::: "memory");
	return pc;
}

/* This test binary as the snapshot's one loaded object, as core/dlhist.c
 * lists the main program: its path, load bias and every PT_LOAD. */
static int
ln_main_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct ct_dl_gone *g = arg;
	(void)size;
	g->base = info->dlpi_addr;
	g->lo = UINT64_MAX;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type != PT_LOAD)
			continue;
		g->lo = lo < g->lo ? lo : g->lo;
		g->hi = lo + ph->p_memsz > g->hi ? lo + ph->p_memsz : g->hi;
	}
	return 1; /* the main program comes first */
}

static struct ct_dl_gone ln_main;

/* snap describing one recursive mutex obj initialised in ln_make_thing
 * (site, the one entry of its table), with this binary loaded. */
static void
ln_snap_one(struct ct_snapshot *snap, struct ct_locksite *site, const void *obj)
{
	*site = (struct ct_locksite){.obj = (uintptr_t)obj, .site = ln_make_thing(),
				     .kind = CT_LK_MUTEX | CT_LKF_RECURSIVE, .how = CT_LS_INIT};
	memset(snap, 0, sizeof(*snap));
	snap->locksites = site;
	snap->nlocksites = 1;
	memset(&ln_main, 0, sizeof(ln_main));
	dl_iterate_phdr(ln_main_cb, &ln_main);
	cr_assert_gt(readlink("/proc/self/exe", ln_main.path, sizeof(ln_main.path) - 1), 0);
	snap->dl_live = &ln_main;
	snap->ndl_live = 1;
}

Test(locknames, static_member_init_site_and_address)
{
	pthread_mutex_t *heap_init = malloc(sizeof(*heap_init)), *heap_none = malloc(sizeof(*heap_none));
	cr_assert(heap_init && heap_none);
	struct ct_locksite site;
	struct ct_snapshot snap;
	ln_snap_one(&snap, &site, heap_init);
	struct ct_symbolizer *sym = NULL;
	cr_assert_eq(ct_symbolize__new(&sym), 0);
	struct ct_locknames *ln = NULL;
	cr_assert_eq(ct_locknames__new(&snap, sym, &ln), 0);
	enum ct_lockname_how how;

	cr_expect_str_eq(ct_locknames_get(ln, (uintptr_t)&ln_global_lock, &how), "ln_global_lock");
	cr_expect_eq(how, CT_LN_SYMBOL);
	cr_expect_str_eq(ct_locknames_get(ln, (uintptr_t)&ln_static_rwlock, &how), "ln_static_rwlock");
	char want[64];
	snprintf(want, sizeof(want), "ln_registry+0x%zx", offsetof(__typeof__(ln_registry), mu));
	cr_expect_str_eq(ct_locknames_get(ln, (uintptr_t)&ln_registry.mu, &how), want);

	const char *n = ct_locknames_get(ln, (uintptr_t)heap_init, &how);
	cr_expect_eq(how, CT_LN_INIT);
	cr_expect(!strncmp(n, "ln_make_thing (test_locknames.c:", 32), "%s", n);
	cr_expect_eq(ct_locknames_kind(ln, (uintptr_t)heap_init, CT_LK_MUTEX),
		     CT_LK_MUTEX | CT_LKF_RECURSIVE);

	n = ct_locknames_get(ln, (uintptr_t)heap_none, &how);
	cr_expect_eq(how, CT_LN_ADDRESS);
	cr_expect(!strncmp(n, "0x", 2), "%s", n);
	cr_expect_str_eq(ct_lockname_how_str(CT_LN_FIRST_WAIT), "first-wait");

	ct_locknames__free(ln);
	ct_symbolize__free(sym);
	free(heap_init);
	free(heap_none);
}

/* The tables behind the names are built on the first question, whichever
 * it is: a kind asked before any name, then names, then a lookup of an
 * object nobody knows. */
Test(locknames, built_on_first_use_whatever_is_asked_first)
{
	pthread_mutex_t *heap = malloc(sizeof(*heap));
	cr_assert(heap);
	struct ct_locksite site;
	struct ct_snapshot snap;
	ln_snap_one(&snap, &site, heap);
	struct ct_locknames *ln = NULL;
	cr_assert_eq(ct_locknames__new(&snap, NULL, &ln), 0);
	cr_expect_eq(ct_locknames_kind(ln, (uintptr_t)heap, CT_LK_MUTEX),
		     CT_LK_MUTEX | CT_LKF_RECURSIVE);
	cr_expect_eq(ct_locknames_kind(ln, (uintptr_t)heap + 64, CT_LK_MUTEX), CT_LK_MUTEX);
	enum ct_lockname_how how;
	cr_expect_str_eq(ct_locknames_get(ln, (uintptr_t)&ln_global_lock, &how), "ln_global_lock");
	cr_expect_eq(how, CT_LN_SYMBOL);
	/* Without a symbolizer the init site has no name: the lock is named
	 * by its address, not by the site's, which would read as its own. */
	char want[32];
	snprintf(want, sizeof(want), "0x%" PRIxPTR, (uintptr_t)heap);
	cr_expect_str_eq(ct_locknames_get(ln, (uintptr_t)heap, &how), want);
	cr_expect_eq(how, CT_LN_ADDRESS);
	ct_locknames__free(ln);

	/* A name first, on a fresh one. */
	cr_assert_eq(ct_locknames__new(&snap, NULL, &ln), 0);
	cr_expect_str_eq(ct_locknames_get(ln, (uintptr_t)heap, &how), want);
	cr_expect_eq(how, CT_LN_ADDRESS);
	cr_expect_eq(ct_locknames_kind(ln, (uintptr_t)heap, 0), CT_LK_MUTEX | CT_LKF_RECURSIVE);
	ct_locknames__free(ln);
	free(heap);
}

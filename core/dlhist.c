/* Generations of loaded objects; see dlhist.h. */
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <sys/auxv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler.h"
#include "dlhist.h"
#include "forkstate.h"
#include "paths.h"
#include "spin.h"

uint32_t ct_dl_gen = 1;

struct ct_dlhist_slot {
	struct ct_dl_gone g;
	int ready; /* set (release) once g is complete */
};

static struct ct_dlhist_slot ct_gone[CT_DLHIST_MAX];
static uint32_t ct_gone_claimed;
static uint64_t ct_gone_dropped;

struct ct_dlhist_list {
	size_t n, cap;
	struct ct_dl_gone *v;
	bool all;      /* the main program too (under ct_dl_exe) */
	size_t seen;   /* objects visited: the first is the main program */
	bool counted;  /* the loader's counters below were read */
	unsigned long long adds, subs;
};

/* The last list of everything loaded (ct_dlhist_snapshot) and the
 * loader's counters it was made at: while no object was loaded or
 * unloaded since (dlpi_adds and dlpi_subs unchanged), a snapshot copies
 * it instead of listing the objects again. Inherited by fork children,
 * whose parent made it when it warmed their symbols before the fork (a
 * fork-per-connection child used to list 40-60 objects at exit, growing
 * its array through the heap it shares with its parent). Taken with a
 * trylock: a snapshot that finds it in use (another thread's snapshot,
 * or in a fork child a parent's thread caught holding it) lists the
 * objects itself. */
static struct {
	ct_spin lock;
	bool ok;
	unsigned long long adds, subs;
	size_t n;
	struct ct_dl_gone *v;
} ct_live CT_FORK_HOT;

/* In paths.h's room once known. */
static const char *ct_dl_exe CT_INIT_HOT = "";

/* The executable's path into exe (PATH_MAX bytes), or "". */
static void
ct_dlhist_find_exe(char *exe)
{
	ssize_t n = readlink("/proc/self/exe", exe, PATH_MAX - 1);
	if (n > 0) {
		exe[n] = 0;
		/* a replaced binary: its old path is what symbolizes best */
		size_t len = (size_t)n, d = sizeof(" (deleted)") - 1;
		if (len > d && strcmp(exe + len - d, " (deleted)") == 0)
			exe[len - d] = 0;
		return;
	}
	exe[0] = 0;
	const char *fn = (const char *)getauxval(AT_EXECFN);
	if (!fn || !fn[0])
		return;
	if (fn[0] == '/') {
		snprintf(exe, PATH_MAX, "%s", fn);
		return;
	}
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)) &&
	    (size_t)snprintf(exe, PATH_MAX, "%s/%s", cwd, fn) >= PATH_MAX)
		exe[0] = 0;
}

void
ct_dlhist_init(void)
{
	char exe[PATH_MAX];
	ct_dlhist_find_exe(exe);
	const char *kept = exe[0] ? ct_paths_keep(exe) : NULL;
	if (kept)
		ct_dl_exe = kept;
}

const char *
ct_dlhist_exe(void)
{
	return ct_dl_exe;
}

/* Lowercase hex of the NT_GNU_BUILD_ID note in the PT_NOTE segments of
 * the loaded object, or "". */
static void
ct_dlhist_build_id(const struct dl_phdr_info *info, char *out, size_t outlen)
{
	out[0] = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		const char *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			const char *name = p + sizeof(*nh);
			const unsigned char *desc =
				(const unsigned char *)name + ((nh->n_namesz + 3) & ~3u);
			const char *next = (const char *)desc + ((nh->n_descsz + 3) & ~3u);
			if (next > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    memcmp(name, "GNU", 4) == 0) {
				size_t k = 0;
				for (size_t j = 0; j < nh->n_descsz && k + 3 <= outlen; j++)
					k += (size_t)snprintf(out + k, outlen - k, "%02x", desc[j]);
				return;
			}
			p = next;
		}
	}
}

/* Build-ids already read, by load bias: reading a note from an object's
 * pages maps them in, a page fault each, which a fork child writing at
 * exit would pay for every object again. Valid while no object was
 * unloaded (dlpi_subs unchanged): only an unload frees an address for
 * another object. Touched only inside dl_iterate_phdr callbacks, which
 * glibc runs under its loader lock, one thread at a time; inherited by
 * fork children. */
#define CT_DLHIST_IDS 64
static struct {
	uint64_t base;
	char build_id[72];
} ct_ids[CT_DLHIST_IDS];
static size_t ct_nids;
static unsigned long long ct_ids_subs;

static void
ct_dlhist_build_id_cached(const struct dl_phdr_info *info, size_t size, char *out, size_t outlen)
{
	bool counted = size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs);
	if (!counted || info->dlpi_subs != ct_ids_subs) {
		ct_nids = 0;
		ct_ids_subs = counted ? info->dlpi_subs : 0;
	}
	for (size_t i = 0; counted && i < ct_nids; i++)
		if (ct_ids[i].base == info->dlpi_addr) {
			snprintf(out, outlen, "%s", ct_ids[i].build_id);
			return;
		}
	ct_dlhist_build_id(info, out, outlen);
	if (counted && ct_nids < CT_DLHIST_IDS) {
		ct_ids[ct_nids].base = info->dlpi_addr;
		snprintf(ct_ids[ct_nids].build_id, sizeof(ct_ids[ct_nids].build_id), "%s", out);
		ct_nids++;
	}
}

static int
ct_dlhist_add(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct ct_dlhist_list *l = arg;
	const char *path = info->dlpi_name;
	if (l->seen == 0 && size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
		l->counted = true;
		l->adds = info->dlpi_adds;
		l->subs = info->dlpi_subs;
	}
	/* The main program and the vDSO are never unloaded; the vDSO has no
	 * file to symbolize from. */
	if (l->seen++ == 0 && l->all && (!path || !path[0]))
		path = ct_dl_exe;
	if (!path || path[0] != '/')
		return 0;
	struct ct_dl_gone g = {.base = info->dlpi_addr, .lo = UINT64_MAX};
	bool have = false;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uint64_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (lo < g.lo)
			g.lo = lo;
		if (hi > g.hi)
			g.hi = hi;
		if (!(ph->p_flags & PF_X))
			continue;
		if (!have || lo < g.start) {
			/* as /proc/self/maps shows it: page-aligned, with the
			 * file offset of that page */
			uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
			g.start = lo & ~(pg - 1);
			g.offset = ph->p_offset & ~(pg - 1);
		}
		if (!have || hi > g.limit)
			g.limit = hi;
		have = true;
	}
	if (!have)
		return 0;
	snprintf(g.path, sizeof(g.path), "%.*s", (int)sizeof(g.path) - 1, path);
	ct_dlhist_build_id_cached(info, size, g.build_id, sizeof(g.build_id));
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		struct ct_dl_gone *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return 1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = g;
	return 0;
}

struct ct_dlhist_list *
ct_dlhist_before(void)
{
	struct ct_dlhist_list *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	if (ct_dl_iterate(ct_dlhist_add, l) != 0) {
		free(l->v);
		free(l);
		return NULL;
	}
	return l;
}

/* Still mapped: the same file at the same bias. */
static int
ct_dlhist_still(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	const struct ct_dl_gone *g = arg;
	return info->dlpi_addr == g->base && info->dlpi_name &&
	       strncmp(info->dlpi_name, g->path, sizeof(g->path) - 1) == 0;
}

void
ct_dlhist_after(struct ct_dlhist_list *before)
{
	if (!before)
		return;
	uint32_t gen = ct_dlhist_gen();
	bool kept_any = false;
	for (size_t i = 0; i < before->n; i++) {
		struct ct_dl_gone *g = &before->v[i];
		if (ct_dl_iterate(ct_dlhist_still, g) != 0)
			continue;
		uint32_t slot = __atomic_fetch_add(&ct_gone_claimed, 1, __ATOMIC_RELAXED);
		if (slot >= CT_DLHIST_MAX) {
			__atomic_fetch_add(&ct_gone_dropped, 1, __ATOMIC_RELAXED);
			continue;
		}
		g->gen = gen;
		ct_gone[slot].g = *g;
		__atomic_store_n(&ct_gone[slot].ready, 1, __ATOMIC_RELEASE);
		kept_any = true;
	}
	/* Records made from now on cannot name what was removed. Once the
	 * history is full a new generation would resolve nothing better and
	 * only split the same stacks into more table records. */
	if (kept_any)
		__atomic_fetch_add(&ct_dl_gen, 1, __ATOMIC_ACQ_REL);
	free(before->v);
	free(before);
}

/* The loader's counters, from the first object (the same in every one). */
static int
ct_dlhist_counters(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct ct_dlhist_list *l = arg;
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
		l->counted = true;
		l->adds = info->dlpi_adds;
		l->subs = info->dlpi_subs;
	}
	return 1;
}

int
ct_dlhist_snapshot(struct ct_snapshot *snap)
{
	struct ct_dlhist_list live = {.all = true}, now = {0};
	snap->dl_live = NULL;
	snap->ndl_live = 0;
	bool mine = ct_spin_trylock(&ct_live.lock);
	if (mine && ct_live.ok)
		ct_dl_iterate(ct_dlhist_counters, &now);
	if (mine && ct_live.ok && now.counted && now.adds == ct_live.adds &&
	    now.subs == ct_live.subs) {
		snap->dl_live = malloc(ct_live.n * sizeof(*snap->dl_live));
		if (snap->dl_live) {
			memcpy(snap->dl_live, ct_live.v, ct_live.n * sizeof(*snap->dl_live));
			snap->ndl_live = ct_live.n;
		}
	} else if (ct_dl_iterate(ct_dlhist_add, &live) == 0) {
		snap->dl_live = live.v;
		snap->ndl_live = live.n;
		if (mine && live.counted) {
			struct ct_dl_gone *keep = malloc(live.n * sizeof(*keep));
			free(ct_live.v);
			ct_live.v = keep;
			ct_live.ok = keep != NULL;
			if (keep) {
				memcpy(keep, live.v, live.n * sizeof(*keep));
				ct_live.n = live.n;
				ct_live.adds = live.adds;
				ct_live.subs = live.subs;
			}
		}
	} else {
		free(live.v);
	}
	if (mine)
		ct_spin_unlock(&ct_live.lock);
	snap->dl_gen = ct_dlhist_gen();
	snap->dl_gone_dropped = __atomic_load_n(&ct_gone_dropped, __ATOMIC_RELAXED);
	uint32_t n = __atomic_load_n(&ct_gone_claimed, __ATOMIC_ACQUIRE);
	if (n > CT_DLHIST_MAX)
		n = CT_DLHIST_MAX;
	snap->dl_gone = NULL;
	snap->ndl_gone = 0;
	if (n == 0)
		return 0;
	snap->dl_gone = malloc(n * sizeof(*snap->dl_gone));
	if (!snap->dl_gone)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		if (__atomic_load_n(&ct_gone[i].ready, __ATOMIC_ACQUIRE))
			snap->dl_gone[snap->ndl_gone++] = ct_gone[i].g;
	return 0;
}

/* Passes under way (each holds it for its dl_iterate_phdr) and forks
 * (from prepare to the parent's or child's handler) exclude each other.
 * ct_dl_depth counts the calling thread's holds (passes and its fork's),
 * so that a signal handler that interrupts one of them and makes a pass
 * or a fork of its own does not wait for its own thread; ct_dl_fork_held
 * is the forking thread's own too (fork.h: handlers of two forks
 * interleave). The depth goes up before the lock is taken and down after
 * it is released, for the same reason. */
static ct_spin ct_dl_lock CT_FORK_HOT;
static CT_TLS int ct_dl_depth;
static CT_TLS int ct_dl_fork_held;

/* About a second (50000 sleeps of 20 us): then whoever waits goes on
 * without the lock, so that no chain of the loader's own locks through
 * a library constructor or destructor can make a wait endless. */
#define CT_DL_TRIES 50100

bool
ct_dl_forks_off(void)
{
	return ct_dl_depth++ == 0 && ct_spin_lock_sleepy(&ct_dl_lock, CT_DL_TRIES);
}

void
ct_dl_forks_on(bool mine)
{
	if (mine)
		ct_spin_unlock(&ct_dl_lock);
	ct_dl_depth--;
}

int
ct_dl_iterate(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data)
{
	bool mine = ct_dl_forks_off();
	int r = dl_iterate_phdr(cb, data);
	ct_dl_forks_on(mine);
	return r;
}

void
ct_dl_fork_hold(void)
{
	ct_dl_fork_held = ct_dl_forks_off();
}

void
ct_dl_fork_release(void)
{
	if (ct_dl_fork_held)
		ct_spin_unlock(&ct_dl_lock);
	ct_dl_fork_held = 0;
	if (ct_dl_depth > 0)
		ct_dl_depth--;
}

void
ct_dl_fork_child_unprepared(void)
{
	/* _Fork ran no prepare: a thread of the parent may have held the
	 * lock, and none but this one exists here. */
	ct_spin_unlock(&ct_dl_lock);
	ct_dl_fork_held = 0;
}

#ifdef CT_TEST_SEAMS
static int
ct_dl_test_hold_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)info, (void)size;
	ct_forkstate_test_sleep_us(*(const long *)arg);
	return 1;
}

void
ct_dl_test_hold(long hold_us)
{
	ct_dl_iterate(ct_dl_test_hold_cb, &hold_us);
}
#endif

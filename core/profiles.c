/* Owns the profile tables and the start time; see profiles.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "compiler.h"
#include "config.h"
#include "dlhist.h"
#include "forkstate.h"
#include "locks.h"
#include "profiles.h"
#include "waiters.h"

struct ct_table ct_profiles[CT_PROF_COUNT] CT_FORK_HOT;
int ct_sandboxed CT_INIT_HOT;
uint64_t ct_profiles_io_ns CT_FORK_HOT;

static int64_t ct_start_mono CT_INIT_HOT, ct_start_wall CT_INIT_HOT;
static uintptr_t ct_leaf_addr[CT_OP_COUNT] CT_INIT_HOT;

int
ct_profiles_init(void)
{
	if (__atomic_load_n(&ct_hot.ready, __ATOMIC_ACQUIRE))
		return 0;
	int err;
	for (int k = 0; k < CT_PROF_COUNT; k++) {
		err = ct_table_init(&ct_profiles[k], ct_cfg.table_size);
		if (err < 0)
			return err;
	}
	err = ct_waiters_init(ct_cfg.objects);
	if (err < 0)
		return err;
	err = ct_locks_init();
	if (err < 0)
		return err;
	ct_start_mono = ct_now_ns();
	ct_start_wall = ct_wall_ns();
	__atomic_store_n(&ct_hot.ready, 1, __ATOMIC_RELEASE);
	return 0;
}

void
ct_profiles_fork_child(void)
{
	if (!ct_hot.ready)
		return;
	for (int k = 0; k < CT_PROF_COUNT; k++)
		ct_table_reset(&ct_profiles[k]);
	ct_waiters_reset();
	ct_locks_fork_child();
	__atomic_store_n(&ct_profiles_io_ns, 0, __ATOMIC_RELAXED);
	ct_start_mono = ct_now_ns();
	ct_start_wall = ct_wall_ns();
}

void
ct_profiles_set_leaf(unsigned op, uintptr_t addr)
{
	if (op < CT_OP_COUNT)
		ct_leaf_addr[op] = addr;
}

bool
ct_profiles_have_data(void)
{
	for (int k = 0; k < CT_PROF_COUNT; k++)
		if (!ct_table_empty(&ct_profiles[k]))
			return true;
	return __atomic_load_n(&ct_profiles_io_ns, __ATOMIC_RELAXED) >= CT_PROFILES_IO_DUMP_MIN_NS;
}

int
ct_profiles_snapshot(struct ct_snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	snap->time_nanos = ct_start_wall;
	snap->duration_nanos = ct_now_ns() - ct_start_mono;
	snap->pid = getpid();
	memcpy(snap->leaf_addr, ct_leaf_addr, sizeof(ct_leaf_addr));
	/* Before the tables: a record copied below is never of a generation
	 * newer than the history. */
	if (ct_dlhist_snapshot(snap) < 0)
		return -ENOMEM;
	for (int k = 0; k < CT_PROF_COUNT; k++) {
		snap->prof[k].kind = (enum ct_profile_kind)k;
		snap->prof[k].rate = k == CT_PROF_MUTEX ? ct_cfg.mutex_fraction : ct_cfg.block_rate;
		if (ct_table_copy(&ct_profiles[k], &snap->prof[k]) < 0) {
			ct_snapshot_free(snap);
			return -ENOMEM;
		}
	}
	/* The creation sites come last (ct_dump_snapshot): only those of
	 * the locks the snapshot refers to, threads included. */
	if (ct_locks_snapshot_stats(snap) < 0) {
		ct_snapshot_free(snap);
		return -ENOMEM;
	}
	return 0;
}

#ifdef CT_TEST_SEAMS
void
ct_profiles_test_hold(long hold_us)
{
	for (int k = 0; k < CT_PROF_COUNT; k++) {
		for (int s = 0; s < CT_TABLE_STRIPES; s++)
			ct_spin_lock(&ct_profiles[k].lock[s]);
		ct_spin_lock(&ct_profiles[k].ovf_lock);
	}
	ct_forkstate_test_sleep_us(hold_us);
	for (int k = 0; k < CT_PROF_COUNT; k++) {
		for (int s = 0; s < CT_TABLE_STRIPES; s++)
			ct_spin_unlock(&ct_profiles[k].lock[s]);
		ct_spin_unlock(&ct_profiles[k].ovf_lock);
	}
}
#endif

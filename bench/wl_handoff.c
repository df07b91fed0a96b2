/* Workload "handoff": two threads pass one mutex back and forth without
 * sleep calls: the holder unlocks only once the lock word is 2 and /proc
 * says the other thread sleeps, so every lock blocks and every unlock
 * wakes a waiter (one block and one mutex event per handoff). The waker's
 * own acquire leaves the word at 2, so the new holder resets it to 1 (it
 * holds the lock and nobody waits yet) before announcing itself. Locks
 * that find the word nonzero are counted as contended events. Also the
 * child's start+exit time (with the exit dump) and its memory. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* -1 until thread 0 first holds the mutex, then the holder. */
static int g_holder = -1;
static int g_tid[2];

/* Whether the thread behind fd (its /proc stat file) is asleep. Once the
 * other thread has set the lock word to 2 the only place it can sleep is
 * the futex wait inside pthread_mutex_lock. */
static bool
thread_asleep(int fd)
{
	char b[512];
	ssize_t n = pread(fd, b, sizeof(b) - 1, 0);
	if (n <= 0)
		return true; /* cannot tell: do not hang */
	b[n] = 0;
	const char *p = strrchr(b, ')');
	return p && p[1] == ' ' && (p[2] == 'S' || p[2] == 'D');
}

/* Opens the other thread's /proc stat file once it has said who it is. */
static int
open_other(int me, unsigned *spins)
{
	while (__atomic_load_n(&g_tid[!me], __ATOMIC_ACQUIRE) == 0)
		spin_once(spins);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", g_tid[!me]);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static void *
handoff_thread(void *arg)
{
	struct wthread *w = arg;
	int me = (int)w->idx;
	uint64_t n = 0, cont = 0;
	unsigned spins = 0;
	__atomic_store_n(&g_tid[me], (int)gettid(), __ATOMIC_RELEASE);
	wait_go();
	int other = open_other(me, &spins);
	if (me == 1)
		while (__atomic_load_n(&g_holder, __ATOMIC_ACQUIRE) != 0)
			spin_once(&spins);
	for (;;) {
		if (lock_word(&g_mtx) != 0)
			cont++;
		pthread_mutex_lock(&g_mtx);
		n++;
		/* We hold it and the other thread has not asked yet (it waits
		 * for g_holder to name us): a word of 2 left by our own wait
		 * would make the next check pass at once. */
		int two = 2;
		__atomic_compare_exchange_n(&g_mtx.__data.__lock, &two, 1, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
		__atomic_store_n(&g_holder, me, __ATOMIC_RELEASE);
		if (stopped()) {
			pthread_mutex_unlock(&g_mtx);
			break;
		}
		/* Unlock only once the other thread sleeps on the lock: every
		 * handoff is then a real block and wake, never a race that the
		 * waiter sometimes wins before sleeping (which made the figures
		 * bimodal). */
		while (lock_word(&g_mtx) != 2 && !stopped())
			spin_once(&spins);
		while (other >= 0 && !thread_asleep(other) && !stopped())
			cpu_relax();
		pthread_mutex_unlock(&g_mtx);
		while (__atomic_load_n(&g_holder, __ATOMIC_ACQUIRE) == me)
			spin_once(&spins);
	}
	if (other >= 0)
		close(other);
	w->ops = n;
	w->contended = cont;
	return NULL;
}

static void
work_handoff(struct wres *r)
{
	r->elapsed = run_threads(handoff_thread, 2);
	sum_threads(2, r);
}

static struct series hand[NCFG], hand_frac[NCFG], hand_out[NCFG], hwm_hand[NCFG],
	rss_hand[NCFG];

static void
collect(enum cfg c, int rep, const struct child *r)
{
	add(&hand[c], rep, us_per_op(r));
	add(&hand_frac[c], rep, (double)r->contended / (double)r->ops);
	add(&hand_out[c], rep, (double)(r->wall_ns - r->elapsed_ns) / 1e6); /* ms */
	add(&hwm_hand[c], rep, (double)r->hwm_kib);
	add(&rss_hand[c], rep, (double)r->maxrss_kib);
}

static void
rows(void)
{
	dump_series("handoff us", hand);
	dump_series("ru_maxrss KiB, handoff", rss_hand);
	dump_series("handoff start+exit ms", hand_out);
	row_pair(30, "3 mutex handoff, every lock contended", "us/handoff", hand, false);
	/* Extra wall time per contended lock: the difference per handoff over
	 * the contended locks per handoff counted in the worker. */
	double hf = median(&hand_frac[CT_ALL]);
	struct series d = diffs(&hand[NATIVE], &hand[CT_ALL]);
	row_event(32, "3   extra wall time per contended lock, record all", "ns/event",
		  median(&d) * 1e3 / (hf > 0 ? hf : 1), spread(&d));
	row_s(52, "5 peak RSS in run (VmHWM), handoff, record all", "KiB", &hwm_hand[NATIVE],
	      &hwm_hand[CT_ALL], NULL, false);
	row_s(61, "6 start+exit of handoff child, record all, +dump", "ms", &hand_out[NATIVE],
	      &hand_out[CT_ALL], NULL, false);
	if (hand_frac[CT_ALL].n)
		check_add(" locks found held per handoff %.3f (want 1);", hf);
}

const struct workload wl_handoff = {
	.group = "handoff", .workers = {{"handoff", work_handoff}},
	.secs = 0.3, .quick_secs = 0.15, .threads = 2,
	.cfgs = {NATIVE, CT_DEFAULT, CT_ALL},
	.collect = collect, .rows = rows,
};

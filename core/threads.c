/* The thread registry; see threads.h. Claims slots with a compare-and-swap
 * on the state word; never allocates after init. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "profiles.h"
#include "locks.h"
#include "pages.h"
#include "sys.h"
#include "waiters.h"
#include "thread.h"
#include "snapshot.h"
#include "stack.h"
#include "task.h"
#include "fdkind.h"
#include "threads.h"
#include "unwind.h"

static struct ct_thread_slot *ct_slots CT_INIT_HOT;
/* Slots [0, ct_slots_open) are open for use (pages.h ct_pages_commit), a
 * chunk at a time as threads come: the rest of the 2.5 MiB is address
 * space only, which strict overcommit does not charge. Only grows; a
 * fork child keeps its parent's, with the pages. */
#define CT_SLOTS_CHUNK 64
static int ct_slots_open CT_INIT_HOT;
static int ct_slots_used CT_INIT_HOT; /* high-water mark: slots beyond it were never used */
static uint64_t ct_untracked CT_INIT_HOT;
static pthread_key_t ct_exit_key CT_INIT_HOT;
static bool ct_have_key CT_INIT_HOT;
/* In a fork child whose thread had no slot at the fork: its tid, so that
 * the slot it claims knows its waits from the fork on (hforked). Written
 * only then, so that other children copy no page for it. */
static int ct_fork_main_tid CT_INIT_HOT;

/* A slot's state word: a base state and flags, changed only by CAS (or by
 * plain stores from a party that owns the slot alone). A slot is owned by
 * the claimer while CLAIMING; its handle is 0 whenever it is FREE, so a
 * search by handle never matches a stale one.
 *   CLAIMING  being set up: by the pthread_create wrapper until the real
 *             call returned, or by a thread claiming its own slot.
 *   GONE      (flag, CLAIMING only) the thread exited before its creator
 *             finished setting it up.
 *   REAPING   (flag) a join or detach of the thread is in progress: no
 *             other search may take this slot for its handle, which the
 *             system may recycle as soon as the reaping call returns.
 *   DETACHED  (flag) freed at the thread's exit. */
enum {
	CT_SLOT_FREE = 0,
	CT_SLOT_RUNNING = 1,
	CT_SLOT_EXITED = 2,
	CT_SLOT_CLAIMING = 3,
	CT_SLOT_BASE = 0xf,
	CT_SLOT_GONE = 0x10,
	CT_SLOT_REAPING = 0x20,
	CT_SLOT_DETACHED = 0x40,
};

static inline int
ct_slot_load(const struct ct_thread_slot *s)
{
	return __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
}

static inline bool
ct_slot_cas(struct ct_thread_slot *s, int *old, int new)
{
	return __atomic_compare_exchange_n(&s->state, old, new, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

static void
ct_slot_free(struct ct_thread_slot *s)
{
	__atomic_store_n(&s->handle, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->state, CT_SLOT_FREE, __ATOMIC_RELEASE);
}

/* Moves s from *old to new; false, with *old reloaded, if it changed
 * meanwhile. A slot moved to CLAIMING is this thread's alone and done
 * with: freed. */
static bool
ct_slot_move(struct ct_thread_slot *s, int *old, int new)
{
	if (!ct_slot_cas(s, old, new))
		return false;
	if (new == CT_SLOT_CLAIMING)
		ct_slot_free(s);
	return true;
}

enum ct_thread_state
ct_threads_state(const struct ct_thread_slot *s)
{
	int st = ct_slot_load(s);
	switch (st & CT_SLOT_BASE) {
	case CT_SLOT_RUNNING:
		return CT_THREAD_RUNNING;
	case CT_SLOT_EXITED:
		/* Being joined right now: not a leak. */
		return (st & (CT_SLOT_REAPING | CT_SLOT_DETACHED)) ? CT_THREAD_FREE
								    : CT_THREAD_EXITED;
	default:
		return CT_THREAD_FREE;
	}
}

/* Thread exit (return, pthread_exit, cancellation): a detached thread's
 * slot is free again; a joinable one stays as a leak until joined. The
 * thread never claims another slot (destructors that run after this one
 * may still wait in our wrappers). The exit key's destructor for threads
 * that claimed their slot themselves; ct_threads_exit for those adopted. */
static void
ct_threads_exit_cb(void *p)
{
	struct ct_thread_slot *s = p;
	__atomic_store_n(&s->wop, 0, __ATOMIC_RELAXED);
	/* A thread that ends holding a mutex it waited for (a bug, but the
	 * table must not count it as a waiter for ever). */
	ct_guard_enter();
	for (int i = 0; i < CT_WAIT_DEFERS; i++)
		ct_waiters_defer_end(&s->wdefer[i]);
	ct_guard_leave();
	ct_self.slot = NULL;
	ct_self.no_slot = 1;
	int old = ct_slot_load(s);
	/* The name is for dumps of exited threads not yet joined: a detached
	 * thread's slot is freed below, so it is never read (one system call
	 * less per exit of a detached thread). A detach racing with this
	 * load only makes the call useless. */
	if ((!(old & CT_SLOT_DETACHED) || (old & CT_SLOT_BASE) == CT_SLOT_CLAIMING) &&
	    !__atomic_load_n(&ct_sandboxed, __ATOMIC_RELAXED) && !s->name_known)
		syscall(SYS_prctl, PR_GET_NAME, s->name, 0, 0, 0);
	for (;;) {
		int base = old & CT_SLOT_BASE, new;
		if (base == CT_SLOT_FREE)
			return; /* not ours any more (a fork child's reset) */
		if (base == CT_SLOT_CLAIMING)
			new = old | CT_SLOT_GONE; /* the creator finishes the exit */
		else if (old & CT_SLOT_DETACHED)
			new = CT_SLOT_CLAIMING; /* ours alone, then freed */
		else
			new = CT_SLOT_EXITED | (old & CT_SLOT_REAPING);
		if (ct_slot_move(s, &old, new))
			return;
	}
}

int
ct_threads_init(void)
{
	if (ct_slots)
		return 0;
	int err = CT_PAGES_MAP_TABLE_BY(ct_pages_reserve, ct_slots, CT_THREADS_MAX);
	if (err)
		return err;
	ct_have_key = pthread_key_create(&ct_exit_key, ct_threads_exit_cb) == 0;
	return 0;
}

struct ct_thread_slot *
ct_threads_all(void)
{
	return ct_slots;
}

uint64_t
ct_threads_untracked(void)
{
	return __atomic_load_n(&ct_untracked, __ATOMIC_RELAXED);
}

/* Whether slot i is open for use, opening its chunk if it was not; false
 * when that fails (the commit limit). Racing threads may open the same
 * pages twice, which changes nothing. Async-signal-safe. */
static bool
ct_slots_open_upto(int i)
{
	int open = __atomic_load_n(&ct_slots_open, __ATOMIC_ACQUIRE);
	while (open <= i) {
		int want = open + CT_SLOTS_CHUNK < CT_THREADS_MAX ? open + CT_SLOTS_CHUNK
								  : CT_THREADS_MAX;
		if (ct_pages_commit(ct_slots + open, (size_t)(want - open) * sizeof(*ct_slots)) != 0)
			return false;
		if (__atomic_compare_exchange_n(&ct_slots_open, &open, want, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			open = want;
	}
	return true;
}

/* A FREE slot, now CLAIMING and reset, or NULL (registry full: counted). */
static struct ct_thread_slot *
ct_threads_claim(void)
{
	if (!ct_slots)
		return NULL;
	for (int i = 0; i < CT_THREADS_MAX && ct_slots_open_upto(i); i++) {
		int expect = CT_SLOT_FREE;
		struct ct_thread_slot *s = &ct_slots[i];
		if (__atomic_load_n(&s->state, __ATOMIC_RELAXED) != CT_SLOT_FREE ||
		    !ct_slot_cas(s, &expect, CT_SLOT_CLAIMING))
			continue;
		int hw = __atomic_load_n(&ct_slots_used, __ATOMIC_RELAXED);
		while (hw < i + 1 && !__atomic_compare_exchange_n(&ct_slots_used, &hw, i + 1, true,
								  __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
		s->tid = 0;
		s->wfd = -1;
		s->wop = 0;
		s->wrearms = 0;
		s->waux = 0;
		s->wnaux = 0;
		memset(s->hsite, 0, sizeof(s->hsite));
		s->hevicted = 0;
		s->hforked = false;
		memset(s->wdefer, 0, sizeof(s->wdefer));
		s->detached = 0;
		s->start_routine = 0;
		s->create_depth = 0;
		s->creator_tid = 0;
		s->created_ns = -1;
		s->name[0] = 0;
		s->name_known = false;
		return s;
	}
	__atomic_fetch_add(&ct_untracked, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* The calling thread takes s as its own: tid, handle, and the exit key
 * when key (else the caller sees to ct_threads_exit). */
static void
ct_threads_own(struct ct_thread_slot *s, bool key)
{
	s->tid = ct_tid();
	__atomic_store_n(&s->handle, (uint64_t)pthread_self(), __ATOMIC_RELAXED);
	ct_self.slot = s;
	if (key && ct_have_key)
		pthread_setspecific(ct_exit_key, s);
}

/* The calling thread's tid read from its glibc descriptor, without a
 * system call: pthread_getcpuclockid builds the thread's CPU clock id
 * from it by the kernel's ABI for such ids (~tid << 3 | CPUCLOCK_SCHED
 * | CPUCLOCK_PERTHREAD_MASK, linux/posix-timers.h). The descriptor holds
 * the right tid in a thread that pthread_create started (the kernel
 * stores it before the thread runs: CLONE_PARENT_SETTID), not always
 * elsewhere (a raw clone's child keeps its parent's): so only from
 * ct_threads_adopt. 0 when the id is not of that form. */
static int
ct_tid_from_clock(void)
{
	clockid_t c;
	if (pthread_getcpuclockid(pthread_self(), &c) != 0 || (c & 7) != 6)
		return 0;
	unsigned tid = ~(unsigned)c >> 3;
	return tid > 0 && tid <= 0x3fffffff ? (int)tid : 0;
}

/* A thread that was not created through our wrapper: registered as a
 * joinable one (we cannot tell). */
static struct ct_thread_slot *
ct_threads_claim_self(void)
{
	if (ct_self.no_slot)
		return NULL;
	struct ct_thread_slot *s = ct_threads_claim();
	if (!s) {
		ct_self.no_slot = 1;
		return NULL;
	}
	ct_threads_own(s, true);
	s->hforked = ct_fork_main_tid && ct_fork_main_tid == s->tid;
	__atomic_store_n(&s->state, CT_SLOT_RUNNING, __ATOMIC_RELEASE);
	return s;
}

struct ct_thread_slot *
ct_threads_prepare(uintptr_t start_routine, void *arg, const uintptr_t *pcs, int depth,
		   bool detached)
{
	struct ct_thread_slot *s = ct_threads_claim();
	if (!s)
		return NULL;
	s->start_routine = start_routine;
	s->start_arg = arg;
	s->creator_tid = ct_tid();
	s->created_ns = ct_now_ns();
	s->detached = detached;
	if (depth > CT_CREATE_DEPTH)
		depth = CT_CREATE_DEPTH;
	memcpy(s->create_pc, pcs, (size_t)depth * sizeof(pcs[0]));
	s->create_depth = depth;
	/* The kernel gives the new thread its creator's name: known from
	 * here on when the creator's is (its first creation asks the kernel
	 * once, instead of each thread at its exit). */
	struct ct_thread_slot *me = ct_self.slot;
	if (me) {
		/* Not once the program confined itself (seccomp may kill
		 * the process for it). */
		if (!me->name_known && !__atomic_load_n(&ct_sandboxed, __ATOMIC_RELAXED))
			me->name_known = syscall(SYS_prctl, PR_GET_NAME, me->name, 0, 0, 0) == 0;
		if (me->name_known) {
			memcpy(s->name, me->name, sizeof(s->name));
			s->name_known = true;
		}
	}
	if (detached)
		__atomic_fetch_or(&s->state, CT_SLOT_DETACHED, __ATOMIC_RELEASE);
	return s;
}

void
ct_threads_created(struct ct_thread_slot *s, bool created, uint64_t handle)
{
	if (!s)
		return;
	if (!created) {
		ct_slot_free(s);
		return;
	}
	/* The new thread stores the same handle; it may also have run,
	 * been detached by itself, and exited already. */
	__atomic_store_n(&s->handle, handle, __ATOMIC_RELAXED);
	int old = ct_slot_load(s);
	for (;;) {
		int flags = old & (CT_SLOT_REAPING | CT_SLOT_DETACHED), new;
		if (!(old & CT_SLOT_GONE))
			new = CT_SLOT_RUNNING | flags;
		else if (old & CT_SLOT_DETACHED)
			new = CT_SLOT_CLAIMING;
		else
			new = CT_SLOT_EXITED | flags;
		if (ct_slot_move(s, &old, new))
			return;
	}
}

void
ct_threads_adopt(struct ct_thread_slot *s)
{
	if (!ct_self.tid)
		ct_self.tid = ct_tid_from_clock();
	ct_threads_own(s, false);
}

void
ct_threads_exit(void *s)
{
	ct_threads_exit_cb(s);
}

struct ct_thread_slot *
ct_threads_reap_begin(uint64_t handle)
{
	if (!ct_slots || handle == 0)
		return NULL;
	/* A thread detaching itself may do so before its creator finished
	 * setting its slot up. */
	struct ct_thread_slot *mine = ct_self.slot;
	if (handle == (uint64_t)pthread_self()) {
		if (!mine || mine < ct_slots || mine >= ct_slots + CT_THREADS_MAX)
			return NULL;
		__atomic_fetch_or(&mine->state, CT_SLOT_REAPING, __ATOMIC_ACQ_REL);
		return mine;
	}
	int n = __atomic_load_n(&ct_slots_used, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n; i++) {
		struct ct_thread_slot *s = &ct_slots[i];
		if (__atomic_load_n(&s->handle, __ATOMIC_RELAXED) != handle)
			continue;
		int old = ct_slot_load(s);
		/* The handle is read again after the state: a slot freed
		 * and claimed again in between carries another one. */
		while ((old & CT_SLOT_BASE) != CT_SLOT_FREE &&
		       !(old & (CT_SLOT_REAPING | CT_SLOT_DETACHED)) &&
		       __atomic_load_n(&s->handle, __ATOMIC_RELAXED) == handle) {
			if (ct_slot_cas(s, &old, old | CT_SLOT_REAPING))
				return s;
		}
	}
	return NULL;
}

void
ct_threads_reap_end(struct ct_thread_slot *s, bool ok, bool detach)
{
	if (!s)
		return;
	if (ok && detach)
		s->detached = 1; /* the REAPING flag keeps the slot ours */
	int old = ct_slot_load(s);
	for (;;) {
		int base = old & CT_SLOT_BASE, new;
		if (!ok)
			new = old & ~CT_SLOT_REAPING;
		else if (base == CT_SLOT_EXITED || (!detach && base == CT_SLOT_RUNNING))
			new = CT_SLOT_CLAIMING; /* joined, or detached once exited: gone */
		else if (base == CT_SLOT_CLAIMING && !detach)
			/* Joined before its creator finished: that one frees it. */
			new = (old & ~CT_SLOT_REAPING) | CT_SLOT_GONE | CT_SLOT_DETACHED;
		else
			new = (old & ~CT_SLOT_REAPING) | CT_SLOT_DETACHED;
		if (ct_slot_move(s, &old, new))
			return;
	}
}

struct ct_thread_slot *
ct_threads_self(void)
{
	if (CT_UNLIKELY(!ct_self.slot))
		return ct_threads_claim_self();
	return ct_self.slot;
}

/* Whether the thread's last wait ended unwoken (ct_wait_unwoken) at the
 * same op, site and object, and so little before `since` that the wait
 * beginning now is that one re-armed. */
static bool
ct_wait_rearmed(const struct ct_thread_slot *s, unsigned op, const void *obj, int fd,
		int64_t since, uintptr_t caller)
{
	int64_t ended = ct_self.wunwoken;
	if (CT_LIKELY(!ended) || ct_self.wlastop != op + 1 || s->wobj != obj || s->wfd != fd ||
	    s->wcaller != caller)
		return false;
	int64_t gap = since - ended, len = ended - ct_self.wstart;
	return gap <= (len > CT_REARM_GAP_NS ? len : CT_REARM_GAP_NS);
}

/* A wait beginning at since continues a run (ct_wait_rearmed) that a
 * signal interrupted: its wake-up, if it comes soon, may be the leftover
 * of that signal. PostgreSQL's lock wait: its deadlock timeout's
 * SIGALRM interrupts the latch's epoll_wait (EINTR), the handler sets the
 * latch by writing the signalfd, the backend checks for a deadlock and
 * waits again, that wait returns at once with the signalfd readable, the
 * backend drains it (a read) and waits on. Noted here; see
 * ct_wait_graced. */
static inline void
ct_wait_grace_arm(unsigned op, const void *obj, int fd, int64_t since, uintptr_t caller,
		  int64_t run_since, uint32_t rearms)
{
	ct_self.wgrace = since ? since : 1;
	ct_self.wrun.op = op + 1;
	ct_self.wrun.fd = fd;
	ct_self.wrun.caller = caller;
	ct_self.wrun.obj = obj;
	ct_self.wrun.since = run_since;
	ct_self.wrun.rearms = rearms;
}

/* Whether a wait beginning at since, not re-armed by ct_wait_rearmed,
 * continues the run of the thread's last re-armed wait (ct_wait_grace_arm)
 * all the same: the same op, site and object or fd, begun within
 * CT_REARM_GAP_NS of that wait's start, whatever the thread did in
 * between (that wait woke up, the thread drained a wake-up fd). Once per
 * re-armed wait: a run whose waits keep waking up (an event loop at work)
 * ends at the next one. Clears the pending grace when used or too old. */
static CT_NOINLINE bool
ct_wait_graced(unsigned op, const void *obj, int fd, int64_t since, uintptr_t caller)
{
	if (since - ct_self.wgrace > CT_REARM_GAP_NS) {
		ct_self.wgrace = 0;
		return false;
	}
	if (ct_self.wrun.op != op + 1 || ct_self.wrun.obj != obj || ct_self.wrun.fd != fd ||
	    ct_self.wrun.caller != caller)
		return false;
	ct_self.wgrace = 0;
	return true;
}

/* For the ops of rule CT_SITE_OBJ: which kind of object they wait on. */
static inline unsigned
ct_site_obj_kind(unsigned op)
{
	switch (op) {
	CT_OP_CASES_COND:
		return CT_LK_COND;
	CT_OP_CASES_SEM:
		return CT_LK_SEM;
	default:
		return CT_LK_NONE;
	}
}

/* Whether a wait (op + 1, ...) with rule ct_site_rule(op) is at site h
 * (in use). The object is compared first: it differs between most sites
 * of a thread, and the kind is looked at only when it is the same. */
static inline bool
ct_site_is(const struct ct_wait_site *h, enum ct_site_rule rule, uint32_t op1, const void *obj,
	   int fd, uintptr_t caller)
{
	if (h->obj != obj)
		return false;
	if (rule == CT_SITE_OBJ && obj)
		return ct_site_obj_kind(h->op - 1) == ct_site_obj_kind(op1 - 1);
	return h->op == op1 && h->caller == caller && h->fd == fd;
}

/* A wait beginning at a site the thread has not counted yet (or a full
 * table): the first site stays; a new one replaces the least used of the
 * others. Out of line: the usual wait finds its site, and this kept
 * ct_wait_enter's registers busy. */
static CT_NOINLINE void
ct_wait_home_add(struct ct_thread_slot *s, unsigned op, const void *obj, int fd, uintptr_t caller)
{
	struct ct_wait_site *h = s->hsite, *least = NULL;
	for (int i = 0; i < CT_HOME_SITES; i++) {
		if (!h[i].op) {
			least = &h[i];
			break;
		}
		if (i && (!least || h[i].n < least->n))
			least = &h[i];
	}
	if (least->op)
		s->hevicted++;
	*least = (struct ct_wait_site){op + 1, 1, fd, caller, obj};
}

/* Counts a wait beginning at a site (ct_thread_slot.hsite): a few
 * compares on a slow path. Sites fill in order and are never emptied
 * (until the slot is), so the first unused one ends the search. The
 * calls of rule CT_SITE_CALL (every I/O wait, whose obj is NULL) are
 * told apart by their call site first. */
static inline __attribute__((always_inline)) void
ct_wait_home(struct ct_thread_slot *s, unsigned op, const void *obj, int fd, uintptr_t caller)
{
	enum ct_site_rule rule = ct_site_rule(op);
	if (rule == CT_SITE_NONE)
		return;
	struct ct_wait_site *h = s->hsite;
	uint32_t op1 = op + 1;
	if (rule == CT_SITE_CALL) {
		for (int i = 0; i < CT_HOME_SITES && h[i].op; i++) {
			if (h[i].caller == caller && h[i].op == op1 && h[i].fd == fd &&
			    h[i].obj == obj) {
				h[i].n++;
				return;
			}
		}
	} else {
		for (int i = 0; i < CT_HOME_SITES && h[i].op; i++) {
			if (ct_site_is(&h[i], rule, op1, obj, fd, caller)) {
				h[i].n++;
				return;
			}
		}
	}
	ct_wait_home_add(s, op, obj, fd, caller);
}

/* Whether the wait (op + 1 ...) is where the thread parks: at the first
 * site it ever waited at (not on a lock), or at the one it waited at
 * most, and more than once. */
static bool
ct_wait_at_home(const struct ct_thread_slot *s, uint32_t op1, const void *obj, int fd,
		uintptr_t caller)
{
	const struct ct_wait_site *h = s->hsite, *at = NULL;
	uint32_t others = 0;
	if (!s->start_routine && !s->hforked)
		return false; /* its earlier waits are unknown */
	enum ct_site_rule rule = ct_site_rule(op1 - 1);
	for (int i = 0; i < CT_HOME_SITES; i++) {
		if (h[i].op && ct_site_is(&h[i], rule, op1, obj, fd, caller))
			at = &h[i];
		else if (h[i].n > others)
			others = h[i].n;
	}
	if (!at)
		return false;
	return at == &h[0] || (at->n >= 2 && at->n > others);
}

/* ct_thread_slot.wsp: the stack pointer where a register is enough
 * (__builtin_frame_address made ct_wait_enter set up a frame pointer
 * and save one more register on every wait). */
static inline uintptr_t
ct_wait_sp(void)
{
#if defined(__x86_64__)
	uintptr_t sp;
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	return sp;
#else
	return (uintptr_t)__builtin_frame_address(0);
#endif
}

/* Writes the wait record of a wait beginning now, and the thread's last
 * wait: a new one (run_since == since, rearms 0) or the continuation of a
 * run that began at run_since and was re-armed rearms times before. */
static inline __attribute__((always_inline)) void
ct_wait_record(struct ct_thread_slot *s, unsigned op, const void *obj, int fd, int64_t since,
	       uintptr_t caller, uintptr_t aux, uint32_t naux, int64_t run_since, uint32_t rearms)
{
	ct_self.wunwoken = 0;
	ct_self.wlastop = op + 1;
	ct_self.wstart = since;
	uint32_t seq = s->wseq;
	__atomic_store_n(&s->wseq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	s->wobj = obj;
	s->wfd = fd;
	s->wsince = run_since;
	s->wrearms = rearms;
	s->wcaller = caller;
	s->wsp = ct_wait_sp();
	s->waux = aux;
	s->wnaux = naux;
	s->wop = op + 1;
	__atomic_store_n(&s->wseq, seq + 2, __ATOMIC_RELEASE);
}

/* The body of ct_wait_enter and ct_wait_enter_aux: two entry points, so
 * that the waits without aux (every read and write) pass no more
 * arguments than registers hold. */
static inline __attribute__((always_inline)) void
ct_wait_enter_body(unsigned op, const void *obj, int fd, int64_t since, uintptr_t caller,
		   uintptr_t aux, uint32_t naux)
{
	struct ct_thread_slot *s = ct_threads_self();
	if (!s)
		return;
	int64_t run_since = since;
	uint32_t rearms = 0;
	if (ct_wait_rearmed(s, op, obj, fd, since, caller)) {
		run_since = s->wsince;
		rearms = s->wrearms + 1;
		if (ct_self.wrun.intr)
			ct_wait_grace_arm(op, obj, fd, since, caller, run_since, rearms);
	} else if (CT_UNLIKELY(ct_self.wgrace) && ct_wait_graced(op, obj, fd, since, caller)) {
		run_since = ct_self.wrun.since;
		rearms = ct_self.wrun.rearms + 1;
	} else
		ct_wait_home(s, op, obj, fd, caller);
	ct_wait_record(s, op, obj, fd, since, caller, aux, naux, run_since, rearms);
}

void
ct_wait_enter(unsigned op, const void *obj, int fd, int64_t since, uintptr_t caller)
{
	ct_wait_enter_body(op, obj, fd, since, caller, 0, 0);
}

void
ct_wait_enter_aux(unsigned op, const void *obj, int fd, int64_t since, uintptr_t caller,
		  uintptr_t aux, uint32_t naux)
{
	ct_wait_enter_body(op, obj, fd, since, caller, aux, naux);
}

/* The usual case alone, a leaf: the thread has its slot, its last wait
 * did not end unwoken (so this one is no re-armed wait) and it has
 * waited at this site before. Anything else is ct_wait_enter's, which
 * does the same then (the site is counted there, not here). */
CT_HOT_TEXT void
ct_wait_enter_call(unsigned op, int fd, int64_t since, uintptr_t caller)
{
	struct ct_thread_slot *s = ct_self.slot;
	uint32_t op1 = op + 1;
	if (CT_LIKELY(s && !ct_self.wunwoken && !ct_self.wgrace)) {
		struct ct_wait_site *h = s->hsite;
		for (int i = 0; i < CT_HOME_SITES && h[i].op; i++) {
			if (h[i].caller == caller && h[i].op == op1 && h[i].fd == fd && !h[i].obj) {
				h[i].n++;
				ct_wait_record(s, op, NULL, fd, since, caller, 0, 0, since, 0);
				return;
			}
		}
	}
	ct_wait_enter(op, NULL, fd, since, caller);
}


/* The results of op that mean "not woken": see ct_wait_unwoken. */
static bool
ct_wait_result_unwoken(unsigned op, long ret, int err)
{
	switch (op) {
	case CT_OP_COND_TIMEDWAIT:
	case CT_OP_COND_CLOCKWAIT:
	case CT_OP_MUTEX_TIMEDLOCK:
	case CT_OP_MUTEX_CLOCKLOCK:
	case CT_OP_RWLOCK_TIMEDRDLOCK:
	case CT_OP_RWLOCK_TIMEDWRLOCK:
	case CT_OP_RWLOCK_CLOCKRDLOCK:
	case CT_OP_RWLOCK_CLOCKWRLOCK:
	case CT_OP_TIMEDJOIN:
	case CT_OP_CLOCKJOIN:
		return ret == ETIMEDOUT; /* pthreads return the error */
	case CT_OP_POLL:
	case CT_OP_PPOLL:
	case CT_OP_SELECT:
	case CT_OP_PSELECT:
	case CT_OP_EPOLL_WAIT:
	case CT_OP_EPOLL_PWAIT:
	case CT_OP_EPOLL_PWAIT2:
		return ret == 0 || (ret == -1 && err == EINTR);
	case CT_OP_SIGTIMEDWAIT:
		return ret == -1 && (err == EAGAIN || err == EINTR);
	case CT_OP_NANOSLEEP:
	case CT_OP_CLOCK_NANOSLEEP:
	case CT_OP_SLEEP:
	case CT_OP_USLEEP:
		return false; /* a sleep loop is the program's own doing */
	default:
		/* sem_*wait, futex waits, mq_timed*, and EINTR anywhere. */
		return ret == -1 && (err == ETIMEDOUT || err == EINTR);
	}
}

void
ct_wait_unwoken(unsigned op, long ret, int err)
{
	struct ct_thread_slot *s = ct_self.slot;
	if (!s || ct_self.wlastop != op + 1 || !ct_wait_result_unwoken(op, ret, err))
		return;
	ct_self.wunwoken = ct_now_ns();
	if (ct_self.wunwoken == 0)
		ct_self.wunwoken = 1;
	ct_self.wrun.intr = err == EINTR && ret == -1;
	errno = err;
}


uint32_t
ct_wait_suspend(void)
{
	struct ct_thread_slot *s = ct_self.slot;
	if (!s || (__atomic_load_n(&s->wseq, __ATOMIC_RELAXED) & 1))
		return 0;
	uint32_t op = __atomic_load_n(&s->wop, __ATOMIC_RELAXED);
	if (op)
		__atomic_store_n(&s->wop, 0, __ATOMIC_RELEASE);
	return op;
}

void
ct_wait_resume(uint32_t saved)
{
	/* The handler's own wrapped calls never write the record (they do
	 * not record: ct_active), so the rest of it is still this wait's. */
	if (saved && ct_self.slot)
		__atomic_store_n(&ct_self.slot->wop, saved, __ATOMIC_RELEASE);
}

bool
ct_wait_read(const struct ct_thread_slot *slot, struct ct_wait_view *out)
{
	for (int tries = 0; tries < 1000; tries++) {
		uint32_t s1 = __atomic_load_n(&slot->wseq, __ATOMIC_ACQUIRE);
		if (s1 & 1)
			continue;
		uint32_t op = __atomic_load_n(&slot->wop, __ATOMIC_RELAXED);
		out->obj = slot->wobj;
		out->fd = slot->wfd;
		out->since = slot->wsince;
		out->rearms = slot->wrearms;
		out->caller = slot->wcaller;
		out->sp = slot->wsp;
		out->aux = slot->waux;
		out->naux = slot->wnaux;
		/* Written by the thread itself before its wait record. */
		out->home = ct_wait_at_home(slot, op, out->obj, out->fd, out->caller);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&slot->wseq, __ATOMIC_RELAXED) != s1)
			continue;
		if (op == 0)
			return false;
		out->op = op - 1;
		return true;
	}
	return false;
}

void
ct_threads_fork_child(void)
{
	if (!ct_slots)
		return;
	struct ct_thread_slot *mine = ct_self.slot;
	/* Only slots ever used, and only those not free already: a write to
	 * any other would make the child copy or allocate its page. */
	int n = __atomic_load_n(&ct_slots_used, __ATOMIC_RELAXED);
	for (int i = 0; i < n; i++)
		if (&ct_slots[i] != mine &&
		    (__atomic_load_n(&ct_slots[i].state, __ATOMIC_RELAXED) != CT_SLOT_FREE ||
		     __atomic_load_n(&ct_slots[i].handle, __ATOMIC_RELAXED) != 0))
			ct_slot_free(&ct_slots[i]);
	if (!mine)
		ct_fork_main_tid = ct_tid();
	if (mine) {
		mine->tid = ct_tid();
		mine->wop = 0;
		/* Where it parks is learnt again from here (ct_wait_at_home):
		 * the parent's sites are not the child's (a postmaster's
		 * select, a backend's client and latch waits). */
		memset(mine->hsite, 0, sizeof(mine->hsite));
		mine->hevicted = 0;
		mine->hforked = true;
		ct_self.wunwoken = 0;
		ct_self.wgrace = 0;
		/* The waiter table starts empty here (ct_waiters_reset). */
		for (int i = 0; i < CT_WAIT_DEFERS; i++)
			if (mine->wdefer[i].obj)
				mine->wdefer[i].obj = NULL;
	}
}

void
ct_threads_renamed(uint64_t handle, const char *name)
{
	struct ct_thread_slot *s = ct_self.slot;
	if (handle) {
		s = NULL;
		int n = __atomic_load_n(&ct_slots_used, __ATOMIC_RELAXED);
		for (int i = 0; ct_slots && i < n; i++)
			if (__atomic_load_n(&ct_slots[i].handle, __ATOMIC_RELAXED) == handle &&
			    ct_threads_state(&ct_slots[i]) == CT_THREAD_RUNNING) {
				s = &ct_slots[i];
				break;
			}
	}
	if (!s || !name)
		return;
	size_t len = strnlen(name, sizeof(s->name) - 1);
	memcpy(s->name, name, len);
	s->name[len] = 0;
	s->name_known = true;
}

struct ct_thread_slot *
ct_threads_find_tid(int tid)
{
	int n = __atomic_load_n(&ct_slots_used, __ATOMIC_RELAXED);
	for (int i = 0; ct_slots && tid > 0 && i < n; i++)
		if (__atomic_load_n(&ct_slots[i].tid, __ATOMIC_RELAXED) == tid &&
		    ct_threads_state(&ct_slots[i]) == CT_THREAD_RUNNING)
			return &ct_slots[i];
	return NULL;
}

bool
ct_threads_others_running(void)
{
	int n = __atomic_load_n(&ct_slots_used, __ATOMIC_RELAXED);
	for (int i = 0; ct_slots && i < n; i++)
		if (&ct_slots[i] != ct_self.slot && ct_threads_state(&ct_slots[i]) == CT_THREAD_RUNNING)
			return true;
	return false;
}

bool
ct_threads_worth_dumping(void)
{
	int n = __atomic_load_n(&ct_slots_used, __ATOMIC_RELAXED);
	struct ct_thread_slot *mine = ct_self.slot;
	if (ct_threads_untracked())
		return true;
	for (int i = 0; ct_slots && i < n; i++) {
		int st = ct_threads_state(&ct_slots[i]);
		if (st == CT_THREAD_EXITED || (st == CT_THREAD_RUNNING && &ct_slots[i] != mine))
			return true;
	}
	return false;
}

/* Reads len bytes at addr without risking a fault: the object of a wait
 * may have been freed since the record was read. */
static bool
ct_safe_read(uintptr_t addr, void *buf, size_t len)
{
	return addr && ct_sys_peek(addr, buf, len) == len;
}

/* The holder of the lock a thread waits on, from glibc's public layouts:
 * a mutex's __owner, a write-locked rwlock's __cur_writer. */
static int
ct_threads_owner(unsigned op, uintptr_t obj)
{
	pthread_mutex_t m;
	pthread_rwlock_t l;
	/* A thread's wait is never an unlock: the lock ops are the waits. */
	switch (ct_lock_kind_of_op(op)) {
	case CT_LK_MUTEX:
		return ct_safe_read(obj, &m, sizeof(m)) ? m.__data.__owner : 0;
	case CT_LK_RWLOCK:
		return ct_safe_read(obj, &l, sizeof(l)) ? l.__data.__cur_writer : 0;
	default:
		return 0;
	}
}

static void
ct_threads_comm(int tid, char name[16])
{
	char buf[16];
	ssize_t n = ct_task_read(tid, "comm", buf, sizeof(buf));
	if (n <= 0)
		return;
	if (buf[n - 1] == '\n')
		buf[n - 1] = 0;
	memcpy(name, buf, 16);
}

void
ct_threads_refresh_names(void)
{
	int n = __atomic_load_n(&ct_slots_used, __ATOMIC_RELAXED);
	for (int i = 0; ct_slots && i < n; i++)
		if (ct_threads_state(&ct_slots[i]) == CT_THREAD_RUNNING)
			ct_threads_comm(ct_slots[i].tid, ct_slots[i].name);
}

/* The thread that crashed (ct_threads_crashed): its tid once the stack
 * is in place, 0 before. */
static struct {
	int tid, sig, depth;
	uintptr_t pc[CT_UNWIND_SIGNAL_MAX];
} ct_crash;

void
ct_threads_crashed(int sig, const uintptr_t *pcs, int n)
{
	if (__atomic_load_n(&ct_crash.tid, __ATOMIC_ACQUIRE))
		return;
	if (n > CT_UNWIND_SIGNAL_MAX)
		n = CT_UNWIND_SIGNAL_MAX;
	memcpy(ct_crash.pc, pcs, (size_t)(n > 0 ? n : 0) * sizeof(pcs[0]));
	ct_crash.depth = n > 0 ? n : 0;
	ct_crash.sig = sig;
	__atomic_store_n(&ct_crash.tid, ct_tid(), __ATOMIC_RELEASE);
}

static void
ct_threads_fill(struct ct_thread_snap *t, const struct ct_thread_slot *s, int state, int64_t now,
		int64_t stuck_ns)
{
	struct ct_wait_view w;
	memset(t, 0, sizeof(*t));
	t->tid = s->tid;
	t->state = state;
	t->detached = s->detached;
	t->creator_tid = s->creator_tid;
	t->start_routine = s->start_routine;
	t->age_ns = s->created_ns >= 0 ? now - s->created_ns : -1;
	t->create_depth = s->create_depth;
	memcpy(t->create_pc, s->create_pc, sizeof(t->create_pc));
	t->fd = -1;
	memcpy(t->name, s->name, sizeof(t->name));
	if (state != CT_THREAD_RUNNING)
		return;
	ct_threads_comm(s->tid, t->name);
	if (!ct_wait_read(s, &w)) {
		if (s->tid == __atomic_load_n(&ct_crash.tid, __ATOMIC_ACQUIRE)) {
			t->crashed = ct_crash.sig;
			t->depth = ct_crash.depth < CT_STACK_MAX ? ct_crash.depth : CT_STACK_MAX;
			memcpy(t->pc, ct_crash.pc, (size_t)t->depth * sizeof(t->pc[0]));
		}
		return;
	}
	t->waiting = 1;
	t->op = w.op;
	t->obj = (uintptr_t)w.obj;
	t->fd = w.fd;
	/* A wait that began after `now` was read is just starting. */
	t->wait_ns = now > w.since ? now - w.since : 0;
	t->rearms = w.rearms;
	t->aux = w.aux;
	t->naux = w.naux;
	t->home = w.home;
	t->stuck = t->wait_ns >= stuck_ns; /* until ct_threads_classify */
	t->owner_tid = ct_threads_owner(w.op, t->obj);
	if (t->owner_tid)
		ct_threads_comm(t->owner_tid, t->owner_name);
	t->pc[0] = w.caller;
	t->depth = w.caller ? 1 : 0;
	if (s == ct_self.slot)
		return;
	/* The whole stack when the kernel shows it blocked in our wrapper;
	 * trusted only if it agrees with the caller the wrapper recorded. */
	uintptr_t lo, hi, pcs[CT_STACK_MAX];
	ct_stack_self_range(&lo, &hi);
	int n = ct_stack_of_blocked_thread(s->tid, lo, hi, pcs, CT_STACK_MAX);
	if (n <= 0 || pcs[0] != w.caller)
		n = ct_stack_above(w.caller, w.sp, pcs, CT_STACK_MAX);
	if (n > 0 && pcs[0] == w.caller) {
		memcpy(t->pc, pcs, (size_t)n * sizeof(pcs[0]));
		t->depth = n;
	}
}

/* How a wait in op may be idle: 2 = it waits for outside work by nature
 * (a listener, a signal thread), 1 = when several threads
 * wait at the same site on the same object (a pool parked on its
 * condvar, semaphore or message queue), or when it is a service thread's
 * only wait (ct_thread_snap.home), or (epoll) when its set holds a socket
 * (ct_epoll_outside: an event loop), 0 = never (locks, whose holder
 * may be stuck; joins, barriers, sleeps; writes; reads, which wait for
 * a peer that may be stuck, unless the peer is a client (ct_client_wait)
 * or the parent process (ct_parent_pipe), or the read is where its thread
 * usually waits (ct_op_input: a log thread reading its pipe, Apache's
 * worker reading its pipe of death); futexes: a futex word may be a
 * lock). */
static int
ct_op_idle_kind(unsigned op)
{
	switch (op) {
	case CT_OP_ACCEPT:
	case CT_OP_ACCEPT4:
	case CT_OP_SIGWAIT:
	case CT_OP_SIGWAITINFO:
	case CT_OP_SIGTIMEDWAIT:
	case CT_OP_SIGSUSPEND:
	case CT_OP_PAUSE:
		return 2;
	CT_OP_CASES_COND:
	CT_OP_CASES_SEM:
	case CT_OP_EPOLL_WAIT:
	case CT_OP_EPOLL_PWAIT:
	case CT_OP_EPOLL_PWAIT2:
	case CT_OP_POLL:
	case CT_OP_PPOLL:
	case CT_OP_SELECT:
	case CT_OP_PSELECT:
	case CT_OP_MSGRCV:
	case CT_OP_MQ_RECEIVE:
	case CT_OP_MQ_TIMEDRECEIVE:
		return 1;
	default:
		return 0;
	}
}

/* Waits for input on one fd: on a connection the process accepted, the
 * server waits for its client (ct_client_wait). */
static bool
ct_op_input(unsigned op)
{
	switch (op) {
	case CT_OP_POLL:
	case CT_OP_PPOLL:
	case CT_OP_READ:
	case CT_OP_READV:
	case CT_OP_RECV:
	case CT_OP_RECVFROM:
	case CT_OP_RECVMSG:
	case CT_OP_RECVMMSG:
		return true;
	default:
		return false;
	}
}

/* A read of a pipe that the parent process holds too: its commands, or
 * its pipe of death (a pre-forked worker's main thread parked until the
 * master tells it to go). The parent is outside the process, like a
 * client. Seen in /proc/<ppid>/fd, which only the same user (or root)
 * may read: an Apache master that kept root does not show it, and its
 * worker's read is then idle only at its usual place
 * (ct_thread_snap.home). The descriptors are compared by their links
 * ("pipe:[4026]"), never by stat: the parent's other descriptors may be
 * files on a network mount whose server no longer answers, where a stat
 * would hang the dump. So a named FIFO (whose link is a path, like a
 * file's) does not count. A dump looks at most CT_PARENT_SCANS pipes up,
 * each in at most 4096 of the parent's fds (beyond, a read is not idle
 * by this rule): threads reading one pipe share the answer. */
#define CT_PARENT_SCANS 8
struct ct_parent_pipes {
	pid_t parent; /* 0: unknown */
	int n;
	char link[CT_PARENT_SCANS][32]; /* "pipe:[<inode>]" */
	bool held[CT_PARENT_SCANS];
};

static bool
ct_parent_pipe(const struct ct_thread_snap *t, struct ct_parent_pipes *pp)
{
	pid_t ppid = pp->parent;
	if (!ct_op_input(t->op) || t->fd < 0 || ppid <= 1)
		return false;
	char path[32], want[32], got[32];
	ssize_t n = ct_fd_link(t->fd, want, sizeof(want));
	if (n <= 6 || memcmp(want, "pipe:[", 6) != 0)
		return false;
	for (int i = 0; i < pp->n; i++)
		if (!strcmp(pp->link[i], want))
			return pp->held[i];
	if (pp->n == CT_PARENT_SCANS)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)ppid);
	DIR *d = opendir(path);
	bool held = false;
	struct dirent *e;
	for (int i = 0; d && !held && i < 4096 && (e = readdir(d)); i++) {
		ssize_t m = e->d_name[0] == '.' ? -1 :
			    readlinkat(dirfd(d), e->d_name, got, sizeof(got) - 1);
		held = m == n && !memcmp(got, want, (size_t)n);
	}
	if (d)
		closedir(d);
	memcpy(pp->link[pp->n], want, (size_t)n + 1);
	pp->held[pp->n++] = held;
	return held;
}

/* Listening sockets seen in the dump's waits (accept, or a poll of
 * nothing but listeners), by local address. */
#define CT_LISTENERS_MAX 16
struct ct_listeners {
	int n;
	struct sockaddr_storage a[CT_LISTENERS_MAX];
	socklen_t len[CT_LISTENERS_MAX];
};

static bool
ct_fd_listening(int fd)
{
	int v = 0;
	socklen_t l = sizeof(v);
	return fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 && v;
}

static void
ct_listeners_add(struct ct_listeners *ls, int fd)
{
	if (ls->n == CT_LISTENERS_MAX)
		return;
	socklen_t l = sizeof(ls->a[0]);
	if (getsockname(fd, (struct sockaddr *)&ls->a[ls->n], &l) == 0 && l <= sizeof(ls->a[0]))
		ls->len[ls->n++] = l;
}

/* Whether a connected socket with local address c came from listener i:
 * same Unix path, or same port and address (or a wildcard listener). */
static bool
ct_accepted_from(const struct sockaddr_storage *c, socklen_t cl, const struct ct_listeners *ls,
		 int i)
{
	const struct sockaddr_storage *l = &ls->a[i];
	if (c->ss_family != l->ss_family)
		return false;
	if (c->ss_family == AF_UNIX)
		return cl > offsetof(struct sockaddr_un, sun_path) + 1 && cl == ls->len[i] &&
		       memcmp(c, l, cl) == 0;
	if (c->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)c, *b = (const void *)l;
		return a->sin_port == b->sin_port &&
		       (b->sin_addr.s_addr == htonl(INADDR_ANY) ||
			a->sin_addr.s_addr == b->sin_addr.s_addr);
	}
	if (c->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)c, *b = (const void *)l;
		return a->sin6_port == b->sin6_port &&
		       (IN6_IS_ADDR_UNSPECIFIED(&b->sin6_addr) ||
			IN6_ARE_ADDR_EQUAL(&a->sin6_addr, &b->sin6_addr));
	}
	return false;
}

/* A wait for input from a client: on a connected socket that one of the
 * listening sockets seen in the dump accepted. A server's thread waiting
 * for its client's next request waits for outside work, like accept. */
static bool
ct_client_wait(const struct ct_thread_snap *t, const struct ct_listeners *ls)
{
	if (!ls->n || t->fd < 0 || !ct_op_input(t->op) || ct_fd_listening(t->fd))
		return false;
	struct sockaddr_storage c;
	socklen_t cl = sizeof(c);
	if (getsockname(t->fd, (struct sockaddr *)&c, &cl) != 0 || cl > sizeof(c))
		return false;
	for (int i = 0; i < ls->n; i++)
		if (ct_accepted_from(&c, cl, ls, i))
			return true;
	return false;
}

/* The fds of a poll in progress, read from the program's array without
 * risk (it may be gone already: then nothing). At most max. */
static int
ct_poll_fds(const struct ct_thread_snap *t, struct pollfd *pf, int max)
{
	if ((t->op != CT_OP_POLL && t->op != CT_OP_PPOLL) || !t->aux || t->naux == 0)
		return 0;
	int n = t->naux < (uint32_t)max ? (int)t->naux : max;
	struct iovec local = {pf, (size_t)n * sizeof(*pf)};
	struct iovec remote = {(void *)t->aux, (size_t)n * sizeof(*pf)};
	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)local.iov_len)
		return 0;
	return n;
}

/* A poll that waits on a listening socket waits for connections, like
 * accept (whatever else it waits on: a wake-up pipe or eventfd, other
 * clients); its listening sockets join ls. A poll of one other fd shows
 * that fd, as the other single-fd waits do. */
static bool
ct_poll_listening(struct ct_thread_snap *t, struct ct_listeners *ls)
{
	struct pollfd pf[64];
	int n = ct_poll_fds(t, pf, 64), listening = 0;
	if (n == 1 && pf[0].fd >= 0)
		t->fd = pf[0].fd;
	for (int i = 0; i < n; i++)
		if (pf[i].fd >= 0 && ct_fd_listening(pf[i].fd)) {
			listening++;
			ct_listeners_add(ls, pf[i].fd);
		}
	return listening > 0;
}

/* An epoll_wait whose set holds a socket (a listener, a client's
 * connection, a peer): an event loop waiting for outside work, idle like
 * accept. A set of nothing but the process's own wake-ups (an eventfd,
 * a signalfd, pipes, timers) waits for the process itself: a PostgreSQL
 * backend waits for a row lock on its latch that way, as its background
 * processes wait for work; the kind-1 rules tell those apart. The set is
 * read from /proc/self/fdinfo (its "tfd:" lines), which needs no access
 * a process loses by changing its credentials; when it cannot be read,
 * idle, as every epoll_wait was before. */
static bool
ct_epoll_outside(const struct ct_thread_snap *t)
{
	if ((t->op != CT_OP_EPOLL_WAIT && t->op != CT_OP_EPOLL_PWAIT &&
	     t->op != CT_OP_EPOLL_PWAIT2) || t->fd < 0)
		return false;
	char buf[4096];
	ssize_t n = ct_fdinfo_read(t->fd, buf, sizeof(buf));
	if (n <= 0)
		return true;
	bool any = false;
	for (char *p = strstr(buf, "tfd:"); p; p = strstr(p + 4, "tfd:")) {
		struct stat st;
		int tfd = atoi(p + 4);
		any = true;
		if (fstat(tfd, &st) == 0 && S_ISSOCK(st.st_mode))
			return true;
	}
	/* A full buffer may have cut the list: unknown, so idle. */
	return !any || n == (ssize_t)sizeof(buf) - 1;
}

/* The order of waits (pointers to thread snapshots) that groups them:
 * by (op, site), then by (object, fd) or, when *by_mutex, by the mutex of
 * a condition wait (a pool whose workers each wait on a condvar of their
 * own, all under the pool's one mutex). Equal keys are one group. */
static int
ct_cmp_wait(const void *a, const void *b, void *by_mutex)
{
	const struct ct_thread_snap *x = *(const struct ct_thread_snap *const *)a;
	const struct ct_thread_snap *y = *(const struct ct_thread_snap *const *)b;
	if (x->op != y->op)
		return x->op < y->op ? -1 : 1;
	if (x->pc[0] != y->pc[0])
		return x->pc[0] < y->pc[0] ? -1 : 1;
	if (*(const bool *)by_mutex)
		return x->aux < y->aux ? -1 : x->aux > y->aux;
	if (x->obj != y->obj)
		return x->obj < y->obj ? -1 : 1;
	return x->fd < y->fd ? -1 : x->fd > y->fd;
}

/* Marks as idle the groups of two or more equal waits (ct_cmp_wait). */
static void
ct_idle_groups(struct ct_thread_snap **w, size_t k, bool by_mutex)
{
	qsort_r(w, k, sizeof(*w), ct_cmp_wait, &by_mutex);
	for (size_t i = 0; i < k;) {
		size_t j = i + 1;
		while (j < k && ct_cmp_wait(&w[i], &w[j], &by_mutex) == 0)
			j++;
		for (size_t g = i; j - i > 1 && g < j; g++)
			w[g]->idle = 1;
		i = j;
	}
}

/* Marks idle waits (see ct_op_idle_kind) and gives the stuck verdict to
 * the others that waited stuck_ns. Idle are: the kind-2 waits and polls
 * that include a listening socket; waits for a client on a connection accepted from
 * one of those (or from a socket a thread accepts on), or for the parent
 * process on a pipe it holds too (ct_parent_pipe); kind-1 waits of
 * two or more threads at the same site on the same object, or condition
 * waits at the same site under the same mutex; and a kind-1 wait at the
 * site where its thread usually parks (ct_thread_slot.hsite: a timer, a
 * manager, a purge coordinator parked on its own condvar). A poll or
 * select of several fds, none listening, names no object, so nothing says its threads wait for the same thing: never a group.
 * Without memory for the sort, the groups are not formed (the dump then
 * errs towards "stuck"). */
static void
ct_threads_classify(struct ct_thread_snap *v, size_t n, int64_t stuck_ns, pid_t parent)
{
	struct ct_thread_snap **w = calloc(n ? n : 1, sizeof(*w));
	struct ct_listeners ls = {0};
	struct ct_parent_pipes pp = {.parent = parent};
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct ct_thread_snap *t = &v[i];
		if (!t->waiting)
			continue;
		int kind = ct_op_idle_kind(t->op);
		t->idle = kind == 2 || ct_poll_listening(t, &ls) || ct_epoll_outside(t) ||
			  ((kind == 1 || ct_op_input(t->op)) && t->home);
		if ((t->op == CT_OP_ACCEPT || t->op == CT_OP_ACCEPT4) && ct_fd_listening(t->fd))
			ct_listeners_add(&ls, t->fd);
	}
	for (size_t i = 0; i < n; i++) {
		struct ct_thread_snap *t = &v[i];
		if (!t->waiting)
			continue;
		if (!t->idle && (ct_client_wait(t, &ls) || ct_parent_pipe(t, &pp)))
			t->idle = 1;
		/* Those idle already count too: a worker new to a pool parks
		 * where the others usually wait, for the first time. */
		else if (w && ct_op_idle_kind(t->op) == 1 && (t->obj || t->fd >= 0))
			w[k++] = t;
	}
	if (w) {
		ct_idle_groups(w, k, false);
		size_t m = 0;
		for (size_t i = 0; i < k; i++)
			if (ct_lock_kind_of_op(w[i]->op) == CT_LK_COND && w[i]->aux)
				w[m++] = w[i];
		ct_idle_groups(w, m, true);
	}
	free(w);
	for (size_t i = 0; i < n; i++)
		v[i].stuck = v[i].waiting && !v[i].idle && v[i].wait_ns >= stuck_ns;
}

int
ct_threads_snapshot(struct ct_snapshot *snap, int64_t stuck_ns, pid_t parent)
{
	int n = __atomic_load_n(&ct_slots_used, __ATOMIC_RELAXED);
	snap->stuck_ns = stuck_ns;
	snap->nthreads = 0;
	snap->threads = NULL;
	snap->threads_untracked = ct_threads_untracked();
	if (!ct_slots || n == 0)
		return 0;
	ct_threads_self(); /* the dumping thread shows too */
	n = __atomic_load_n(&ct_slots_used, __ATOMIC_RELAXED);
	struct ct_thread_snap *v = calloc((size_t)n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	int64_t now = ct_now_ns();
	size_t k = 0;
	for (int i = 0; i < n; i++) {
		int st = ct_threads_state(&ct_slots[i]);
		if (st != CT_THREAD_FREE)
			ct_threads_fill(&v[k++], &ct_slots[i], st, now, stuck_ns);
	}
	ct_threads_classify(v, k, stuck_ns, parent);
	snap->threads = v;
	snap->nthreads = k;
	snap->threads_untracked = ct_threads_untracked();
	snap->task_denied = ct_task_denied();
	return 0;
}

/* snprintf of integers and strings into a stack buffer does not allocate
 * in glibc; one write per line. */
static void __attribute__((format(printf, 2, 3)))
ct_raw_line(int fd, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	if (n > 0 && ct_sys_write_quiet(fd, buf, (size_t)n) < 0)
		return;
}

void
ct_threads_write_raw(int fd, int sig)
{
	int n = __atomic_load_n(&ct_slots_used, __ATOMIC_RELAXED);
	int64_t now = ct_now_ns();
	ct_raw_line(fd, "libcontend crash dump: pid %d, signal %d (%s) in thread %d; "
		    "addresses only, mappings in maps.txt\n\n", (int)getpid(), sig,
		    sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", ct_tid());
	for (int i = 0; ct_slots && i < n; i++) {
		const struct ct_thread_slot *s = &ct_slots[i];
		int st = ct_threads_state(s);
		struct ct_wait_view w;
		if (st == CT_THREAD_FREE)
			continue;
		if (st == CT_THREAD_EXITED)
			ct_raw_line(fd, "thread %d [exited, not joined]:\n", s->tid);
		else if (ct_wait_read(s, &w))
			ct_raw_line(fd, "thread %d [%s %p, %lldms]:\n%#lx\n", s->tid, ct_op_name(w.op),
				    w.obj, (long long)((now - w.since) / 1000000),
				    (unsigned long)w.caller);
		else if (s->tid == __atomic_load_n(&ct_crash.tid, __ATOMIC_ACQUIRE)) {
			ct_raw_line(fd, "thread %d [crashed here]:\n", s->tid);
			for (int k = 0; k < ct_crash.depth; k++)
				ct_raw_line(fd, "%#lx\n", (unsigned long)ct_crash.pc[k]);
		} else
			ct_raw_line(fd, "thread %d [%s]:\n", s->tid,
				    s->tid == ct_tid() ? "crashed here" : "running");
		if (s->create_depth) {
			ct_raw_line(fd, "created by thread %d at\n", s->creator_tid);
			for (int k = 0; k < s->create_depth; k++)
				ct_raw_line(fd, "%#lx\n", (unsigned long)s->create_pc[k]);
		}
		ct_raw_line(fd, "\n");
	}
}


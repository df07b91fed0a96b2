/* The thread registry; see threads.h. Claims slots with a compare-and-swap
 * on the state word; never allocates after init. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "clock.h"
#include "sys.h"
#include "thread.h"
#include "snapshot.h"
#include "stack.h"
#include "threads.h"

static struct ct_thread_slot *ct_slots;
static int ct_slots_used; /* high-water mark: slots beyond it were never used */
static uint64_t ct_untracked;
static pthread_key_t ct_exit_key;
static bool ct_have_key;

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
 * may still wait in our wrappers). */
static void
ct_threads_exit_cb(void *p)
{
	struct ct_thread_slot *s = p;
	__atomic_store_n(&s->wop, 0, __ATOMIC_RELAXED);
	ct_self.slot = NULL;
	ct_self.no_slot = 1;
	int old = ct_slot_load(s);
	/* The name is for dumps of exited threads not yet joined: a detached
	 * thread's slot is freed below, so it is never read (one system call
	 * less per exit of a detached thread). A detach racing with this
	 * load only makes the call useless. */
	if (!(old & CT_SLOT_DETACHED) || (old & CT_SLOT_BASE) == CT_SLOT_CLAIMING)
		prctl(PR_GET_NAME, s->name, 0, 0, 0);
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
		if (!ct_slot_cas(s, &old, new))
			continue;
		if (new == CT_SLOT_CLAIMING)
			ct_slot_free(s);
		return;
	}
}

int
ct_threads_init(void)
{
	if (ct_slots)
		return 0;
	void *p = mmap(NULL, CT_THREADS_MAX * sizeof(struct ct_thread_slot), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	ct_slots = p;
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

/* A FREE slot, now CLAIMING and reset, or NULL (registry full: counted). */
static struct ct_thread_slot *
ct_threads_claim(void)
{
	if (!ct_slots)
		return NULL;
	for (int i = 0; i < CT_THREADS_MAX; i++) {
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
		s->wlastop = 0;
		s->wunwoken = 0;
		s->wrearms = 0;
		s->detached = 0;
		s->start_routine = 0;
		s->create_depth = 0;
		s->creator_tid = 0;
		s->created_ns = -1;
		s->name[0] = 0;
		return s;
	}
	__atomic_fetch_add(&ct_untracked, 1, __ATOMIC_RELAXED);
	return NULL;
}

/* The calling thread takes s as its own: exit callback, tid, handle. */
static void
ct_threads_own(struct ct_thread_slot *s)
{
	s->tid = ct_tid();
	__atomic_store_n(&s->handle, (uint64_t)pthread_self(), __ATOMIC_RELAXED);
	ct_self.slot = s;
	if (ct_have_key)
		pthread_setspecific(ct_exit_key, s);
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
	ct_threads_own(s);
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
		if (!ct_slot_cas(s, &old, new))
			continue;
		if (new == CT_SLOT_CLAIMING)
			ct_slot_free(s);
		return;
	}
}

void
ct_threads_adopt(struct ct_thread_slot *s)
{
	ct_threads_own(s);
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
		if (!ct_slot_cas(s, &old, new))
			continue;
		if (new == CT_SLOT_CLAIMING)
			ct_slot_free(s);
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
	int64_t ended = s->wunwoken;
	if (!ended || s->wlastop != op + 1 || s->wobj != obj || s->wfd != fd || s->wcaller != caller)
		return false;
	int64_t gap = since - ended, len = ended - s->wstart;
	return gap <= (len > CT_REARM_GAP_NS ? len : CT_REARM_GAP_NS);
}

void
ct_wait_enter(unsigned op, const void *obj, int fd, int64_t since, uintptr_t caller)
{
	struct ct_thread_slot *s = ct_threads_self();
	if (!s)
		return;
	bool again = ct_wait_rearmed(s, op, obj, fd, since, caller);
	s->wunwoken = 0;
	s->wlastop = op + 1;
	s->wstart = since;
	uint32_t seq = s->wseq;
	__atomic_store_n(&s->wseq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	s->wobj = obj;
	s->wfd = fd;
	if (!again)
		s->wsince = since;
	s->wrearms = again ? s->wrearms + 1 : 0;
	s->wcaller = caller;
	s->wop = op + 1;
	__atomic_store_n(&s->wseq, seq + 2, __ATOMIC_RELEASE);
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
	if (!s || s->wlastop != op + 1 || !ct_wait_result_unwoken(op, ret, err))
		return;
	s->wunwoken = ct_now_ns();
	if (s->wunwoken == 0)
		s->wunwoken = 1;
	errno = err;
}

void
ct_wait_leave(void)
{
	struct ct_thread_slot *s = ct_self.slot;
	if (!s)
		return;
	__atomic_store_n(&s->wop, 0, __ATOMIC_RELEASE);
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
	if (mine) {
		mine->tid = ct_tid();
		mine->wop = 0;
		mine->wunwoken = 0;
	}
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
	struct iovec local = {buf, len}, remote = {(void *)addr, len};
	return addr && process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len;
}

/* The holder of the lock a thread waits on, from glibc's public layouts:
 * a mutex's __owner, a write-locked rwlock's __cur_writer. */
static int
ct_threads_owner(unsigned op, uintptr_t obj)
{
	pthread_mutex_t m;
	pthread_rwlock_t l;
	switch (op) {
	case CT_OP_MUTEX_LOCK:
	case CT_OP_MUTEX_TIMEDLOCK:
	case CT_OP_MUTEX_CLOCKLOCK:
		return ct_safe_read(obj, &m, sizeof(m)) ? m.__data.__owner : 0;
	case CT_OP_RWLOCK_RDLOCK:
	case CT_OP_RWLOCK_WRLOCK:
	case CT_OP_RWLOCK_TIMEDRDLOCK:
	case CT_OP_RWLOCK_TIMEDWRLOCK:
	case CT_OP_RWLOCK_CLOCKRDLOCK:
	case CT_OP_RWLOCK_CLOCKWRLOCK:
		return ct_safe_read(obj, &l, sizeof(l)) ? l.__data.__cur_writer : 0;
	default:
		return 0;
	}
}

static unsigned ct_task_denied_bits;

unsigned
ct_task_denied(void)
{
	return __atomic_load_n(&ct_task_denied_bits, __ATOMIC_RELAXED);
}

ssize_t
ct_task_read(int tid, const char *file, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", tid, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES || errno == EPERM)
			__atomic_fetch_or(&ct_task_denied_bits, strcmp(file, "comm") ? 1u : 2u,
					  __ATOMIC_RELAXED);
		return -1;
	}
	ssize_t n = ct_sys_read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
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
	if (!ct_wait_read(s, &w))
		return;
	t->waiting = 1;
	t->op = w.op;
	t->obj = (uintptr_t)w.obj;
	t->fd = w.fd;
	/* A wait that began after `now` was read is just starting. */
	t->wait_ns = now > w.since ? now - w.since : 0;
	t->rearms = w.rearms;
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
	if (n > 0 && pcs[0] == w.caller) {
		memcpy(t->pc, pcs, (size_t)n * sizeof(pcs[0]));
		t->depth = n;
	}
}

/* How a wait in op may be idle: 2 = it waits for outside work by nature
 * (a listener, an event loop, a signal thread), 1 = when several threads
 * wait at the same site on the same object (a pool parked on its
 * condvar, semaphore or message queue), 0 = never (locks, whose holder
 * may be stuck; joins, barriers, sleeps; reads and writes, which wait for
 * a peer that may be stuck; futexes: a futex word may be a lock). */
static int
ct_op_idle_kind(unsigned op)
{
	switch (op) {
	case CT_OP_ACCEPT:
	case CT_OP_ACCEPT4:
	case CT_OP_EPOLL_WAIT:
	case CT_OP_EPOLL_PWAIT:
	case CT_OP_EPOLL_PWAIT2:
	case CT_OP_SIGWAIT:
	case CT_OP_SIGWAITINFO:
	case CT_OP_SIGTIMEDWAIT:
	case CT_OP_SIGSUSPEND:
	case CT_OP_PAUSE:
		return 2;
	case CT_OP_COND_WAIT:
	case CT_OP_COND_TIMEDWAIT:
	case CT_OP_COND_CLOCKWAIT:
	case CT_OP_SEM_WAIT:
	case CT_OP_SEM_TIMEDWAIT:
	case CT_OP_SEM_CLOCKWAIT:
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

/* Order of waits by (op, site, object, fd): equal keys are one group. */
static int
ct_cmp_wait_site(const void *a, const void *b)
{
	const struct ct_thread_snap *x = *(const struct ct_thread_snap *const *)a;
	const struct ct_thread_snap *y = *(const struct ct_thread_snap *const *)b;
	if (x->op != y->op)
		return x->op < y->op ? -1 : 1;
	if (x->pc[0] != y->pc[0])
		return x->pc[0] < y->pc[0] ? -1 : 1;
	if (x->obj != y->obj)
		return x->obj < y->obj ? -1 : 1;
	return x->fd < y->fd ? -1 : x->fd > y->fd;
}

/* Marks idle waits (see ct_op_idle_kind) and gives the stuck verdict to
 * the others that waited stuck_ns. A poll or select of several fds names
 * no object, so nothing says its threads wait for the same thing: never
 * a group. Without memory for the sort, only the kind-2 waits are idle
 * (the dump then errs towards "stuck"). */
static void
ct_threads_classify(struct ct_thread_snap *v, size_t n, int64_t stuck_ns)
{
	struct ct_thread_snap **w = calloc(n ? n : 1, sizeof(*w));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		v[i].idle = v[i].waiting && ct_op_idle_kind(v[i].op) == 2;
		if (w && v[i].waiting && ct_op_idle_kind(v[i].op) == 1 && (v[i].obj || v[i].fd >= 0))
			w[k++] = &v[i];
	}
	if (w)
		qsort(w, k, sizeof(*w), ct_cmp_wait_site);
	for (size_t i = 0; i < k;) {
		size_t j = i + 1;
		while (j < k && ct_cmp_wait_site(&w[i], &w[j]) == 0)
			j++;
		for (size_t g = i; j - i > 1 && g < j; g++)
			w[g]->idle = 1;
		i = j;
	}
	free(w);
	for (size_t i = 0; i < n; i++)
		v[i].stuck = v[i].waiting && !v[i].idle && v[i].wait_ns >= stuck_ns;
}

int
ct_threads_snapshot(struct ct_snapshot *snap, int64_t stuck_ns)
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
	ct_threads_classify(v, k, stuck_ns);
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
	if (n > 0 && ct_sys_write(fd, buf, (size_t)n) < 0)
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
		else
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


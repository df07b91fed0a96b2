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
#include "thread.h"
#include "snapshot.h"
#include "stack.h"
#include "threads.h"

static struct ct_thread_slot *ct_slots;
static int ct_slots_used; /* high-water mark: slots beyond it were never used */
static pthread_key_t ct_exit_key;
static bool ct_have_key;

/* Thread exit (return, pthread_exit, cancellation): a detached thread's
 * slot is free again; a joinable one stays as a leak until joined. */
static void
ct_threads_exit_cb(void *p)
{
	struct ct_thread_slot *s = p;
	__atomic_store_n(&s->wop, 0, __ATOMIC_RELAXED);
	prctl(PR_GET_NAME, s->name, 0, 0, 0);
	__atomic_store_n(&s->state, s->detached ? CT_THREAD_FREE : CT_THREAD_EXITED,
			 __ATOMIC_RELEASE);
	ct_self.slot = NULL;
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

static struct ct_thread_slot *
ct_threads_claim(void)
{
	if (!ct_slots)
		return NULL;
	for (int i = 0; i < CT_THREADS_MAX; i++) {
		int expect = CT_THREAD_FREE;
		if (__atomic_load_n(&ct_slots[i].state, __ATOMIC_RELAXED) == CT_THREAD_FREE &&
		    __atomic_compare_exchange_n(&ct_slots[i].state, &expect, CT_THREAD_RUNNING,
						false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			struct ct_thread_slot *s = &ct_slots[i];
			int hw = __atomic_load_n(&ct_slots_used, __ATOMIC_RELAXED);
			while (hw < i + 1 && !__atomic_compare_exchange_n(&ct_slots_used, &hw, i + 1,
									  true, __ATOMIC_RELAXED,
									  __ATOMIC_RELAXED))
				;
			s->tid = ct_tid();
			s->wfd = -1;
			s->wop = 0;
			s->detached = 0;
			s->start_routine = 0;
			s->create_depth = 0;
			s->creator_tid = 0;
			s->created_ns = -1;
			s->handle = (uint64_t)pthread_self();
			if (ct_have_key)
				pthread_setspecific(ct_exit_key, s);
			return s;
		}
	}
	return NULL;
}

struct ct_thread_slot *
ct_threads_self(void)
{
	if (CT_UNLIKELY(!ct_self.slot))
		ct_self.slot = ct_threads_claim();
	return ct_self.slot;
}

void
ct_wait_enter(unsigned op, const void *obj, int fd, int64_t since, uintptr_t caller)
{
	struct ct_thread_slot *s = ct_threads_self();
	if (!s)
		return;
	uint32_t seq = s->wseq;
	__atomic_store_n(&s->wseq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	s->wobj = obj;
	s->wfd = fd;
	s->wsince = since;
	s->wcaller = caller;
	s->wop = op + 1;
	__atomic_store_n(&s->wseq, seq + 2, __ATOMIC_RELEASE);
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
	for (int i = 0; i < CT_THREADS_MAX; i++)
		if (&ct_slots[i] != mine)
			__atomic_store_n(&ct_slots[i].state, CT_THREAD_FREE, __ATOMIC_RELAXED);
	if (mine) {
		mine->tid = ct_tid();
		mine->wop = 0;
	}
}

void
ct_threads_started(uintptr_t start_routine, int creator_tid, int64_t created_ns,
		   const uintptr_t *pcs, int depth, bool detached)
{
	struct ct_thread_slot *s = ct_threads_self();
	if (!s)
		return;
	s->start_routine = start_routine;
	s->creator_tid = creator_tid;
	s->created_ns = created_ns;
	s->detached = detached;
	if (depth > CT_CREATE_DEPTH)
		depth = CT_CREATE_DEPTH;
	memcpy(s->create_pc, pcs, (size_t)depth * sizeof(pcs[0]));
	s->create_depth = depth;
}

static struct ct_thread_slot *
ct_threads_find(uint64_t handle)
{
	int n = __atomic_load_n(&ct_slots_used, __ATOMIC_RELAXED);
	for (int i = 0; ct_slots && i < n; i++)
		if (__atomic_load_n(&ct_slots[i].state, __ATOMIC_ACQUIRE) != CT_THREAD_FREE &&
		    ct_slots[i].handle == handle)
			return &ct_slots[i];
	return NULL;
}

void
ct_threads_joined(uint64_t handle)
{
	struct ct_thread_slot *s = ct_threads_find(handle);
	if (s && __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == CT_THREAD_EXITED)
		__atomic_store_n(&s->state, CT_THREAD_FREE, __ATOMIC_RELEASE);
}

void
ct_threads_detached(uint64_t handle)
{
	struct ct_thread_slot *s = ct_threads_find(handle);
	if (!s)
		return;
	s->detached = 1;
	int expect = CT_THREAD_EXITED;
	__atomic_compare_exchange_n(&s->state, &expect, CT_THREAD_FREE, false, __ATOMIC_ACQ_REL,
				    __ATOMIC_RELAXED);
}

bool
ct_threads_worth_dumping(void)
{
	int n = __atomic_load_n(&ct_slots_used, __ATOMIC_RELAXED);
	struct ct_thread_slot *mine = ct_self.slot;
	for (int i = 0; ct_slots && i < n; i++) {
		int st = __atomic_load_n(&ct_slots[i].state, __ATOMIC_ACQUIRE);
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

ssize_t
ct_task_read(int tid, const char *file, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", tid, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
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
		if (__atomic_load_n(&ct_slots[i].state, __ATOMIC_ACQUIRE) == CT_THREAD_RUNNING)
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
	t->stuck = t->wait_ns >= stuck_ns;
	t->owner_tid = ct_threads_owner(w.op, t->obj);
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

int
ct_threads_snapshot(struct ct_snapshot *snap, int64_t stuck_ns)
{
	int n = __atomic_load_n(&ct_slots_used, __ATOMIC_RELAXED);
	snap->stuck_ns = stuck_ns;
	snap->nthreads = 0;
	snap->threads = NULL;
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
		int st = __atomic_load_n(&ct_slots[i].state, __ATOMIC_ACQUIRE);
		if (st != CT_THREAD_FREE)
			ct_threads_fill(&v[k++], &ct_slots[i], st, now, stuck_ns);
	}
	snap->threads = v;
	snap->nthreads = k;
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
	if (n > 0 && write(fd, buf, (size_t)n) < 0)
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
		int st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
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

/* Whether tid blocks sig, from the SigBlk line of its status. */
static bool
ct_thread_blocks(int tid, int sig)
{
	char buf[2048];
	if (ct_task_read(tid, "status", buf, sizeof(buf)) <= 0)
		return true;
	const char *p = strstr(buf, "SigBlk:");
	if (!p)
		return true;
	unsigned long long mask = strtoull(p + 7, NULL, 16);
	return (mask >> (sig - 1)) & 1;
}

int
ct_threads_pick_waiter(int sig)
{
	int n = __atomic_load_n(&ct_slots_used, __ATOMIC_RELAXED);
	int me = ct_tid();
	for (int i = 0; ct_slots && i < n; i++) {
		const struct ct_thread_slot *s = &ct_slots[i];
		struct ct_wait_view w;
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == CT_THREAD_RUNNING &&
		    s->tid != me && ct_wait_read(s, &w) && !ct_thread_blocks(s->tid, sig))
			return s->tid;
	}
	return 0;
}

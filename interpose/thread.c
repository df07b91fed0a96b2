/* Waits on other threads: barriers and joins. They block as a rule, so
 * they are always timed. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/dump.h"
#include "../core/dumper.h"
#include "../core/event.h"
#include "../core/ops.h"
#include "../core/stack.h"
#include "../core/threads.h"
#include "interpose.h"
#include "real.h"


/* glibc >= 2.23 keeps `in`, `current_round` and `count` as the first three
 * words of the barrier (nptl/pthreadP.h); the arrival that completes a
 * round (in + 1 reaches current_round + count) leaves without waiting. */
static inline bool
ct_barrier_may_wait(pthread_barrier_t *b)
{
	const unsigned *w = (const unsigned *)(void *)b;
	unsigned in = __atomic_load_n(&w[0], __ATOMIC_RELAXED);
	unsigned round = __atomic_load_n(&w[1], __ATOMIC_RELAXED);
	unsigned count = __atomic_load_n(&w[2], __ATOMIC_RELAXED);
	return count == 0 || in + 1 - round < count;
}

CT_EXPORT int
pthread_barrier_wait(pthread_barrier_t *b)
{
	CT_TIMED_WAIT(ct_barrier_may_wait(b), CT_OP_BARRIER_WAIT, b, real_pthread_barrier_wait(b));
}

/* Every join flavour and pthread_detach reap a thread: its registry slot
 * is held aside during the call (the handle may be recycled by a new
 * thread the moment the call returns) and freed or kept by the result. */
#define CT_REAPING(handle, detach, call)                                  \
	do {                                                              \
		struct ct_thread_slot *s_ = ct_threads_reap_begin(handle);\
		int r_ = call;                                            \
		ct_threads_reap_end(s_, r_ == 0, detach);                 \
		return r_;                                                \
	} while (0)

static inline int
ct_join(pthread_t t, void **ret)
{
	CT_REAPING((uint64_t)t, false, real_pthread_join(t, ret));
}

static inline int
ct_timedjoin(pthread_t t, void **ret, const struct timespec *a)
{
	CT_REAPING((uint64_t)t, false, real_pthread_timedjoin_np(t, ret, a));
}

static inline int
ct_clockjoin(pthread_t t, void **ret, clockid_t c, const struct timespec *a)
{
	CT_REAPING((uint64_t)t, false, real_pthread_clockjoin_np(t, ret, c, a));
}

CT_EXPORT int
pthread_join(pthread_t t, void **ret)
{
	CT_TIMED_WAIT(true, CT_OP_JOIN, (const void *)t, ct_join(t, ret));
}

CT_EXPORT int
pthread_timedjoin_np(pthread_t t, void **ret, const struct timespec *a)
{
	CT_TIMED_WAIT(true, CT_OP_TIMEDJOIN, (const void *)t, ct_timedjoin(t, ret, a));
}

CT_EXPORT int
pthread_clockjoin_np(pthread_t t, void **ret, clockid_t c, const struct timespec *a)
{
	CT_TIMED_WAIT(true, CT_OP_CLOCKJOIN, (const void *)t, ct_clockjoin(t, ret, c, a));
}

/* Never blocks: not a wait, but it reaps. */
CT_EXPORT int
pthread_tryjoin_np(pthread_t t, void **ret)
{
	CT_REAPING((uint64_t)t, false, real_pthread_tryjoin_np(t, ret));
}

/* The new thread's registry slot carries its start routine and argument:
 * no allocation (a free() in the new thread would give it a malloc arena
 * and tcache that a thread of the plain program may never have). The
 * thread's end, whichever way, goes through the cleanup handler:
 * pthread_exit and cancellation unwind to it (glibc's own cancellation
 * buffers, no -fexceptions needed), a return pops it. */
static void *
ct_thread_start(void *p)
{
	struct ct_thread_slot *s = p;
	void *(*fn)(void *) = (void *(*)(void *))s->start_routine;
	void *arg = s->start_arg;
	void *r;
	ct_dumper_thread_begins();
	ct_threads_adopt(s);
	pthread_cleanup_push(ct_threads_exit, s);
	r = fn(arg);
	pthread_cleanup_pop(1);
	return r;
}

/* Registry full: the thread runs unregistered, already counted, and must
 * not try to claim a slot later (it would be counted again). Rare, so a
 * small heap block carries its start routine. */
struct ct_unregistered {
	void *(*fn)(void *);
	void *arg;
};

static void *
ct_unregistered_start(void *p)
{
	struct ct_unregistered u = *(struct ct_unregistered *)p;
	ct_dumper_thread_begins();
	free(p);
	ct_self.no_slot = 1;
	return u.fn(u.arg);
}

static int
ct_create_unregistered(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
	ct_guard_enter();
	struct ct_unregistered *u = malloc(sizeof(*u));
	ct_guard_leave();
	if (!u)
		return real_pthread_create(t, a, fn, arg);
	u->fn = fn;
	u->arg = arg;
	ct_dumper_thread_coming();
	int r = real_pthread_create(t, a, ct_unregistered_start, u);
	if (r != 0) {
		ct_dumper_thread_failed();
		free(u);
	}
	return r;
}

CT_EXPORT int
pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
	if (ct_guard_held() || !ct_hot.ready)
		return real_pthread_create(t, a, fn, arg);
	/* Our own thread first, while the process is still as the program
	 * left it (the guard is not raised: the dumper raises its own). */
	ct_dumper_before_thread_create();
	ct_guard_enter();
	ct_stack_before_thread_create();
	int ds = PTHREAD_CREATE_JOINABLE;
	bool detached = a && pthread_attr_getdetachstate(a, &ds) == 0 &&
			ds == PTHREAD_CREATE_DETACHED;
	uintptr_t pcs[CT_CREATE_DEPTH];
	int depth = ct_stack_capture(pcs, CT_CREATE_DEPTH);
	struct ct_thread_slot *s = ct_threads_prepare((uintptr_t)fn, arg, pcs, depth, detached);
	ct_guard_leave();
	if (!s)
		return ct_create_unregistered(t, a, fn, arg);
	ct_dumper_thread_coming();
	int r = real_pthread_create(t, a, ct_thread_start, s);
	if (r != 0)
		ct_dumper_thread_failed();
	ct_threads_created(s, r == 0, r == 0 ? (uint64_t)*t : 0);
	return r;
}

CT_EXPORT int
pthread_detach(pthread_t t)
{
	CT_REAPING((uint64_t)t, true, real_pthread_detach(t));
}

/* Renames, so that a thread's name is known without asking the kernel
 * when it exits (core/threads.h ct_thread_slot.name_known). A rename the
 * shim does not see (a write to /proc/self/task/TID/comm) leaves the
 * name of an exited thread in dumps at the one it knew. prctl and
 * syscall(SYS_prctl) PR_SET_NAME: interpose/sandbox.c. */
CT_EXPORT int
pthread_setname_np(pthread_t t, const char *name)
{
	int r = real_pthread_setname_np(t, name);
	/* A vfork() child's own name is not its parent thread's. */
	if (r == 0 && !ct_dump_borrowed())
		ct_threads_renamed(pthread_equal(t, pthread_self()) ? 0 : (uint64_t)t, name);
	return r;
}

/* The thread registry; see threads.h. Claims slots with a compare-and-swap
 * on the state word; never allocates after init. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "clock.h"
#include "thread.h"
#include "threads.h"

static struct ct_thread_slot *ct_slots;

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
			s->tid = ct_tid();
			s->wfd = -1;
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

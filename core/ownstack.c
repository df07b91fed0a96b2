/* A stack of our own for the final dumps; see ownstack.h. Owns nothing
 * beyond one call: the mapping lives from the switch to the return. Must
 * never allocate or lock: it runs in signal handlers. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "ownstack.h"

/* The two contexts live at the top of the mapping, not on the caller's
 * stack (a small alternate stack, with a signal frame on it already). */
struct ct_ownstack_ctx {
	ucontext_t back, run;
	void (*fn)(void *);
	void *arg;
};

/* makecontext() passes int arguments: the pointer in two halves. */
static void
ct_ownstack_start(unsigned lo, unsigned hi)
{
	struct ct_ownstack_ctx *c =
		(struct ct_ownstack_ctx *)(uintptr_t)((uint64_t)hi << 32 | (uint64_t)lo);
	c->fn(c->arg);
	/* Returning resumes c->back (uc_link). */
}

void
ct_ownstack_run(void (*fn)(void *), void *arg)
{
	/* Not sysconf(): its frame is bigger, and what runs before the
	 * switch may have little stack left. */
	size_t page = (size_t)getpagesize();
	size_t len = CT_OWNSTACK_SIZE + page;
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (m == MAP_FAILED) {
		fn(arg);
		return;
	}
	int saved = errno;
	/* Guard page: an overflow faults instead of writing below. */
	mprotect(m, page, PROT_NONE);
	uintptr_t top = ((uintptr_t)(m + len) - sizeof(struct ct_ownstack_ctx)) & ~(uintptr_t)63;
	struct ct_ownstack_ctx *c = (struct ct_ownstack_ctx *)top;
	c->fn = fn;
	c->arg = arg;
	if (getcontext(&c->run) != 0) {
		munmap(m, len);
		errno = saved;
		fn(arg);
		return;
	}
	c->run.uc_stack.ss_sp = m + page;
	c->run.uc_stack.ss_size = (size_t)(top - (uintptr_t)(m + page));
	c->run.uc_stack.ss_flags = 0;
	c->run.uc_link = &c->back;
	uint64_t p = (uint64_t)(uintptr_t)c;
	makecontext(&c->run, (void (*)(void))ct_ownstack_start, 2, (unsigned)p,
		    (unsigned)(p >> 32));
	errno = saved;
	if (swapcontext(&c->back, &c->run) != 0) {
		munmap(m, len);
		errno = saved;
		fn(arg);
		return;
	}
	saved = errno;
	munmap(m, len);
	errno = saved;
}

bool
ct_ownstack_on_altstack(void)
{
	stack_t ss;
	int saved = errno;
	bool on = sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK);
	errno = saved;
	return on;
}

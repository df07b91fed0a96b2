/* _Fork() (glibc >= 2.34): a fork that runs no atfork handler, so the
 * child part of the fork protocol (core/fork.h) is run here. fork() itself
 * is not wrapped: glibc runs the protocol through pthread_atfork, and its
 * internal call of _Fork does not come through this wrapper. vfork() and
 * posix_spawn() are not wrapped either: their child shares the parent's
 * memory until it execs or exits, so nothing of ours may be reset there. */
#include <unistd.h>

#include "../core/compiler.h"
#include "../core/fork.h"
#include "real.h"

/* Async-signal-safe, as _Fork is: the child part is system calls and
 * stores; errno is the real call's. */
CT_EXPORT pid_t
_Fork(void)
{
	pid_t p = real__Fork();
	if (p == 0)
		ct_fork_child();
	return p;
}

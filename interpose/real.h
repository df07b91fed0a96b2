/* Pointers to the real libc functions behind the wrappers.
 *
 * Each real_<name> starts out pointing at a bootstrap stub that resolves
 * every pointer (dlsym(RTLD_NEXT), condvars by version: BZ 14932) and then
 * forwards, so wrappers never test for NULL on the fast path and a lock
 * taken by another library's constructor before ours still works. If the
 * resolution re-enters itself on the same thread (dlsym -> malloc ->
 * pthread_mutex_lock with an interposed allocator), the stubs of the lock
 * functions fall back to glibc's own __pthread_* aliases. A function libc
 * lacks answers ENOSYS. Only interpose/ sees these. */
#ifndef CT_INTERPOSE_REAL_H
#define CT_INTERPOSE_REAL_H

#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/compiler.h"
#include "wrapped.def"

/* Hidden: the shim defines them, so a wrapper jumps through the pointer
 * itself (one instruction) rather than first loading its address from the
 * GOT (the linker relaxes that load to a lea, still one more instruction
 * on every forwarded call). */
#define CT_REAL_DECL(ret, name, params, args, versioned)                   \
	extern CT_HIDDEN ret(*real_##name) params;
CT_REAL_FUNCS(CT_REAL_DECL)
#undef CT_REAL_DECL

/* Resolves every real_* pointer once; idempotent and thread-safe. */
void ct_real_resolve(void);

/* The shim's lazy, idempotent initialisation (constructor or first slow
 * path before it). Defined in init.c. */
void ct_init_once(void);

/* Fork child (core/fork.h, CT_LOCK_REAL_RESOLVE): a resolution under way
 * on another thread becomes "unresolved". Async-signal-safe. */
void ct_real_fork_child(void);
#ifdef CT_TEST_SEAMS
void ct_real_test_hold(long hold_us);
#endif

#endif

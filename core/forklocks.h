/* Whether a thread that a signal interrupted may hold a lock that glibc's
 * fork() takes and that only this thread can release: a malloc arena's
 * (inside malloc, free, realloc ...) or fork()'s own (inside fork(),
 * its atfork handlers included). A fork from the handler would then wait
 * for its own thread for good (core/dump_fatal.c): the final dump of a
 * SIGTERM that came inside malloc waited out its 2 s watchdog and wrote
 * nothing, 7 times in 10 for a thread that allocates all the time.
 *
 * The code that takes those locks is known by its entry points (the
 * functions the program calls): a thread holds one of the locks only
 * while one of them is on its stack. The frames of the interrupted code
 * are walked (core/unwind.h); where one is an entry point's, the return
 * address of the outermost such frame is replaced by a trampoline of
 * ours, which, once the entry point has returned (its locks released),
 * puts the address back and sends the signal to the thread again.
 * x86-64 only; elsewhere nothing is ever found held. */
#ifndef CT_FORKLOCKS_H
#define CT_FORKLOCKS_H

#include <stdbool.h>
#include <stdint.h>

#define CT_FORKLOCKS_ENTRIES 20

/* At init, before any handler runs (no allocation, no lookup: the
 * addresses are only kept): the entry points of the allocator the program
 * calls and of the C library's fork(). Beyond CT_FORKLOCKS_ENTRIES are
 * dropped. */
void ct_forklocks_set_entries(const uintptr_t *fns, int n);

enum ct_forklocks {
	/* Not inside an entry point. */
	CT_FORKLOCKS_FREE,
	/* Inside one (waiting there for a lock another thread holds
	 * included: it may hold another). Given a sig, it comes again to
	 * this thread as the outermost returns, whose return address is now
	 * the trampoline's (also when one was armed before and not reached
	 * yet). */
	CT_FORKLOCKS_HELD,
	/* The frames could not be walked, and a return address into an
	 * entry point lies in the 4 KiB above the stack pointer (it may be a
	 * stale one). */
	CT_FORKLOCKS_MAYBE,
};

/* uc: the ucontext_t the kernel gave the handler of sig, which must
 * return to that context for the way out to be taken (a handler that
 * does not return leaves the trampoline armed, harmlessly); sig 0 only
 * asks. Entry points' extents come from their FDEs, found lock-free
 * (_dl_find_object); memory is read with process_vm_readv, so a short
 * stack is no fault. Async-signal-safe; no allocation, no lock; keeps
 * errno. */
enum ct_forklocks ct_forklocks_check(const void *uc, int sig);

#endif

/* Running the writing of profiles on a stack of our own.
 *
 * Writing the profiles (symbolization with libdw, unwinding, compression)
 * needs 128-256 KiB of stack, measured with libc6-dbg installed. The
 * final dumps of signals run where the signal's handler runs: on the
 * program's alternate signal stack when it set one (our action has
 * SA_ONSTACK), which is small: Python's faulthandler maps 2 x SIGSTKSZ,
 * Go's runtime 32 KiB per thread, Rust's std one SIGSTKSZ. A forked copy
 * writing there ran off its end into whatever lay below (heap memory
 * under Python's faulthandler: "malloc assertion failure in _int_malloc"
 * on the program's stderr; Go: a copy killed by SIGSEGV half-way, files
 * missing), and exit() called from such a handler would do the same in
 * the process itself.
 *
 * Thread-safe, async-signal-safe (mmap, munmap, and glibc's ucontext
 * calls, which take no lock and do not allocate), no malloc. */
#ifndef CT_OWNSTACK_H
#define CT_OWNSTACK_H

#include <stdbool.h>

/* Calls fn(arg) on a freshly mapped stack of CT_OWNSTACK_SIZE bytes
 * (reserved, not committed: only the pages used cost anything; a guard
 * page below it) and returns once fn has returned, on the caller's stack
 * again, with the stack unmapped. If fn never returns (a fork child that
 * calls _exit), the child's copy of the stack is its own. If no stack can
 * be mapped (an address-space limit), calls fn on the current stack. The
 * signal mask is the caller's, in fn and after. errno is fn's. */
void ct_ownstack_run(void (*fn)(void *), void *arg);

/* Whether this thread runs on its alternate signal stack now (a handler
 * installed with SA_ONSTACK, or code it called). One system call. */
bool ct_ownstack_on_altstack(void);

#define CT_OWNSTACK_SIZE (8u << 20)

#endif

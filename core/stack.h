/* Stack capture for sampled events (core/unwind.h's caching unwinder,
 * else glibc's backtrace(), libgcc's unwinder; see stack.c).
 *
 * Thread-safe. Once the unwinder is loaded, a capture allocates nothing,
 * makes no system call, takes no lock (glibc >= 2.35) and keeps no state
 * per thread. Not async-signal-safe. The caller must hold the shim's
 * guard (ct_guard_enter, core/thread.h), because libgcc may take a
 * pthread lock (for frames registered at run time, JIT code) through weak
 * references that land in our own wrappers. */
#ifndef CT_STACK_H
#define CT_STACK_H

#include <stdbool.h>
#include <stdint.h>

/* Frames whose pc lies in [lo, hi) belong to the shim and are dropped, so
 * the first kept frame is the caller of the wrapped libc function. */
void ct_stack_set_self_range(uintptr_t lo, uintptr_t hi);

/* Fills pcs with up to max return addresses, innermost first, without the
 * shim's frames. Returns the number stored. */
typedef int (*ct_stack_capture_fn)(uintptr_t *pcs, int max);

/* The capture function in use: a test seam (tests install a deterministic
 * one); the shim never changes it. */
extern ct_stack_capture_fn ct_stack_capture;

int ct_stack_capture_unwind(uintptr_t *pcs, int max);

/* Loads the unwinder (libgcc_s) once. Takes the loader's lock and
 * allocates: call it only where no other thread can wait on us while
 * holding that lock (the first pthread_create, a dump). Thread-safe; later
 * calls are a load. Returns whether the unwinder is available. */
bool ct_stack_load_unwinder(void);

/* Whether the unwinder is loaded, loading it first where that is safe
 * without knowing more: in a process that created no thread (nobody can
 * hold the loader's lock while waiting for us: a select() loop, a fork
 * child) and whose heap is consistent. Thread-safe. */
bool ct_stack_unwinder_alone(void);
bool ct_stack_unwinder_loaded(void);

/* The stack of another thread of this process that is blocked in a system
 * call inside one of our wrappers: the frames beyond the wrapper (pcs[0]
 * is the return address into the program). Reads the kernel's view of the
 * blocked thread; never signals or stops it. 0 when it cannot tell (not
 * in a system call, unwinder missing). Dump time only: allocates,
 * dlopen()s. */
int ct_stack_of_blocked_thread(int tid, uintptr_t self_lo, uintptr_t self_hi, uintptr_t *pcs,
			       int max);

/* The same stack, found without the kernel's view (closed to a process
 * that changed its credentials): the wrapper's return address `caller`
 * is looked for in the thread's stack from `below` (an address under the
 * wrapper's frame, recorded when the wait began) up to 16 KiB higher,
 * and the program's frames unwound from there: through the wrapper's own
 * frame when its call into libc is found just below (so the registers it
 * saved, a frame pointer among them, are restored), else from caller
 * with only the stack pointer known. pcs[0] is caller. 0 when not
 * found. Memory is read with process_vm_readv, so a stack that
 * changes meanwhile gives a short stack, never a fault. Dump time only. */
int ct_stack_above(uintptr_t caller, uintptr_t below, uintptr_t *pcs, int max);

/* The shim's own code range, as set by ct_stack_set_self_range. */
void ct_stack_self_range(uintptr_t *lo, uintptr_t *hi);

/* Called by the pthread_create wrapper before the real call: the last
 * moment the process is known to be single-threaded, so the unwinder is
 * loaded here. */
void ct_stack_before_thread_create(void);

/* On x86-64, true when no frame of the calling thread's stack returns to
 * glibc's signal trampoline, so no handler runs on it, not even one
 * installed behind interpose/signal.c's back; false when it cannot tell
 * (no unwinder, and none may be loaded here (ct_stack_unwinder_alone); a
 * stack too deep). Elsewhere always true: callers
 * also check ct_self.sig_depth. Unwinds: slow paths only; guard not
 * held. */
bool ct_stack_outside_signal_handler(void);

/* Fork child (core/fork.h): the child, single-threaded, may load the
 * unwinder at a capture again. Async-signal-safe. */
void ct_stack_fork_child(void);

#endif

/* Stack capture for sampled events (libunwind's local fast path).
 *
 * Thread-safe. Does not allocate (libunwind keeps its caches in its own
 * mmap'd pools). Not async-signal-safe. The caller must hold the per-thread
 * guard (ct_self.busy), because libunwind may take pthread locks through
 * weak references that land in our own wrappers. */
#ifndef CT_STACK_H
#define CT_STACK_H

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

#endif

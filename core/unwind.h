/* A caching unwinder for the stacks the shim records, on x86-64 (glibc >=
 * 2.35); elsewhere it always declines.
 *
 * backtrace() (libgcc's _Unwind_Backtrace) looks up and interprets every
 * frame's call frame information afresh at each capture: 2,500-3,000
 * instructions a frame (callgrind), so that the creation stack of each
 * pthread_create cost some 15,000 instructions and a sampled wait's stack
 * as much. The rule that recovers a caller's frame depends only on the
 * return address, so this unwinder finds it once (the object's
 * .eh_frame_hdr and .eh_frame, through _dl_find_object), keeps it in a
 * table by return address, and then steps a frame in a few dozen
 * instructions.
 *
 * Exactness: it returns the frames backtrace() returns from the same place,
 * or declines (-1) and the caller calls backtrace(). It declines a stack
 * with any frame it does not model exactly: a CFA computed from a register
 * other than rsp or rbp or by an expression (stack realignment), rbp,
 * rsp or the return address saved other than at an offset from the CFA,
 * signal frames, code outside the objects the dynamic loader knows (JIT
 * code: libgcc also consults frames registered at run time), a pointer
 * encoding or CFI operation it does not know, a frame that does not move
 * up the stack.
 *
 * Thread-safe, no allocation, no lock, no system call. Not
 * async-signal-safe (it reads stack memory where the rules point, as
 * libgcc does). */
#ifndef CT_UNWIND_H
#define CT_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fills buf with up to max return addresses, innermost first, starting
 * with the one into the caller of this function: what backtrace(buf, max)
 * called at the same place stores. Returns the number stored, or -1 when
 * this stack must be left to backtrace(). */
int ct_unwind_backtrace(void **buf, int max);

/* Finds and caches the rule for the return address ret, as a walk that
 * reached it would: for a fork-per-connection server, whose children
 * inherit the table, before the fork (core/dump.c: the return addresses
 * earlier children had to look up themselves). Thread-safe, no
 * allocation, no lock, no system call. */
void ct_unwind_warm(uintptr_t ret);

/* How many rules were looked up so far (a counter), and the return
 * addresses of those looked up since the count was `since` (at most the
 * last 64, at most max into out; returns how many). Thread-safe, no
 * allocation. */
unsigned ct_unwind_misses(void);
size_t ct_unwind_missed(unsigned since, uintptr_t *out, size_t max);

/* For signal handlers (async-signal-safe: no lock, no allocation; the
 * cache is not used). The code range [*lo, *hi) of the function holding
 * pc, as its FDE gives it; false where unknown. */
bool ct_unwind_fn_range(uintptr_t pc, uintptr_t *lo, uintptr_t *hi);

/* The frames of the code a signal interrupted, from the registers the
 * kernel saved (pc, sp, rbp): innermost first, each with the stack slot
 * that holds its return address, up to max. Stops, short, at the first
 * frame it does not model (see above); memory is read with
 * process_vm_readv, so a wrong rule gives a short walk, never a fault.
 * Returns how many frames it filled. */
struct ct_unwind_frame {
	uintptr_t pc, ra_slot;
};
int ct_unwind_interrupted(uintptr_t pc, uintptr_t sp, uintptr_t bp, struct ct_unwind_frame *f,
			  int max);

/* The stack of the code a signal interrupted, as return addresses from
 * the context the kernel gave the handler (ucontext_t *): pcs[0] is one
 * past the interrupted instruction (so that, like the others, the
 * instruction is the one before it), then the callers, as far as they
 * can be walked (at most CT_UNWIND_SIGNAL_MAX). A call to an address
 * where no code is (a null function pointer) shows the caller. Returns
 * how many it stored. Async-signal-safe, as above. */
#define CT_UNWIND_SIGNAL_MAX 64
int ct_unwind_signal_stack(const void *uc, uintptr_t *pcs, int max);

/* Drops every cached rule: called after each dlclose (an object loaded
 * later at the same address has other rules). Objects glibc unloads by
 * itself, without dlclose (iconv modules unused for a while), are not
 * seen: a rule of theirs could only be used wrongly if another object
 * were later mapped at their very addresses and a recorded stack ran
 * through it there. Thread-safe. */
void ct_unwind_invalidate(void);

#endif

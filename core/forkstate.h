/* What the fork protocol (core/fork.c) leaves for the modules it calls
 * to read: whether this process's heap can be trusted after the fork
 * that made it, and, in test builds, the sleep of the modules' lock-hold
 * seams. A leaf module, so that those modules need not include fork.h
 * (which includes them all: the protocol calls each one's handler). */
#ifndef CT_FORKSTATE_H
#define CT_FORKSTATE_H

#include <stdbool.h>

/* True in a child made by _Fork (no prepare handlers ran) from a parent
 * where another thread was running (the dumper, or a thread of the program
 * the registry knew): the heap and the loader may be inconsistent there,
 * as POSIX warns, so the child records with leaf-only stacks, loads
 * nothing and writes no profile. Async-signal-safe. */
bool ct_forkstate_heap_unsafe(void);
/* From ct_fork_child only, when the above holds for the new child. */
void ct_forkstate_set_heap_unsafe(void);

#ifdef CT_TEST_SEAMS
/* For the modules' hold seams (ct_fork_test_hold): while the lock is
 * held, sets the flag ct_forkstate_test_held named, sleeps us
 * microseconds and clears it. */
void ct_forkstate_test_sleep_us(long us);
/* The flag the next holds set (NULL: none). */
void ct_forkstate_test_held(int *held);
#endif

#endif

/* A private test-and-test-and-set spinlock for core's short critical
 * sections. core must never call pthread_mutex_* for itself (it would
 * re-enter the wrappers), and these sections are a few dozen instructions.
 * Async-signal-safe only if the interrupted thread does not hold it. */
#ifndef CT_SPIN_H
#define CT_SPIN_H

#include <stdbool.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline void
ct_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

typedef struct {
	int v;
} ct_spin;

static inline bool
ct_spin_trylock(ct_spin *s)
{
	return __atomic_load_n(&s->v, __ATOMIC_RELAXED) == 0 &&
	       !__atomic_exchange_n(&s->v, 1, __ATOMIC_ACQUIRE);
}

static inline void
ct_spin_lock(ct_spin *s)
{
	while (!ct_spin_trylock(s))
		ct_cpu_relax();
}

/* Gives up after about max_tries attempts; for paths (dumps, fork
 * children) where the holder may never run again. */
static inline bool
ct_spin_lock_bounded(ct_spin *s, unsigned long max_tries)
{
	for (unsigned long i = 0; i < max_tries; i++) {
		if (ct_spin_trylock(s))
			return true;
		ct_cpu_relax();
	}
	return false;
}

/* For locks whose holder may be in a long system call (inside fork(),
 * say): spins briefly, then sleeps 20 us a try (a raw nanosleep: no
 * wrapper, no cancellation point), and gives up after max_tries tries
 * ((unsigned long)-1: never). Async-signal-safe. */
static inline bool
ct_spin_lock_sleepy(ct_spin *s, unsigned long max_tries)
{
	for (unsigned long i = 0; !ct_spin_trylock(s); i++) {
		if (i >= max_tries)
			return false;
		if (i < 100) {
			ct_cpu_relax();
		} else {
			struct timespec ts = {0, 20 * 1000};
			syscall(SYS_nanosleep, &ts, NULL);
		}
	}
	return true;
}

static inline void
ct_spin_unlock(ct_spin *s)
{
	__atomic_store_n(&s->v, 0, __ATOMIC_RELEASE);
}

#endif

/* Tick calibration; see ticks.h. */
#include "ticks.h"

#if defined(__x86_64__)
#include <sys/platform/x86.h>
#endif

/* The tick clock's state and its neighbours of hot.h: on one cache line,
 * which every timed call reads around its system call. */
struct ct_hot ct_hot CT_FORK_HOT;

int64_t
ct_ticks_clock_ns(void)
{
	return ct_clock_ns();
}

/* The library's own pairs: a few tries, any bracket under 2000 ticks
 * (about a microsecond) being close enough for calibration. */
enum { CT_PAIR_TRIES = 4, CT_PAIR_ENOUGH = 2000 };

void
ct_ticks_pair(uint64_t *t, int64_t *ns, int tries, uint64_t enough)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < tries; i++) {
		uint64_t a = ct_ticks();
		int64_t n = ct_clock_ns();
		uint64_t b = ct_ticks();
		if (b - a < best) {
			best = b - a;
			*t = a + (b - a) / 2;
			*ns = n;
		}
		if (best < enough)
			break;
	}
}

void
ct_ticks_init(void)
{
	bool tsc = false;
#if defined(__x86_64__)
	/* The invariant TSC bit (CPUID 0x80000007 EDX[8]) as glibc read it
	 * at start-up: a cpuid instruction of our own traps to the
	 * hypervisor in a VM, 15 us each on the Firecracker machines we
	 * measure on, twice in every process that loads the shim. */
	tsc = CPU_FEATURE_PRESENT(INVARIANT_TSC);
#endif
	ct_hot.tk.tsc = tsc;
	ct_ticks_pair(&ct_hot.tk.base, &ct_hot.tk.base_ns, CT_PAIR_TRIES, CT_PAIR_ENOUGH);
	ct_hot.tk.cal_span = 0;
	/* Without a TSC ticks are nanoseconds: nothing to calibrate. */
	__atomic_store_n(&ct_hot.tk.mult, tsc ? 0 : (uint64_t)1 << 32, __ATOMIC_RELAXED);
}

uint64_t
ct_ticks_calibrate(uint64_t now)
{
	uint64_t m = __atomic_load_n(&ct_hot.tk.mult, __ATOMIC_RELAXED);
	if (!ct_hot.tk.tsc)
		return m ? m : (uint64_t)1 << 32;
	uint64_t span = __atomic_load_n(&ct_hot.tk.cal_span, __ATOMIC_RELAXED);
	if (m && (now < ct_hot.tk.base || now - ct_hot.tk.base < 2 * span))
		return m; /* not due */
	uint64_t t;
	int64_t ns;
	ct_ticks_pair(&t, &ns, CT_PAIR_TRIES, CT_PAIR_ENOUGH);
	if (t <= ct_hot.tk.base || ns <= ct_hot.tk.base_ns)
		return m ? m : (uint64_t)1 << 32;
	uint64_t dt = t - ct_hot.tk.base;
	uint64_t dns = (uint64_t)(ns - ct_hot.tk.base_ns);
	uint64_t est = (uint64_t)(((unsigned __int128)dns << 32) / dt);
	if (est == 0)
		est = 1;
	if (dns < CT_TICKS_CAL_NS)
		return m ? m : est; /* too early to keep: use it once */
	/* Racing calibrators store equally good values. */
	__atomic_store_n(&ct_hot.tk.cal_span, dt, __ATOMIC_RELAXED);
	__atomic_store_n(&ct_hot.tk.mult, est, __ATOMIC_RELAXED);
	return est;
}

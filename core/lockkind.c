/* The pure half of core/locks.h: kinds, their names and the histogram
 * buckets. No state; safe from any context; linked into both shared
 * objects (core_common). */
#include <stdio.h>

#include "locks.h"
#include "ops.h"

/* ---- kinds ---- */

unsigned
ct_lock_kind_of_op(unsigned op)
{
	switch (op) {
	CT_OP_CASES_MUTEX:
		return CT_LK_MUTEX;
	CT_OP_CASES_RWLOCK:
		return CT_LK_RWLOCK;
	CT_OP_CASES_SPIN:
		return CT_LK_SPIN;
	CT_OP_CASES_COND:
		return CT_LK_COND;
	CT_OP_CASES_SEM:
		return CT_LK_SEM;
	case CT_OP_BARRIER_WAIT:
		return CT_LK_BARRIER;
	CT_OP_CASES_FUTEX:
		return CT_LK_FUTEX;
	default:
		return CT_LK_NONE;
	}
}

const char *
ct_lock_kind_name(unsigned kind, char *buf, size_t len)
{
	static const char *const base[] = {
		[CT_LK_NONE] = "",          [CT_LK_MUTEX] = "mutex",   [CT_LK_RWLOCK] = "rwlock",
		[CT_LK_SPIN] = "spinlock",  [CT_LK_COND] = "condvar",  [CT_LK_SEM] = "semaphore",
		[CT_LK_BARRIER] = "barrier", [CT_LK_FUTEX] = "futex",
	};
	static const struct {
		unsigned flag;
		const char *name;
	} attrs[] = {
		{CT_LKF_RECURSIVE, "-recursive"}, {CT_LKF_ERRORCHECK, "-errorcheck"},
		{CT_LKF_ADAPTIVE, "-adaptive"},   {CT_LKF_ROBUST, "-robust"},
		{CT_LKF_PI, "-pi"},               {CT_LKF_PP, "-pp"},
	};
	unsigned b = CT_LK_BASE(kind);
	size_t n = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	if (b >= sizeof(base) / sizeof(base[0]))
		return buf;
	n = (size_t)snprintf(buf, len, "%s", base[b]);
	for (size_t i = 0; b == CT_LK_MUTEX && i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if ((kind & attrs[i].flag) && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s", attrs[i].name);
	return buf;
}

/* ---- histogram buckets ---- */

unsigned
ct_lk_bucket(int64_t ns)
{
	if (ns < ((int64_t)1 << CT_LK_MIN_SHIFT))
		return 0;
	unsigned o = 63u - (unsigned)__builtin_clzll((unsigned long long)ns);
	if (o >= CT_LK_MAX_SHIFT)
		return CT_LK_BUCKETS - 1;
	unsigned sub = (unsigned)(((uint64_t)ns >> (o - 2)) & (CT_LK_SUB - 1));
	return 1 + (o - CT_LK_MIN_SHIFT) * CT_LK_SUB + sub;
}

int64_t
ct_lk_bucket_lo(unsigned b)
{
	if (b == 0)
		return 0;
	if (b >= CT_LK_BUCKETS - 1)
		return (int64_t)1 << CT_LK_MAX_SHIFT;
	unsigned o = CT_LK_MIN_SHIFT + (b - 1) / CT_LK_SUB, sub = (b - 1) % CT_LK_SUB;
	return ((int64_t)1 << o) + (int64_t)sub * ((int64_t)1 << (o - 2));
}


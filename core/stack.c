/* Stack capture with libunwind; see stack.h. Owns the shim's own address
 * range so that wrapper and core frames never reach a profile. */
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "snapshot.h"
#include "stack.h"

static uintptr_t ct_self_lo, ct_self_hi;

ct_stack_capture_fn ct_stack_capture = ct_stack_capture_unwind;

void
ct_stack_set_self_range(uintptr_t lo, uintptr_t hi)
{
	ct_self_lo = lo;
	ct_self_hi = hi;
}

int
ct_stack_capture_unwind(uintptr_t *pcs, int max)
{
	/* Room for our own frames (capture, record, wrapper) on top. */
	void *buf[CT_STACK_MAX + 16];
	int want = max + 16;
	if (want > (int)(sizeof(buf) / sizeof(buf[0])))
		want = (int)(sizeof(buf) / sizeof(buf[0]));
	int n = unw_backtrace(buf, want);
	int out = 0;
	for (int i = 0; i < n && out < max; i++) {
		uintptr_t pc = (uintptr_t)buf[i];
		if (pc >= ct_self_lo && pc < ct_self_hi)
			continue;
		if (pc == 0)
			break;
		pcs[out++] = pc;
	}
	return out;
}

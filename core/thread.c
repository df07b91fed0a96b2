/* The definitions of thread.h: the shim's per-thread state and the hook
 * the guard runs when it is left with work deferred. */
#include "thread.h"

CT_TLS struct ct_thread ct_self;
void (*ct_guard_run_deferred)(void) CT_INIT_HOT;

/* Shared between test_report.c and test_report_cxx.cc: code sites whose
 * return addresses and source lines the report tests know exactly. */
#ifndef CT_TEST_REPORT_H
#define CT_TEST_REPORT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ct_test_site {
	uintptr_t pc; /* a return address inside the site's function */
	int line;     /* source line of the call that pc returns to */
	int start;    /* line the function is declared on */
};

/* Returns its own return address. noipa: no inlining, cloning or
 * attribute inference may change where that address points. */
uintptr_t ct_test_capture(void) __attribute__((noipa));

/* A site inside ctt::Account::transfer(ct_test_site*, int) (C++). */
void ct_test_cxx_site(struct ct_test_site *s);

#ifdef __cplusplus
}
#endif

#endif

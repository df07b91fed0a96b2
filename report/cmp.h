/* qsort comparators that order by one numeric field, stated once.
 * Header-only; no state. */
#ifndef CT_REPORT_CMP_H
#define CT_REPORT_CMP_H

/* Defines static int fn(const void *, const void *) ordering elements of
 * type by their field, ascending (equal fields compare equal). */
#define CT_CMP_BY_FIELD(fn, type, field)                                 \
	static int fn(const void *a, const void *b)                      \
	{                                                                \
		const type *x = a, *y = b;                               \
		return x->field < y->field ? -1 : x->field > y->field;   \
	}

#endif

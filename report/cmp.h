/* qsort comparators: their void-pointer prologue and the ones that order
 * by one numeric field, stated once. Header-only; no state. */
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

/* Defines static int fn(const void *, const void *) over elements of
 * type, whose body follows the macro and reads the two elements as
 * `const type *x, *y`:
 *     CT_CMP(cmp_site, struct site) { return strcmp(x->name, y->name); } */
#define CT_CMP(fn, type)                                                 \
	static int fn##_typed(const type *x, const type *y);             \
	static int fn(const void *a, const void *b)                      \
	{                                                                \
		return fn##_typed(a, b);                                 \
	}                                                                \
	static int fn##_typed(const type *x, const type *y)

#endif

/* The scratch heap's allocator (core/scratch.h): alignment, the last
 * block given back and resized in place, zeroed memory after a release,
 * copies of other blocks, and a full heap. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "../../core/scratch.h"
#include "testlib.h"

#define SC_RESERVE (64u << 10)

static struct ct_scratch sc;

static void
sc_open(void)
{
	cr_assert_eq(ct_scratch_open(&sc, SC_RESERVE, 4096), 0);
}

Test(scratch, blocks_are_aligned_and_apart, .init = sc_open)
{
	char *a = ct_scratch_alloc(&sc, 1, false), *b = ct_scratch_alloc(&sc, 17, false);
	cr_assert(a && b);
	cr_expect_eq((uintptr_t)a % 16, 0);
	cr_expect_eq((uintptr_t)b % 16, 0);
	cr_expect_geq(b, a + 1);
	cr_expect(ct_scratch_owns(&sc, a) && ct_scratch_owns(&sc, b + 16));
	int outside;
	cr_expect(!ct_scratch_owns(&sc, &outside));
	cr_expect_eq(ct_scratch_block_size(b), 17);
}

Test(scratch, the_last_block_comes_back_zeroed_for_calloc, .init = sc_open)
{
	char *a = ct_scratch_alloc(&sc, 100, false);
	memset(a, 0xab, 100);
	ct_scratch_release(&sc, a);
	char *b = ct_scratch_alloc(&sc, 200, true);
	cr_assert_eq(b, a, "the last block was not given back");
	for (int i = 0; i < 200; i++)
		cr_assert_eq(b[i], 0, "byte %d not zeroed", i);
}

Test(scratch, freed_blocks_are_reused_and_zeroed_for_calloc, .init = sc_open)
{
	char *a = ct_scratch_alloc(&sc, 1000, false);
	char *b = ct_scratch_alloc(&sc, 32, false);
	memset(a, 0xcd, 1000);
	ct_scratch_release(&sc, a); /* not the last: kept for reuse */
	char *c = ct_scratch_alloc(&sc, 900, true);
	cr_expect_eq(c, a, "a freed block of the size was not reused");
	for (int i = 0; i < 900; i++)
		cr_assert_eq(c[i], 0, "byte %d not zeroed", i);
	char *d = ct_scratch_alloc(&sc, 1000, false);
	cr_expect(d > b, "a block in use was handed out again");
}

Test(scratch, resize_in_place_or_by_copy, .init = sc_open)
{
	char *a = ct_scratch_alloc(&sc, 16, false);
	memcpy(a, "0123456789abcdef", 16);
	char *a2 = ct_scratch_resize(&sc, a, 4000);
	cr_expect_eq(a2, a, "the last block moved");
	cr_expect_eq(ct_scratch_block_size(a2), 4000);
	char *b = ct_scratch_alloc(&sc, 8, false);
	cr_expect_eq(ct_scratch_resize(&sc, a2, 3000), a2, "a smaller size fits where it is");
	char *a3 = ct_scratch_resize(&sc, a2, 8000);
	cr_assert(a3 && a3 > b, "a block not the last must move");
	cr_expect(memcmp(a3, "0123456789abcdef", 16) == 0);
	/* The old place is free again. */
	cr_expect_eq(ct_scratch_alloc(&sc, 3500, false), a2);
}

Test(scratch, a_full_heap_says_so, .init = sc_open)
{
	cr_expect_null(ct_scratch_alloc(&sc, SC_RESERVE, false));
	cr_expect_null(ct_scratch_alloc(&sc, SIZE_MAX, false));
	char *a = ct_scratch_alloc(&sc, SC_RESERVE / 2, false);
	cr_assert(a);
	cr_expect_null(ct_scratch_resize(&sc, a, SC_RESERVE));
	cr_expect_null(ct_scratch_alloc(&sc, SC_RESERVE / 2, false));
}

Test(scratch, use_and_last)
{
	struct ct_scratch s;
	cr_assert_eq(ct_scratch_open(&s, SC_RESERVE, 0), 0);
	cr_expect_null(ct_scratch_current());
	ct_scratch_use(&s);
	cr_expect_eq(ct_scratch_current(), &s);
	ct_scratch_use(NULL);
	cr_expect_null(ct_scratch_current());
	cr_expect_eq(ct_scratch_last(), &s);
}

/* The heap is address space until it fills (the mapping has no access
 * past what was opened): strict overcommit (vm.overcommit_memory=2)
 * charges an exiting fork child the pages its dump opens, not 64 MiB. */
Test(scratch, opened_as_it_fills)
{
	struct ct_scratch s;
	char p[8];
	cr_assert_eq(ct_scratch_open(&s, 64u << 20, 32u << 10), 0);
	cr_expect_str_eq(page_prot(s.lo, p), "rw-p");
	cr_expect_str_eq(page_prot(s.lo + (1u << 20), p), "---p");
	char *big = ct_scratch_alloc(&s, 600u << 10, true);
	cr_assert_not_null(big);
	memset(big, 1, 600u << 10);
	cr_expect_str_eq(page_prot(big + (600u << 10) - 1, p), "rw-p");
	cr_expect_str_eq(page_prot(s.lo + (8u << 20), p), "---p");
	/* The last block grows in place into pages opened for it. */
	char *grown = ct_scratch_resize(&s, big, 2u << 20);
	cr_assert_eq(grown, big);
	memset(grown, 2, 2u << 20);
	cr_expect_str_eq(page_prot(s.lo + (8u << 20), p), "---p");
	munmap(s.lo, (size_t)(s.hi - s.lo));
}

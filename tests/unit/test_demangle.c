/* Rust demangling (report/demangle_rust.c). The v0 pairs are symbols of a
 * rustc 1.95 build (-C symbol-mangling-version=v0) next to the names
 * Rust's own backtrace printed for the same functions; the legacy ones
 * are std's symbols and the names pprof shows for them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../report/demangle.h"

static void
expect(const char *mangled, const char *want)
{
	char *got = ct_demangle_rust(mangled);
	cr_assert(got, "no demangling of %s (want %s)", mangled, want);
	cr_expect_str_eq(got, want, "%s", mangled);
	free(got);
	/* The name the profiles take goes the same way. */
	got = ct_demangle_name(mangled);
	cr_assert(got);
	cr_expect_str_eq(got, want);
	free(got);
}

static void
refuse(const char *mangled)
{
	char *got = ct_demangle_rust(mangled);
	cr_expect_null(got, "%s demangled to %s", mangled, got ? got : "");
	free(got);
}

Test(demangle, rust_v0_paths_impls_and_traits)
{
	expect("_RNvCs7gLl5jigpfq_1o2fp", "o::fp");
	expect("_RNvMNtNtNtNtCsjrHSEGnQ3l9_3std3sys4sync5mutex5futexNtB2_5Mutex14lock_contended",
	       "<std::sys::sync::mutex::futex::Mutex>::lock_contended");
	expect("_RNvNvMs0_NtNtNtCsjrHSEGnQ3l9_3std3sys6thread4unixNtB7_6Thread3new12thread_start",
	       "<std::sys::thread::unix::Thread>::new::thread_start");
	expect("_RNvMCs7gLl5jigpfq_1oINtB2_1SReE6methodB2_", "<o::S<&str>>::method");
	expect("_RNvXs0_Cs7gLl5jigpfq_1oReNtB5_2Tr2tm", "<&str as o::Tr>::tm");
	expect("_RNvXs_Cs7gLl5jigpfq_1oINtB4_1SAhj4_ENtB4_2Tr2tm", "<o::S<[u8; 4]> as o::Tr>::tm");
	expect("_RINvNtNtCs7gLl5jigpfq_1o5inner6deeper1fuEB6_", "o::inner::deeper::f::<()>");
}

Test(demangle, rust_v0_generics_and_constants)
{
	expect("_RINvCs7gLl5jigpfq_1o2cgKj7_EB2_", "o::cg::<7>");
	expect("_RINvCs7gLl5jigpfq_1o3cgbKb1_Kc7a_Kln5_EB2_", "o::cgb::<true, 'z', -5>");
	expect("_RINvCs7gLl5jigpfq_1o3genTatEQSdEB2_", "o::gen::<(i8, u16), &mut [f64]>");
	expect("_RINvCs7gLl5jigpfq_1o3genINtNtCsgEmfK2I1SDS_4core6option6OptionINtNtCslNYArtu3iF"
	       "V_5alloc3vec3VecjEEOmEB2_",
	       "o::gen::<core::option::Option<alloc::vec::Vec<usize>>, *mut u32>");
	expect("_RINvCs7gLl5jigpfq_1o4gen2INtNtCslNYArtu3iFV_5alloc5boxed3BoxDNtNtNtNtCsgEmfK2I1"
	       "SDS_4core4iter6traits8iterator8Iteratorp4ItemTxcENtNtB15_6marker4SendEL_EAcj3_EB2_",
	       "o::gen2::<alloc::boxed::Box<dyn core::iter::traits::iterator::Iterator<Item = "
	       "(i64, char)> + core::marker::Send>, [char; 3]>");
	/* Written from the grammar: fn pointers, a for<'a> binder, pointers,
	 * lifetimes that are not shown, a one-element tuple. */
	expect("_RINvC1a1fFG_mRL0_eEbE", "a::f::<for<'a> fn(u32, &'a str) -> bool>");
	expect("_RINvC1a1fFUKCmEzE", "a::f::<unsafe extern \"C\" fn(u32) -> !>");
	expect("_RINvC1a1fPhOtRL_xQmTlEE", "a::f::<*const u8, *mut u16, &i64, &mut u32, (i32,)>");
}

Test(demangle, rust_v0_closures_shims_and_suffixes)
{
	expect("_RNCNvCs7gLl5jigpfq_1o4main0B3_", "o::main::{closure#0}");
	expect("_RNCNvCs7gLl5jigpfq_1o4mains_0B3_", "o::main::{closure#1}");
	expect("_RNCNvCs7gLl5jigpfq_1o4mains0_0B3_", "o::main::{closure#2}");
	expect("_RNSNvYNCNvNtNtNtCsjrHSEGnQ3l9_3std3sys11personality3gcc14find_eh_action0INtNtNt"
	       "CsgEmfK2I1SDS_4core3ops8function6FnOnceuE9call_once6vtableBe_",
	       "<std::sys::personality::gcc::find_eh_action::{closure#0} as "
	       "core::ops::function::FnOnce<()>>::call_once::{shim:vtable#0}");
	expect("_RNvCs7gLl5jigpfq_1o2fp.llvm.12345", "o::fp");
}

Test(demangle, rust_legacy)
{
	expect("_ZN3std3sys9backtrace28__rust_begin_short_backtrace17h1302259650e571a1E",
	       "std::sys::backtrace::__rust_begin_short_backtrace");
	expect("_ZN4core3ops8function6FnOnce40call_once$u7b$$u7b$vtable.shim$u7d$$u7d$"
	       "17ha09a9ea5549dd685E",
	       "core::ops::function::FnOnce::call_once{{vtable.shim}}");
	expect("_ZN70_$LT$alloc..vec..Vec$LT$T$C$A$GT$$u20$as$u20$core..ops..drop..Drop$GT$"
	       "4drop17h0123456789abcdefE.llvm.99",
	       "<alloc::vec::Vec<T,A> as core::ops::drop::Drop>::drop");
	expect("_ZN1m9hold_lock17h1aaae79109a39163E", "m::hold_lock");
}

Test(demangle, not_rust_is_left_to_others)
{
	refuse("main");
	refuse("_ZN2ns3fooEi");        /* C++ */
	refuse("_ZN3foo3barE");        /* no hash: C++ */
	refuse("_ZN3foo17h0123456789abcdefEv"); /* a parameter list: C++ */
	refuse("_R");
	refuse("_RNvC1a");          /* cut short */
	refuse("_RNvC1a1fX");       /* trailing junk */
	refuse("_R0NvC1a1f");       /* a newer encoding */
	refuse("_RNvC1au3fooE");    /* punycode: kept mangled */
	refuse("_RINvC1a1fKj11111111111111111_E"); /* past 64 bits */
	refuse("_RNvB_1f");         /* a backreference to itself */
	refuse("_RNvC1a999999999999999999999f");
	refuse("_ZN7foo$ZZ$17h0123456789abcdefE"); /* an unknown escape */
	/* C++ names with no C++ demangler handed over stay mangled. */
	ct_report_set_demangler(NULL);
	cr_expect_null(ct_demangle_name("_ZN2ns3fooEi"));
}

/* Whatever a symbol table holds: truncations and byte changes of real
 * symbols, and backreference chains whose unprinted expansions would
 * double at each level, must end quickly with a name or NULL (the ASan
 * build checks every read). */
Test(demangle, hostile_symbols_end_safely)
{
	static const char *seeds[] = {
		"_RINvCs7gLl5jigpfq_1o4gen2INtNtCslNYArtu3iFV_5alloc5boxed3BoxDNtNtNtNtCsgEmfK2I1SDS_"
		"4core4iter6traits8iterator8Iteratorp4ItemTxcENtNtB15_6marker4SendEL_EAcj3_EB2_",
		"_RINvC1a1fFG_mRL0_eEbE",
		"_ZN70_$LT$alloc..vec..Vec$LT$T$C$A$GT$$u20$as$u20$core..ops..drop..Drop$GT$"
		"4drop17h0123456789abcdefE",
	};
	static const char alphabet[] = "_0123456789aBCDEFGIKLMNOPQRSTUXYZbehjmpsuvxz$.";
	unsigned seed = 12345;
	char buf[512];
	for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++) {
		size_t n = strlen(seeds[k]);
		for (size_t cut = 0; cut <= n; cut++) {
			memcpy(buf, seeds[k], cut);
			buf[cut] = '\0';
			free(ct_demangle_rust(buf));
		}
		for (int i = 0; i < 20000; i++) {
			memcpy(buf, seeds[k], n + 1);
			for (int j = 0; j < 3; j++) {
				seed = seed * 1103515245u + 12345u;
				size_t at = 2 + (seed >> 8) % (n - 2);
				buf[at] = alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
			}
			free(ct_demangle_rust(buf));
		}
	}
	/* An impl's path (not printed) in which each level is "level-1<level-1>",
	 * the argument a backreference: 2^40 expansions, no output to stop them. */
	char deep[4096] = "_RNvM";
	const int levels = 40;
	size_t len = strlen(deep);
	memset(deep + len, 'I', levels);
	len += levels;
	len += (size_t)snprintf(deep + len, sizeof(deep) - len, "C1a");
	for (int j = 1; j <= levels; j++) {
		/* level j-1 starts at 3 + levels - (j-1) ("NvM" and the I's before it) */
		unsigned pos = 3 + (unsigned)(levels - (j - 1));
		char b62[8];
		size_t nb = 0;
		for (unsigned v = pos - 1; ; v /= 62) {
			b62[nb++] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[v % 62];
			if (v < 62)
				break;
		}
		deep[len++] = 'B';
		while (nb)
			deep[len++] = b62[--nb];
		deep[len++] = '_';
		deep[len++] = 'E';
	}
	len += (size_t)snprintf(deep + len, sizeof(deep) - len, "C1b1f");
	refuse(deep);
	memset(deep, 'I', 3000);
	memcpy(deep, "_R", 2);
	deep[3000] = '\0';
	refuse(deep);
}

/* report/: snapshot -> symbolized pprof. The snapshots hold real return
 * addresses captured in this file, so every expected function name, file
 * and line is known; profiles are decoded back with protobuf-c and, when
 * Go is installed, read by `go tool pprof` itself. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../core/compiler.h"
#include "../../core/outfile.h"
#include "../../core/snapshot.h"
#include "../../report/gzout.h"
#include "../../report/intern.h"
#include "../../report/maps.h"
#include "../../report/pprof.h"
#include "../../report/pprof_read.h"
#include "../../report/report.h"
#include "../../report/round.h"
#include "../../report/symbolize.h"
#include "profile.pb-c.h"
#include "test_report.h"
#include "testlib.h"
#include "testprof.h"

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Function pb_function;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Mapping pb_mapping;

/* ---- code sites ------------------------------------------------------ */

uintptr_t
ct_test_capture(void)
{
	return (uintptr_t)__builtin_return_address(0);
}

/* Declarations, calls and __LINE__ share lines on purpose: DW_AT_decl_line
 * and the call's line must equal the __LINE__ captured next to them. */
static __attribute__((noipa)) void worker_hold(struct ct_test_site *s) { s->start = __LINE__;
	s->pc = ct_test_capture(); s->line = __LINE__;
}

static __attribute__((noipa)) void worker_main(struct ct_test_site *s) { s->start = __LINE__;
	s->pc = ct_test_capture(); s->line = __LINE__;
}

static inline __attribute__((always_inline)) void inl_bump(struct ct_test_site *s) { s->start = __LINE__;
	s->pc = ct_test_capture(); s->line = __LINE__;
}

static __attribute__((noipa)) void inl_caller(struct ct_test_site *s, struct ct_test_site *at) { at->start = __LINE__;
	inl_bump(s); at->line = __LINE__;
}

/* ---- snapshot ---------------------------------------------------------- */

static struct ct_test_site hold, main_site, bump, bump_at, cxx;

/* Record indexes in the mutex profile. */
enum { R_HOLD, R_BUMP, R_FULL, R_CXX, R_ODD, R_SHARED, R_COUNT };

static void
set_record(struct ct_record *r, unsigned op, double count, double delay, int depth, ...)
{
	va_list ap;

	r->op = op;
	r->count = count;
	r->delay_ns = delay;
	r->depth = (uint32_t)depth;
	va_start(ap, depth);
	for (int i = 0; i < depth; i++)
		r->pc[i] = va_arg(ap, uintptr_t);
	va_end(ap);
}

/* An address in an anonymous mapping: mapped, but not code of any file. */
static uintptr_t
anon_addr(void)
{
	static void *p;

	if (!p)
		p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(p != MAP_FAILED);
	return (uintptr_t)p + 16;
}


/* libc's own entry of a function, as the shim records it: &f would be an
 * interceptor of the same name under AddressSanitizer (build-asan). */
static uintptr_t
libc_entry(const char *name)
{
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	cr_assert_not_null(libc, "libc.so.6 is not loaded: %s", dlerror());
	void *f = dlsym(libc, name);
	cr_assert_not_null(f, "%s: %s", name, dlerror());
	dlclose(libc);
	return (uintptr_t)f;
}

static void
make_snapshot(struct ct_snapshot *snap)
{
	struct ct_record *m, *b;

	worker_hold(&hold);
	worker_main(&main_site);
	inl_caller(&bump, &bump_at);
	ct_test_cxx_site(&cxx);

	memset(snap, 0, sizeof(*snap));
	snap->time_nanos = 1700000000123456789LL;
	snap->duration_nanos = 2500000000LL;
	snap->pid = getpid();
	snap->leaf_addr[CT_OP_MUTEX_UNLOCK] = libc_entry("pthread_mutex_unlock");
	snap->leaf_addr[CT_OP_MUTEX_LOCK] = libc_entry("pthread_mutex_lock");

	m = calloc(R_COUNT, sizeof(*m));
	cr_assert(m);
	set_record(&m[R_HOLD], CT_OP_MUTEX_UNLOCK, 3.4, 5e6, 2, hold.pc, main_site.pc);
	set_record(&m[R_BUMP], CT_OP_MUTEX_UNLOCK, 0.3, 2e6, 2, bump.pc, main_site.pc);
	set_record(&m[R_FULL], CT_OP_TABLE_FULL, 2.0, 10.0, 0);
	set_record(&m[R_CXX], CT_OP_MUTEX_UNLOCK, 1.0, 3e6, 1, cxx.pc);
	set_record(&m[R_ODD], CT_OP_MUTEX_UNLOCK, 1.0, 100.0, 4, (uintptr_t)0, (uintptr_t)1,
		   (uintptr_t)0xdeadbeef000ULL, anon_addr());
	set_record(&m[R_SHARED], CT_OP_MUTEX_UNLOCK, 7.0, 4e6, 1, hold.pc);
	snap->prof[CT_PROF_MUTEX] = (struct ct_profile_snapshot){
		.kind = CT_PROF_MUTEX, .nrecords = R_COUNT, .records = m,
		.overflow_events = 5, .rate = 10};

	b = calloc(1, sizeof(*b));
	cr_assert(b);
	set_record(&b[0], CT_OP_MUTEX_LOCK, 12.0, 9e6, 2, hold.pc, main_site.pc);
	snap->prof[CT_PROF_BLOCK] = (struct ct_profile_snapshot){
		.kind = CT_PROF_BLOCK, .nrecords = 1, .records = b, .rate = 1000};
}

/* ---- decoding helpers ------------------------------------------------ */

static pb_profile *
encode_decode(const struct ct_snapshot *snap, enum ct_profile_kind kind, bool symbolize)
{
	struct ct_symbolizer *sym = NULL;
	struct ct_maps maps;
	uint8_t *buf;
	size_t len;
	pb_profile *p;

	cr_assert_eq(ct_maps_read(&maps), 0);
	if (symbolize)
		cr_assert_eq(ct_symbolize__new(&sym), 0);
	cr_assert_eq(ct_pprof_encode(snap, kind, &maps, sym, &buf, &len), 0);
	p = pb_decode_checked(buf, len, "the encoded profile");
	free(buf);
	ct_symbolize__free(sym);
	ct_maps_free(&maps);
	return p;
}

static const char *
str(const pb_profile *p, int64_t i)
{
	cr_assert(i >= 0 && (size_t)i < p->n_string_table, "string index %ld", (long)i);
	return p->string_table[i];
}

/* The entry of p's KIND array (location, function) whose id is id; the
 * test fails without one. */
#define BY_ID(p, KIND, id)                                                          \
	__extension__({                                                             \
		__typeof__((p)->KIND[0]) found_ = NULL;                             \
		for (size_t i_ = 0; i_ < (p)->n_##KIND && !found_; i_++)            \
			if ((p)->KIND[i_]->id == (id))                              \
				found_ = (p)->KIND[i_];                             \
		cr_assert(found_, "no " #KIND " %lu", (unsigned long)(id));         \
		found_;                                                             \
	})

static const pb_location *
loc(const pb_profile *p, uint64_t id)
{
	return BY_ID(p, location, id);
}

static const pb_function *
fn(const pb_profile *p, uint64_t id)
{
	return BY_ID(p, function, id);
}

/* Name of the function of line li of the location at depth d of s. */
static const char *
frame_name(const pb_profile *p, const pb_sample *s, size_t d, size_t li)
{
	const pb_location *l;

	cr_assert_lt(d, s->n_location_id);
	l = loc(p, s->location_id[d]);
	cr_assert_lt(li, l->n_line);
	return str(p, fn(p, l->line[li]->function_id)->name);
}

/* The sample whose value[1] (delay) is delay; delays are unique here. */
static const pb_sample *
sample_by_delay(const pb_profile *p, int64_t delay)
{
	for (size_t i = 0; i < p->n_sample; i++)
		if (p->sample[i]->value[1] == delay)
			return p->sample[i];
	cr_assert_fail("no sample with delay %ld", (long)delay);
	return NULL;
}

/* The location at depth d of the sample whose delay is delay. */
static const pb_location *
loc_at(const pb_profile *p, int64_t delay, size_t d)
{
	const pb_sample *s = sample_by_delay(p, delay);
	cr_assert_lt(d, s->n_location_id);
	return loc(p, s->location_id[d]);
}

/* The function of l, which must have one line (no inline frames). */
static const pb_function *
only_fn(const pb_profile *p, const pb_location *l)
{
	cr_assert_eq(l->n_line, 1);
	return fn(p, l->line[0]->function_id);
}

/* Checks one line of a symbolized frame against a known site. */
static void
assert_frame(const pb_profile *p, const Perftools__Profiles__Line *line, const char *name,
	     int lineno, int start)
{
	const pb_function *f = fn(p, line->function_id);
	const char *file = str(p, f->filename);

	cr_assert_str_eq(str(p, f->name), name);
	cr_assert_eq(line->line, lineno, "%s: line %ld, want %d", name, (long)line->line, lineno);
	cr_assert_eq(f->start_line, start, "%s: start_line %ld, want %d", name,
		     (long)f->start_line, start);
	cr_assert(file[0] == '/', "%s: file '%s' is not absolute", name, file);
	cr_assert(ends_with(file, "/tests/unit/test_report.c") ||
			  ends_with(file, "/tests/unit/test_report_cxx.cc"),
		  "%s: file '%s'", name, file);
	cr_assert_null(strstr(file, "/../"), "%s: file '%s' not cleaned", name, file);
}

static struct ct_snapshot snap;

static void
setup(void)
{
	make_snapshot(&snap);
}

/* snap's mutex profile, encoded (symbolized) and decoded on first use,
 * freed by teardown: most tests below read it. */
static pb_profile *snap_mutex;

static pb_profile *
mutex_profile(void)
{
	if (!snap_mutex)
		snap_mutex = encode_decode(&snap, CT_PROF_MUTEX, true);
	return snap_mutex;
}

static void
teardown(void)
{
	if (snap_mutex)
		perftools__profiles__profile__free_unpacked(snap_mutex, NULL);
	snap_mutex = NULL;
	ct_snapshot_free(&snap);
}

TestSuite(report, .init = setup, .fini = teardown);

/* ---- profile structure ---------------------------------------------- */

Test(report, header_is_go_mutex_layout)
{
	pb_profile *p = mutex_profile();

	cr_assert_geq(p->n_string_table, 1);
	cr_assert_str_eq(p->string_table[0], "");
	cr_assert_eq(p->n_sample_type, 2);
	cr_assert_str_eq(str(p, p->sample_type[0]->type), "contentions");
	cr_assert_str_eq(str(p, p->sample_type[0]->unit), "count");
	cr_assert_str_eq(str(p, p->sample_type[1]->type), "delay");
	cr_assert_str_eq(str(p, p->sample_type[1]->unit), "nanoseconds");
	cr_assert_not_null(p->period_type);
	cr_assert_str_eq(str(p, p->period_type->type), "contentions");
	cr_assert_str_eq(str(p, p->period_type->unit), "count");
	cr_assert_eq(p->period, 1);
	cr_assert_eq(p->time_nanos, snap.time_nanos);
	cr_assert_eq(p->duration_nanos, snap.duration_nanos);
	cr_assert_eq(p->default_sample_type, 0, "unset, so pprof shows delay like Go");
	cr_assert_eq(p->n_sample, R_COUNT);
	for (size_t i = 0; i < p->n_sample; i++)
		cr_assert_eq(p->sample[i]->n_value, 2);
	cr_assert_geq(p->n_comment, 2);
	cr_assert_str_eq(str(p, p->comment[0]), "libcontend mutex profile: fraction=10");
	cr_assert_not_null(strstr(str(p, p->comment[1]), "5 events found the table full"));
}

Test(report, block_profile_header_and_comment)
{
	pb_profile *p = encode_decode(&snap, CT_PROF_BLOCK, true);

	cr_assert_str_eq(str(p, p->sample_type[1]->type), "delay");
	cr_assert_eq(p->n_comment, 1);
	cr_assert_str_eq(str(p, p->comment[0]), "libcontend block profile: rate=1000 ns");
	cr_assert_eq(p->n_sample, 1);
	cr_assert_str_eq(frame_name(p, p->sample[0], 0, 0), "pthread_mutex_lock");
	cr_assert_str_eq(frame_name(p, p->sample[0], 1, 0), "worker_hold");
	perftools__profiles__profile__free_unpacked(p, NULL);
}

/* Records a fork child copied while their writer was stopped in the
 * middle of an event (core/table.h) are said in the profile's comments;
 * none, no comment (the block profile above has one comment). */
Test(report, unsettled_records_are_in_the_comments)
{
	struct ct_snapshot s = snap;
	s.prof[CT_PROF_BLOCK].unsettled = 2;
	pb_profile *p = encode_decode(&s, CT_PROF_BLOCK, false);

	cr_assert_eq(p->n_comment, 2);
	cr_expect_str_eq(str(p, p->comment[1]),
			 "libcontend: 2 records copied while their writer was stopped in the "
			 "middle of an event; each may be off by that event");
	perftools__profiles__profile__free_unpacked(p, NULL);
}

Test(report, values_rounded_and_sorted_by_delay)
{
	pb_profile *p = mutex_profile();
	const pb_sample *s;

	for (size_t i = 1; i < p->n_sample; i++)
		cr_assert_geq(p->sample[i - 1]->value[1], p->sample[i]->value[1]);
	cr_assert_eq(p->sample[0]->value[1], 5000000);
	s = sample_by_delay(p, 5000000);
	cr_assert_eq(s->value[0], 3, "llround(3.4)");
	s = sample_by_delay(p, 2000000);
	cr_assert_eq(s->value[0], 1, "0.3 contentions still count as one");
	s = sample_by_delay(p, 4000000);
	cr_assert_eq(s->value[0], 7);
}

Test(report, leaf_is_the_wrapped_libc_function)
{
	pb_profile *p = mutex_profile();
	const pb_location *l = loc_at(p, 5000000, 0);
	const pb_function *f = only_fn(p, l);
	cr_assert_str_eq(str(p, f->name), "pthread_mutex_unlock");
	cr_assert_str_eq(str(p, f->system_name), "pthread_mutex_unlock");
	cr_assert_str_eq(str(p, f->filename), "");
	cr_assert_eq(l->address, snap.leaf_addr[CT_OP_MUTEX_UNLOCK]);
	cr_assert_neq(l->mapping_id, 0, "libc's entry address lies in a mapping");
	cr_assert_not_null(strstr(str(p, p->mapping[l->mapping_id - 1]->filename), "libc"));
}

Test(report, callers_have_function_file_and_line)
{
	pb_profile *p = mutex_profile();
	const pb_sample *s = sample_by_delay(p, 5000000);
	const pb_location *l;

	cr_assert_eq(s->n_location_id, 3, "leaf + 2 frames");
	l = loc(p, s->location_id[1]);
	cr_assert_eq(l->address, hold.pc - 1, "Location.address is the call, like Go");
	cr_assert_eq(l->mapping_id, 1, "code of the test binary is in mapping[0]");
	cr_assert_eq(l->n_line, 1);
	assert_frame(p, l->line[0], "worker_hold", hold.line, hold.start);
	l = loc(p, s->location_id[2]);
	cr_assert_eq(l->n_line, 1);
	assert_frame(p, l->line[0], "worker_main", main_site.line, main_site.start);
}

Test(report, inline_frames_innermost_first)
{
	pb_profile *p = mutex_profile();
	const pb_location *l = loc_at(p, 2000000, 1);

	cr_assert_eq(l->n_line, 2, "inlined callee + physical function, got %zu", l->n_line);
	assert_frame(p, l->line[0], "inl_bump", bump.line, bump.start);
	assert_frame(p, l->line[1], "inl_caller", bump_at.line, bump_at.start);
}

Test(report, cxx_names_demangled_mangled_in_system_name)
{
	pb_profile *p = mutex_profile();
	const pb_location *l = loc_at(p, 3000000, 1);
	const pb_function *f = only_fn(p, l);
	assert_frame(p, l->line[0], "ctt::Account::transfer(ct_test_site*, int)", cxx.line,
		     cxx.start);
	cr_assert_str_eq(str(p, f->system_name), "_ZN3ctt7Account8transferEP12ct_test_sitei");
}

Test(report, table_full_is_one_synthetic_frame)
{
	pb_profile *p = mutex_profile();
	const pb_sample *s = sample_by_delay(p, 10);
	const pb_location *l;

	cr_assert_eq(s->n_location_id, 1);
	cr_assert_eq(s->value[0], 2);
	l = loc(p, s->location_id[0]);
	cr_assert_eq(l->mapping_id, 0);
	cr_assert_eq(l->address, 0);
	cr_assert_str_eq(frame_name(p, s, 0, 0), "[libcontend: table full]");
}

Test(report, odd_pcs_give_lineless_locations)
{
	pb_profile *p = mutex_profile();
	const pb_sample *s = sample_by_delay(p, 100);
	const pb_location *l;

	cr_assert_eq(s->n_location_id, 5);
	for (size_t d = 1; d < 5; d++)
		cr_assert_eq(loc(p, s->location_id[d])->n_line, 0, "frame %zu", d);
	l = loc(p, s->location_id[1]);
	cr_assert_eq(l->address, 0);
	cr_assert_eq(l->mapping_id, 0);
	cr_assert_eq(loc(p, s->location_id[3])->mapping_id, 0, "unmapped");
	l = loc(p, s->location_id[4]);
	cr_assert_eq(l->address, anon_addr() - 1);
}

Test(report, strings_functions_locations_deduplicated)
{
	pb_profile *p = mutex_profile();
	const pb_sample *a = sample_by_delay(p, 5000000), *b = sample_by_delay(p, 4000000);

	cr_assert_eq(a->location_id[1], b->location_id[1], "same pc, same location");
	for (size_t i = 0; i < p->n_string_table; i++)
		for (size_t j = i + 1; j < p->n_string_table; j++)
			cr_assert_str_neq(p->string_table[i], p->string_table[j]);
	for (size_t i = 0; i < p->n_function; i++) {
		cr_assert_eq(p->function[i]->id, i + 1);
		for (size_t j = i + 1; j < p->n_function; j++)
			cr_assert(p->function[i]->name != p->function[j]->name ||
				  p->function[i]->filename != p->function[j]->filename);
	}
	for (size_t i = 0; i < p->n_location; i++)
		cr_assert_eq(p->location[i]->id, i + 1);
}

Test(report, mappings_flagged_and_exe_first)
{
	pb_profile *p = mutex_profile();
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *id;

	cr_assert_gt(n, 0);
	exe[n] = '\0';
	cr_assert_geq(p->n_mapping, 2);
	cr_assert_str_eq(str(p, p->mapping[0]->filename), exe);
	id = str(p, p->mapping[0]->build_id);
	cr_assert_geq(strlen(id), 16, "build id '%s'", id);
	cr_assert_eq(strspn(id, "0123456789abcdef"), strlen(id), "lowercase hex: '%s'", id);
	for (size_t i = 0; i < p->n_mapping; i++) {
		const Perftools__Profiles__Mapping *m = p->mapping[i];

		cr_assert_eq(m->id, i + 1);
		cr_assert_lt(m->memory_start, m->memory_limit);
		cr_assert(m->has_functions && m->has_filenames && m->has_line_numbers &&
			  m->has_inline_frames);
	}
}

/* Only the mappings a location points into, and the program's own first:
 * a process maps many more objects than a small profile touches. Every
 * location's mapping holds its address; every mapping but the first is
 * some location's. */
Test(report, mappings_are_the_ones_used_and_the_program)
{
	pb_profile *p = mutex_profile();
	struct ct_maps maps;

	cr_assert_eq(ct_maps_read(&maps), 0);
	cr_expect_lt(p->n_mapping, maps.n, "%zu mappings of %zu", p->n_mapping, maps.n);
	ct_maps_free(&maps);
	bool *used = calloc(p->n_mapping + 1, sizeof(*used));
	cr_assert_not_null(used);
	for (size_t i = 0; i < p->n_location; i++) {
		const Perftools__Profiles__Location *l = p->location[i];

		if (!l->mapping_id)
			continue;
		cr_assert_leq(l->mapping_id, p->n_mapping);
		const Perftools__Profiles__Mapping *m = p->mapping[l->mapping_id - 1];
		cr_assert_eq(m->id, l->mapping_id);
		cr_expect(l->address >= m->memory_start && l->address < m->memory_limit,
			  "location 0x%lx outside its mapping %s", (unsigned long)l->address,
			  str(p, m->filename));
		used[l->mapping_id] = true;
	}
	for (size_t i = 1; i < p->n_mapping; i++)
		cr_expect(used[i + 1], "mapping %zu (%s) is no location's", i + 1,
			  str(p, p->mapping[i]->filename));
	/* The leaf pthread_mutex_unlock and the callers in this binary. */
	bool libc = false;
	for (size_t i = 0; i < p->n_mapping; i++)
		libc = libc || strstr(str(p, p->mapping[i]->filename), "libc.so");
	cr_expect(libc, "no mapping for libc");
	free(used);
}

Test(report, unsymbolized_still_valid)
{
	pb_profile *p = encode_decode(&snap, CT_PROF_MUTEX, false);
	const pb_sample *s = sample_by_delay(p, 5000000);

	cr_assert_str_eq(frame_name(p, s, 0, 0), "pthread_mutex_unlock");
	cr_assert_eq(loc(p, s->location_id[1])->n_line, 0);
	cr_assert_eq(loc(p, s->location_id[1])->mapping_id, 1);
	perftools__profiles__profile__free_unpacked(p, NULL);
}

/* ---- unloaded libraries (core/dlhist.h) ------------------------------ */

static int
first_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	*(uintptr_t *)arg = info->dlpi_addr;
	return 1; /* the main program comes first */
}

/* Records carry the generation they were made in: an address of an
 * older generation resolves against the first object removed at or after
 * it (its own file, at its own bias, under its own Mapping), never
 * against what is mapped there now. */
Test(report, unloaded_objects_resolve_by_generation)
{
	struct ct_snapshot s;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	uintptr_t bias = 0;

	cr_assert_gt(n, 0);
	exe[n] = 0;
	dl_iterate_phdr(first_object, &bias);
	make_snapshot(&s);
	s.dl_gen = 3;
	s.ndl_gone = 2;
	s.dl_gone = calloc(2, sizeof(*s.dl_gone));
	cr_assert(s.dl_gone);
	/* Both held hold.pc: the unreadable one was removed later (gen 2). */
	for (int i = 0; i < 2; i++) {
		s.dl_gone[i].base = bias;
		s.dl_gone[i].start = hold.pc & ~(uintptr_t)4095;
		s.dl_gone[i].limit = hold.pc + 4096;
	}
	s.dl_gone[0].gen = 2;
	snprintf(s.dl_gone[0].path, sizeof(s.dl_gone[0].path), "/nonexistent/libgone.so");
	s.dl_gone[1].gen = 1;
	cr_assert_lt(strlen(exe), sizeof(s.dl_gone[1].path));
	memcpy(s.dl_gone[1].path, exe, strlen(exe) + 1);
	snprintf(s.dl_gone[1].build_id, sizeof(s.dl_gone[1].build_id), "abcd");
	struct ct_record *b = calloc(4, sizeof(*b));
	cr_assert(b);
	for (uint32_t g = 0; g < 4; g++) {
		set_record(&b[g], CT_OP_MUTEX_LOCK, 1.0, 1000.0 * (g + 1), 1, hold.pc);
		b[g].dl_gen = g;
	}
	free(s.prof[CT_PROF_BLOCK].records);
	s.prof[CT_PROF_BLOCK].records = b;
	s.prof[CT_PROF_BLOCK].nrecords = 4;

	pb_profile *p = encode_decode(&s, CT_PROF_BLOCK, true);
	size_t nlive = p->n_mapping - 2;
	const pb_mapping *gone_exe = p->mapping[nlive + 1];
	cr_assert_str_eq(str(p, p->mapping[nlive]->filename), "/nonexistent/libgone.so");
	cr_assert_str_eq(str(p, gone_exe->filename), exe);
	cr_assert_str_eq(str(p, gone_exe->build_id), "abcd");
	for (uint32_t g = 0; g < 4; g++) {
		const pb_sample *smp = sample_by_delay(p, 1000 * (g + 1));
		const pb_location *l = loc(p, smp->location_id[1]);
		if (g == 1) { /* its own file, at its bias, under its Mapping */
			cr_assert_eq(l->mapping_id, nlive + 2, "gen 1: mapping %lu",
				     (unsigned long)l->mapping_id);
			cr_assert_str_eq(frame_name(p, smp, 1, 0), "worker_hold");
		} else if (g == 2) { /* the later, unreadable object: unnamed */
			cr_assert_eq(l->mapping_id, nlive + 1);
			cr_assert_eq(l->n_line, 0);
		} else { /* 0 (made at write time) and the current generation */
			cr_assert_leq(l->mapping_id, nlive, "gen %u: mapping %lu", g,
				      (unsigned long)l->mapping_id);
			cr_assert_str_eq(frame_name(p, smp, 1, 0), "worker_hold");
		}
	}
	cr_assert_eq(p->n_comment, 1, "no history overflow to report");
	perftools__profiles__profile__free_unpacked(p, NULL);

	s.dl_gone_dropped = 7;
	p = encode_decode(&s, CT_PROF_BLOCK, true);
	cr_assert_eq(p->n_comment, 2);
	cr_assert_not_null(strstr(str(p, p->comment[1]), "dlclose history full, 7 unloaded"),
			   "%s", str(p, p->comment[1]));
	perftools__profiles__profile__free_unpacked(p, NULL);
	ct_snapshot_free(&s);
}

Test(report, encode_rejects_bad_kind)
{
	uint8_t *buf = (uint8_t *)1;
	size_t len = 1;

	cr_assert_eq(ct_pprof_encode(&snap, CT_PROF_COUNT, NULL, NULL, &buf, &len), -EINVAL);
	cr_assert_null(buf);
	cr_assert_eq(len, 0);
}

/* ---- symbolizer and maps alone ---------------------------------------- */

Test(report, symbolizer_unknown_addresses_have_no_frames)
{
	static const uint64_t odd[] = {0, 1, 0xdeadbeef000ULL, UINT64_MAX};
	struct ct_symbolizer *sym;
	const struct ct_frame *f;
	size_t n;

	cr_assert_eq(ct_symbolize__new(&sym), 0);
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		cr_assert_eq(ct_symbolize_addr(sym, odd[i], &f, &n), 0);
		cr_assert_eq(n, 0, "0x%lx", (unsigned long)odd[i]);
	}
	/* Cached results are the same as fresh ones. */
	cr_assert_eq(ct_symbolize_addr(sym, hold.pc - 1, &f, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(f[0].name, "worker_hold");
	cr_assert_eq(ct_symbolize_addr(sym, hold.pc - 1, &f, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(f[0].line, hold.line);
	ct_symbolize__free(sym);
}

/* What a fork child finds after its parent's warm-up (ct_report_warm):
 * room reserved for its own addresses, so that resolving them grows none
 * of the arrays it inherited (growing one is a realloc in the parent's
 * heap: ct_symbolize_reserve). Seen from outside: the frames an address
 * resolved to stay where they are while other addresses are resolved. */
Test(report, symbolizer_reserve_keeps_resolving_in_place)
{
	struct ct_symbolizer *sym;
	const struct ct_frame *f, *first;
	size_t n, n0;

	cr_assert_eq(ct_symbolize__new(&sym), 0);
	cr_assert_eq(ct_symbolize_addr(sym, hold.pc - 1, &f, &n0), 0);
	cr_assert_eq(ct_symbolize_reserve(sym, 256), 0);
	cr_assert_eq(ct_symbolize_addr(sym, hold.pc - 1, &first, &n), 0);
	cr_assert_eq(n, n0);
	cr_assert_str_eq(first[0].name, "worker_hold");
	/* Addresses never seen: every byte of worker_main and of the
	 * inline test's caller, and libc's lock functions. */
	const uint64_t starts[] = {main_site.pc - 64, bump.pc - 64, libc_entry("pthread_mutex_lock"),
				   libc_entry("pthread_mutex_unlock")};
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
		for (uint64_t a = starts[i]; a < starts[i] + 48; a++)
			cr_assert_eq(ct_symbolize_addr(sym, a, &f, &n), 0);
	cr_assert_eq(ct_symbolize_addr(sym, hold.pc - 1, &f, &n), 0);
	cr_expect_eq(f, first, "the frames moved: the reserve was not used");
	cr_assert_eq(n, n0);
	cr_expect_str_eq(f[0].name, "worker_hold");
	ct_symbolize__free(sym);
}

Test(report, intern_reserve_then_add_moves_nothing)
{
	struct ct_intern t;
	uint32_t idx;
	char key[32];

	ct_intern_init(&t);
	cr_assert_eq(ct_intern_str(&t, "first", &idx), 1);
	cr_assert_eq(ct_intern_reserve(&t, 1000), 0);
	const uint32_t *slots = t.slots;
	const struct ct_intern_ent *ents = t.ents;
	cr_assert_geq(t.cap, 1001);
	cr_assert_geq(t.nslots, 2002);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "key%d", i);
		cr_assert_eq(ct_intern_str(&t, key, &idx), 1);
		cr_assert_eq(idx, (uint32_t)i + 1);
	}
	cr_expect_eq(t.slots, slots);
	cr_expect_eq(t.ents, ents);
	/* Everything is still found, the first key included. */
	cr_assert_eq(ct_intern_find(&t, "first", 5, &idx), 0);
	cr_expect_eq(idx, 0);
	cr_assert_eq(ct_intern_find(&t, "key999", 6, &idx), 0);
	cr_expect_eq(idx, 1000);
	cr_expect_str_eq(ct_intern_key(&t, 500), "key499");
	/* Past the reserve it grows as before. */
	cr_assert_eq(ct_intern_str(&t, "one more", &idx), 1);
	cr_assert_eq(ct_intern_str(&t, "first", &idx), 0);
	cr_expect_eq(idx, 0);
	ct_intern_free(&t);
}

/* A table of a few short names (a fork child's profile: the string
 * table of one stack) takes a few KiB for its keys, not a 64 KiB chunk:
 * a child's exit dump encodes five such tables, and each chunk was pages
 * apart from the others (core/scratch.h). A big one still grows. */
Test(report, intern_small_tables_stay_small)
{
	struct ct_intern t;
	uint32_t idx;
	char key[64];

	ct_intern_init(&t);
	size_t before = mallinfo2().uordblks;
	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "some_function_name_%d", i);
		cr_assert_eq(ct_intern_str(&t, key, &idx), 1);
	}
	size_t used = mallinfo2().uordblks - before;
	cr_expect_lt(used, 16 * 1024, "20 short keys took %zu bytes", used);
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "another_rather_longer_function_name_%d", i);
		cr_assert_eq(ct_intern_str(&t, key, &idx), 1);
	}
	cr_expect_str_eq(ct_intern_key(&t, 0), "some_function_name_0");
	cr_expect_str_eq(ct_intern_key(&t, 20019), "another_rather_longer_function_name_19999");
	ct_intern_free(&t);
}

/* A fork child's copy of its parent's table: keys added after the
 * freeze never write the inherited index (each write there copied a page
 * in the child), and every key, old and new, keeps its index. */
Test(report, intern_freeze_leaves_the_index_alone)
{
	struct ct_intern t;
	uint32_t idx;
	char key[32];

	ct_intern_init(&t);
	for (int i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "old%d", i);
		cr_assert_eq(ct_intern_str(&t, key, &idx), 1);
	}
	size_t nslots = t.nslots;
	uint32_t *before = malloc(nslots * sizeof(*before));
	cr_assert(before);
	memcpy(before, t.slots, nslots * sizeof(*before));
	ct_intern_freeze(&t);
	ct_intern_freeze(&t); /* once per table */
	cr_assert_eq(ct_intern_reserve(&t, 50), 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "new%d", i);
		cr_assert_eq(ct_intern_str(&t, key, &idx), 1);
		cr_assert_eq(idx, 300u + (uint32_t)i);
		/* an old key is found, not added again */
		snprintf(key, sizeof(key), "old%d", i % 300);
		cr_assert_eq(ct_intern_str(&t, key, &idx), 0);
		cr_assert_eq(idx, (uint32_t)(i % 300));
	}
	cr_expect_eq(t.nslots, nslots);
	cr_expect_eq(memcmp(before, t.slots, nslots * sizeof(*before)), 0,
		     "a key added after the freeze wrote the frozen index");
	cr_assert_eq(ct_intern_find(&t, "old0", 4, &idx), 0);
	cr_expect_eq(idx, 0);
	cr_assert_eq(ct_intern_find(&t, "new999", 6, &idx), 0);
	cr_expect_eq(idx, 1299);
	cr_expect_eq(ct_intern_find(&t, "never", 5, &idx), -ENOENT);
	cr_expect_str_eq(ct_intern_key(&t, 1299), "new999");
	cr_expect_str_eq(ct_intern_key(&t, 299), "old299");
	free(before);
	ct_intern_free(&t);
}

Test(report, symbolizer_falls_back_to_elf_symbols)
{
	struct ct_symbolizer *sym;
	const struct ct_frame *f;
	size_t n;

	/* libc carries no DWARF here (no -dbg package), only .dynsym. */
	cr_assert_eq(ct_symbolize__new(&sym), 0);
	cr_assert_eq(ct_symbolize_addr(sym, (uintptr_t)&pthread_mutex_unlock, &f, &n), 0);
	cr_assert_geq(n, 1);
	cr_assert_not_null(strstr(f[n - 1].name, "pthread_mutex_unlock"), "got '%s'",
			   f[n - 1].name);
	ct_symbolize__free(sym);
}

Test(report, clean_path_like_go)
{
	static const char *const cases[][2] = {
		{"/a/b/c", "/a/b/c"},
		{"/a/b/", "/a/b"},
		{"/a//b/./c", "/a/b/c"},
		{"/w/build/../src/x.c", "/w/src/x.c"},
		{"/a/b/../../..", "/"},
		{"/..", "/"},
		{"/", "/"},
		{"/a/./", "/a"},
		{"rel/../x", "x"},
		{"./nptl/../sysdeps/x.h", "sysdeps/x.h"},
		{"a/..", "."},
		{"a/../../b", "../b"},
		{"../../x/../y", "../../y"},
		{"..", ".."},
		{"", ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = strdup(cases[i][0]);

		ct_symbolize_clean_path(p);
		cr_assert_str_eq(p, cases[i][1], "'%s'", cases[i][0]);
		free(p);
	}
}

Test(report, maps_parse_filters_and_orders)
{
	static const char text[] =
		"00400000-00401000 r--p 00000000 08:01 11 /usr/bin/app\n"
		"00401000-00402000 r-xp 00001000 08:01 11 /usr/bin/app\n"
		"7f0000000000-7f0000001000 r-xp 00000000 08:01 22 /lib/libx.so (deleted)\n"
		"7f0000002000-7f0000003000 rw-p 00000000 00:00 0 \n"
		"7f0000004000-7f0000005000 r-xp 00000000 00:00 0 \n"
		"7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]\n"
		"00300000-00301000 r-xp 00002000 08:01 33 /lib/ld.so\n";
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	struct ct_maps maps;
	size_t idx;

	cr_assert_not_null(f);
	cr_assert_eq(ct_maps_parse(&maps, f, "/usr/bin/app"), 0);
	fclose(f);
	cr_assert_eq(maps.n, 4, "x only, no anonymous inode-0 text: %zu", maps.n);
	cr_assert_str_eq(maps.v[0].path, "/usr/bin/app");
	cr_assert_eq(maps.v[0].start, 0x401000);
	cr_assert_eq(maps.v[0].limit, 0x402000);
	cr_assert_eq(maps.v[0].offset, 0x1000);
	cr_assert_str_eq(maps.v[1].path, "/lib/libx.so", "' (deleted)' trimmed");
	cr_assert_str_eq(maps.v[1].build_id, "", "a deleted file's id is not guessed");
	cr_assert_str_eq(maps.v[2].path, "[vdso]");
	cr_assert_str_eq(maps.v[3].path, "/lib/ld.so");
	cr_assert_not_null(ct_maps_find(&maps, 0x300800, &idx));
	cr_assert_eq(idx, 3);
	cr_assert_not_null(ct_maps_find(&maps, 0x401000, &idx));
	cr_assert_eq(idx, 0);
	cr_assert_null(ct_maps_find(&maps, 0x402000, NULL), "limit is exclusive");
	cr_assert_null(ct_maps_find(&maps, 0x100, NULL));
	cr_assert_null(ct_maps_find(&maps, UINT64_MAX, NULL));
	ct_maps_free(&maps);
}

/* ---- files ------------------------------------------------------------ */

static char *
make_tmpdir(void)
{
	char *dir = malloc(PATH_MAX);

	cr_assert_not_null(dir);
	tmpdir_make(dir, PATH_MAX, "report");
	return dir;
}

static uint8_t *
read_whole(const char *path, size_t *len)
{
	char err[512];
	uint8_t *data;
	cr_assert_eq(ct_profile_read_file(path, &data, len, err, sizeof(err)), 0, "%s: %s", path, err);
	return data;
}

/* Reads and gunzips a whole file with the one reader's gunzip. */
static uint8_t *
gunzip_file(const char *path, size_t *outlen)
{
	char err[512];
	size_t len;
	uint8_t *gz = read_whole(path, &len), *out;
	cr_assert_eq(ct_gunzip(gz, len, &out, outlen, err, sizeof(err)), 0, "%s: %s", path, err);
	free(gz);
	return out;
}

static pb_profile *
read_profile(const char *dir, const char *name)
{
	char path[PATH_MAX];
	uint8_t *buf;
	size_t len;
	pb_profile *p;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf = read_whole(path, &len);
	cr_assert(len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b, "%s is not gzip", path);
	p = pb_decode_checked(buf, len, path);
	free(buf);
	return p;
}

static size_t
count_entries(const char *dir)
{
	char cmd[PATH_MAX + 32];
	size_t n = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "ls -A '%s'", dir);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	while (fgets(cmd, sizeof(cmd), f))
		n++;
	pclose(f);
	return n;
}

Test(report, write_creates_dirs_and_both_files)
{
	char *tmp = make_tmpdir(), dir[PATH_MAX], err[256] = "stale";
	struct ct_report_opts opts = {.dir = dir, .suffix = ".0001", .errbuf = err,
				      .errlen = sizeof(err)};
	pb_profile *p;

	snprintf(dir, sizeof(dir), "%s/a/b/", tmp);
	cr_assert_eq(ct_report_write(&snap, &opts), 0, "%s", err);
	cr_assert_str_eq(err, "");
	p = read_profile(dir, "mutex.0001.pb.gz");
	cr_assert_eq(p->n_sample, R_COUNT);
	cr_assert_str_eq(frame_name(p, sample_by_delay(p, 5000000), 1, 0), "worker_hold");
	perftools__profiles__profile__free_unpacked(p, NULL);
	p = read_profile(dir, "block.0001.pb.gz");
	cr_assert_eq(p->n_sample, 1);
	perftools__profiles__profile__free_unpacked(p, NULL);
	cr_assert_eq(count_entries(dir), 2, "no temporary files left behind");
	opts.suffix = NULL;
	cr_assert_eq(ct_report_write(&snap, &opts), 0, "%s", err);
	cr_assert_eq(count_entries(dir), 4);
	tmpdir_remove(tmp);
	free(tmp);
}

Test(report, write_from_forked_child)
{
	char *dir = make_tmpdir(), path[PATH_MAX];
	struct ct_report_opts opts = {.dir = dir};
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(ct_report_write(&snap, &opts) == 0 ? 0 : 1);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(path, sizeof(path), "%s/mutex.pb.gz", dir);
	cr_assert_eq(access(path, R_OK), 0);
	tmpdir_remove(dir);
	free(dir);
}

Test(report, write_error_unwritable_dir)
{
	char err[256] = "";
	struct ct_report_opts opts = {.dir = "/proc/x/y", .errbuf = err, .errlen = sizeof(err)};
	int rc = ct_report_write(&snap, &opts);

	cr_assert_lt(rc, 0);
	cr_assert_not_null(strstr(err, "/proc/x/y"), "message: '%s'", err);
	cr_assert_not_null(strstr(err, strerror(-rc)), "message: '%s'", err);
	cr_assert_null(strchr(err, '\n'));
}

Test(report, write_error_dir_is_a_file)
{
	char *tmp = make_tmpdir(), file[PATH_MAX], err[256] = "";
	struct ct_report_opts opts = {.dir = file, .errbuf = err, .errlen = sizeof(err)};
	int fd;

	snprintf(file, sizeof(file), "%s/plain", tmp);
	fd = open(file, O_CREAT | O_WRONLY, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(ct_report_write(&snap, &opts), -ENOTDIR);
	cr_assert_not_null(strstr(err, file), "message: '%s'", err);
	tmpdir_remove(tmp);
	free(tmp);
}

Test(report, write_error_read_only_dir)
{
	char *tmp = make_tmpdir(), err[256] = "";

	if (geteuid() == 0) {
		tmpdir_remove(tmp);
		free(tmp);
		cr_skip_test("root ignores directory permissions");
	}
	struct ct_report_opts opts = {.dir = tmp, .errbuf = err, .errlen = sizeof(err)};

	cr_assert_eq(chmod(tmp, 0555), 0);
	cr_assert_eq(ct_report_write(&snap, &opts), -EACCES);
	cr_assert_not_null(strstr(err, tmp), "message: '%s'", err);
	chmod(tmp, 0755);
	tmpdir_remove(tmp);
	free(tmp);
}

/* Another process's file under any name a dump writes (core/names.h
 * CT_DUMP_FILES, spelled out here) makes this process's whole dump
 * pid-qualified, before its first file: one dump never mixes the two. A
 * file under no such name changes nothing. */
Test(report, any_dump_file_of_another_process_qualifies_all)
{
	static const struct {
		const char *name;
		bool dump;
	} cases[] = {
		{"mutex.pb.gz", true},   {"block.pb.gz", true},   {"locks.pb.gz", true},
		{"threads.txt", true},   {"threads.pb.gz", true}, {"threadcreate.pb.gz", true},
		{"maps.txt", false},     {"other.pb.gz", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *dir = make_tmpdir(), path[PATH_MAX + 32], err[512];
		snprintf(path, sizeof(path), "%s/%s", dir, cases[i].name);
		write_file(path, "x", 1);
		struct ct_gzout w;
		cr_assert_eq(ct_gzout_open(&w, dir, "", NULL, 0, err, sizeof(err)), 0, "%s", err);
		cr_expect_eq(w.out->naming == CT_OUT_NAMES_PID, cases[i].dump,
			     "%s: naming %d (%s)", cases[i].name, w.out->naming, err);
		ct_gzout_close(&w);
		tmpdir_remove(dir);
		free(dir);
	}

	/* The whole dump: no plain mutex.pb.gz beside another's locks.pb.gz. */
	char *dir = make_tmpdir(), path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/locks.pb.gz", dir);
	write_file(path, "x", 1);
	struct ct_report_opts opts = {.dir = dir, .quiet = 1};
	cr_assert_eq(ct_report_write(&snap, &opts), 0);
	snprintf(path, sizeof(path), "%s/mutex.pid%d.pb.gz", dir, (int)getpid());
	cr_expect_eq(access(path, F_OK), 0, "no %s", path);
	snprintf(path, sizeof(path), "%s/mutex.pb.gz", dir);
	cr_expect_neq(access(path, F_OK), 0, "%s is plain", path);
	tmpdir_remove(dir);
	free(dir);
}

Test(report, gzout_roundtrip)
{
	char *dir = make_tmpdir(), path[PATH_MAX];
	static const char data[] = "hello, pprof";
	uint8_t *back;
	size_t len;

	cr_assert_eq(ct_gzout_write(dir, "x.gz", data, sizeof(data), NULL, 0), 0);
	snprintf(path, sizeof(path), "%s/x.gz", dir);
	back = gunzip_file(path, &len);
	cr_assert_eq(len, sizeof(data));
	cr_assert_arr_eq(back, data, len);
	free(back);
	tmpdir_remove(dir);
	free(dir);
}

/* Small inputs (a fork child's profiles) are stored, larger ones
 * deflated; both round-trip through zlib's inflate, at every size around
 * the switch, the empty input included. */
Test(report, gzout_compress_stores_small_inputs)
{
	static const size_t sizes[] = {0, 1, 4096, 32 * 1024 - 1, 32 * 1024, 32 * 1024 + 1, 200000};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k], gzlen, backlen;
		uint8_t *data = malloc(n + 1), *gz, *back;
		char err[256];
		cr_assert(data);
		/* compressible: a pprof-like mix of repeated strings */
		for (size_t i = 0; i < n; i++)
			data[i] = (uint8_t)("/usr/lib/x86_64-linux-gnu/libc.so.6"[i % 35] + (i / 4096));
		cr_assert_eq(ct_gzout_compress(data, n, &gz, &gzlen), 0, "size %zu", n);
		if (n <= 32 * 1024)
			cr_expect_eq(gzlen, n + 23, "size %zu: stored in one block", n);
		else
			cr_expect_lt(gzlen, n / 2, "size %zu: deflated", n);
		cr_assert_eq(ct_gunzip(gz, gzlen, &back, &backlen, err, sizeof(err)), 0,
			     "size %zu: %s", n, err);
		cr_expect_eq(backlen, n);
		cr_expect(n == 0 || memcmp(back, data, n) == 0, "size %zu: other bytes back", n);
		free(back);
		free(gz);
		free(data);
	}
}

/* Namings in order: plain, pid-qualified, then generations past those of
 * earlier processes with the same pid; a racing dump that moved further
 * wins, and the generations end. */
Test(report, outfile_namings_go_past_earlier_processes_with_the_pid)
{
	struct ct_output out = {.naming = CT_OUT_NAMES_UNDECIDED, .pid = 42};
	char name[64];
	static const char *const want[] = {"mutex.pid42.0001.pb.gz", "mutex.pid42-2.0001.pb.gz",
					   "mutex.pid42-3.0001.pb.gz"};
	cr_assert_gt(ct_outfile_name(name, sizeof(name), "mutex", out.naming, out.pid, ".0001",
				     ".pb.gz"), 0);
	cr_expect_str_eq(name, "mutex.0001.pb.gz");
	int naming = out.naming;
	for (size_t i = 0; i < 3; i++) {
		naming = ct_outfile_next_naming(&out, naming);
		cr_assert_eq(naming, out.naming);
		cr_assert(ct_outfile_pid_naming(naming));
		cr_assert_gt(ct_outfile_name(name, sizeof(name), "mutex", naming, out.pid, ".0001",
					     ".pb.gz"), 0);
		cr_expect_str_eq(name, want[i]);
	}
	/* Seen at pid naming while another dump already went to -3. */
	cr_expect_eq(ct_outfile_next_naming(&out, CT_OUT_NAMES_PID), CT_OUT_NAMES_PID + 2);
	/* Plain placed by a racing dump meanwhile: still pid-qualified. */
	out.naming = CT_OUT_NAMES_PLAIN;
	cr_expect_eq(ct_outfile_next_naming(&out, CT_OUT_NAMES_UNDECIDED), CT_OUT_NAMES_PID);
	out.naming = CT_OUT_NAMES_PID + CT_OUT_NAMES_GENS - 1;
	cr_expect_eq(ct_outfile_next_naming(&out, out.naming), -1);
	cr_expect_eq(ct_outfile_name(name, 20, "mutex", out.naming, 4194304, "", ".pb.gz"),
		     -ENAMETOOLONG);
}

/* The output rules of core/outfile.h, one by one. */
Test(report, outfile_temporaries_are_fresh_and_private)
{
	char *dir = make_tmpdir(), a[256], b[256];
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	mode_t old = umask(022);
	int fa = ct_outfile_create_tmp(dfd, "mutex.pb.gz", a, sizeof(a));
	int fb = ct_outfile_create_tmp(dfd, "mutex.pb.gz", b, sizeof(b));
	umask(old);
	cr_assert(fa >= 0 && fb >= 0);
	cr_expect_str_neq(a, b, "two temporaries got the same name");
	struct stat st;
	cr_assert_eq(fstat(fa, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600);
	close(fa);
	close(fb);
	/* placed once; a second file of that name is refused */
	cr_expect_eq(ct_outfile_place(dfd, a, "mutex.pb.gz", false), 0);
	cr_expect_eq(ct_outfile_place(dfd, b, "mutex.pb.gz", false), -EEXIST);
	cr_expect(faccessat(dfd, b, F_OK, AT_SYMLINK_NOFOLLOW) != 0, "the refused temporary stayed");
	/* replace: a regular file of ours yes, a link never */
	fa = ct_outfile_create_tmp(dfd, "mutex.pb.gz", a, sizeof(a));
	close(fa);
	cr_expect_eq(ct_outfile_place(dfd, a, "mutex.pb.gz", true), 0);
	cr_assert_eq(symlinkat("/etc/passwd", dfd, "threads.txt"), 0);
	fa = ct_outfile_create_tmp(dfd, "threads.txt", a, sizeof(a));
	close(fa);
	cr_expect_eq(ct_outfile_place(dfd, a, "threads.txt", true), -EEXIST);
	close(dfd);
	tmpdir_remove(dir);
	free(dir);
}

/* Entries of dir other than . and .. */
static int
dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	if (d)
		closedir(d);
	return n;
}

/* An unnamed file is linked whole under its name, never over anything
 * that has the name already (a file, a link), and is private. */
Test(report, outfile_unnamed_files_are_linked_never_over_anything)
{
	char *dir = make_tmpdir();
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	mode_t old = umask(022);
	int fd = ct_outfile_create_unnamed(dfd);
	umask(old);
	if (fd == -EOPNOTSUPP || fd == -EISDIR || fd == -EINVAL)
		cr_skip_test("no O_TMPFILE on this file system (%d)", fd);
	cr_assert_geq(fd, 0, "%d", fd);
	int fds = ct_outfile_open_fds();
	cr_assert_geq(fds, 0, "%d", fds);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600);
	cr_assert_eq(ct_outfile_write_all(fd, "abc", 3), 0);
	/* nothing in the directory until it is linked */
	cr_expect_eq(dir_entries(dir), 0);
	cr_expect_eq(ct_outfile_link_unnamed(fds, fd, dfd, "mutex.pb.gz"), 0);
	close(fd);
	char buf[8] = "";
	int rd = openat(dfd, "mutex.pb.gz", O_RDONLY);
	cr_assert_geq(rd, 0);
	cr_expect_eq(read(rd, buf, sizeof(buf)), 3);
	cr_expect_str_eq(buf, "abc");
	close(rd);
	/* a second file of that name is refused, and the first one kept */
	fd = ct_outfile_create_unnamed(dfd);
	cr_assert_geq(fd, 0);
	cr_expect_eq(ct_outfile_link_unnamed(fds, fd, dfd, "mutex.pb.gz"), -EEXIST);
	close(fd);
	cr_expect_eq(fstatat(dfd, "mutex.pb.gz", &st, 0), 0);
	cr_expect_eq(st.st_size, 3);
	/* a link there is neither replaced nor followed */
	cr_assert_eq(symlinkat("/nonexistent/x", dfd, "threads.txt"), 0);
	fd = ct_outfile_create_unnamed(dfd);
	cr_assert_geq(fd, 0);
	cr_expect_eq(ct_outfile_link_unnamed(fds, fd, dfd, "threads.txt"), -EEXIST);
	close(fd);
	cr_expect_eq(fstatat(dfd, "threads.txt", &st, AT_SYMLINK_NOFOLLOW), 0);
	cr_expect(S_ISLNK(st.st_mode));
	cr_expect_eq(dir_entries(dir), 2, "only the two names");
	close(fds);
	close(dfd);
	tmpdir_remove(dir);
	free(dir);
}

/* ct_outfile_open_dir_made says whether this call made the directory; a
 * process that placed no file yet makes it with mkdir first. */
Test(report, outfile_says_when_it_made_the_directory)
{
	char *tmp = make_tmpdir(), dir[PATH_MAX], deep[PATH_MAX];
	struct ct_output out = {0};
	const char *why = NULL;
	bool made = false;
	snprintf(dir, sizeof(dir), "%s/out", tmp);
	int fd = ct_outfile_open_dir_made(dir, &out, &why, &made);
	cr_assert_geq(fd, 0, "%d", fd);
	cr_expect(made);
	close(fd);
	fd = ct_outfile_open_dir_made(dir, &out, &why, &made);
	cr_assert_geq(fd, 0, "%d", fd);
	cr_expect(!made, "an existing directory counted as made");
	close(fd);
	/* missing parents too, and a trailing slash */
	snprintf(deep, sizeof(deep), "%s/a/b/", tmp);
	fd = ct_outfile_open_dir_made(deep, &out, &why, &made);
	cr_assert_geq(fd, 0, "%d", fd);
	cr_expect(made);
	close(fd);
	tmpdir_remove(tmp);
	free(tmp);
}

/* A link as the output directory is refused, trailing slash or not
 * (with one, open() would follow it). */
Test(report, outfile_refuses_a_linked_directory)
{
	char *tmp = make_tmpdir(), real[PATH_MAX], link[PATH_MAX], slash[PATH_MAX + 1];
	const char *why = NULL;
	snprintf(real, sizeof(real), "%s/real", tmp);
	snprintf(link, sizeof(link), "%s/link", tmp);
	snprintf(slash, sizeof(slash), "%s/", link);
	cr_assert_eq(mkdir(real, 0700), 0);
	cr_assert_eq(symlink(real, link), 0);
	cr_expect_eq(ct_outfile_open_dir(link, NULL, &why), -ELOOP);
	cr_expect(why && strstr(why, "symbolic link"));
	cr_expect_eq(ct_outfile_open_dir(slash, NULL, &why), -ELOOP);
	int fd = ct_outfile_open_dir(real, NULL, &why);
	cr_expect_geq(fd, 0);
	close(fd);
	tmpdir_remove(tmp);
	free(tmp);
}

/* A server started as root that made its directory and then changed its
 * uid keeps writing there; another process finds the directory foreign. */
Test(report, outfile_trusts_the_directory_it_made)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to change a directory's owner");
	char *tmp = make_tmpdir(), dir[PATH_MAX];
	struct ct_output mine = {0}, other = {0};
	const char *why = NULL;
	snprintf(dir, sizeof(dir), "%s/out", tmp);
	int fd = ct_outfile_open_dir(dir, &mine, &why);
	cr_assert_geq(fd, 0, "%d", fd);
	close(fd);
	/* as if this process were now another uid than the directory's */
	cr_assert_eq(chown(dir, 65534, 65534), 0);
	fd = ct_outfile_open_dir(dir, &mine, &why);
	cr_expect_geq(fd, 0, "the directory this process made was refused: %s", why ? why : "");
	if (fd >= 0)
		close(fd);
	cr_expect_eq(ct_outfile_open_dir(dir, &other, &why), -EPERM);
	cr_expect(why && strstr(why, "owned by another user"));
	cr_expect_eq(ct_outfile_open_dir(dir, NULL, NULL), -EPERM);
	tmpdir_remove(tmp);
	free(tmp);
}

/* ---- go tool pprof conformance ---------------------------------------- */

/* Output of `go tool pprof <args> <file>`; fails the test on exit != 0. */
static char *
pprof_run(const char *args, const char *file)
{
	char cmd[2 * PATH_MAX], *out = NULL;
	size_t len = 0;
	FILE *f, *mem = open_memstream(&out, &len);
	int c;

	snprintf(cmd, sizeof(cmd), "go tool pprof %s '%s' 2>&1", args, file);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	while ((c = fgetc(f)) != EOF)
		fputc(c, mem);
	fclose(mem);
	cr_assert_eq(pclose(f), 0, "%s:\n%s", cmd, out);
	return out;
}

static void
assert_contains(const char *out, const char *what, const char *view)
{
	cr_assert_not_null(strstr(out, what), "%s output lacks '%s':\n%s", view, what, out);
}

Test(report, go_tool_pprof_reads_it, .timeout = 120)
{
	char *dir, file[PATH_MAX], *out;
	struct ct_report_opts opts;

	if (!have_program("go"))
		cr_skip_test("go not installed");
	dir = make_tmpdir();
	opts = (struct ct_report_opts){.dir = dir};
	cr_assert_eq(ct_report_write(&snap, &opts), 0);
	snprintf(file, sizeof(file), "%s/mutex.pb.gz", dir);
	setenv("PPROF_TMPDIR", dir, 1);

	/* Each view of the profile and what it must show. */
	static const struct {
		const char *args, *view;
		const char *want[5];
	} views[] = {
		{"-top", "-top",
		 {"Type: delay", "pthread_mutex_unlock", "worker_hold",
		  "libcontend mutex profile: fraction=10"}},
		{"-top -sample_index=contentions", "-top contentions", {"Type: contentions"}},
		{"-traces", "-traces",
		 {"inl_bump", "(inline)", "ctt::Account::transfer", "[libcontend: table full]"}},
		{"-list 'worker_hold'", "-list",
		 {"ROUTINE", "s->pc = ct_test_capture(); s->line = __LINE__;"}},
		{"-raw", "-raw",
		 {"PeriodType: contentions count", "3    5000000:", "worker_main", "[FN][FL][LN][IN]"}},
	};
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		out = pprof_run(views[i].args, file);
		for (size_t j = 0; j < 5 && views[i].want[j]; j++)
			assert_contains(out, views[i].want[j], views[i].view);
		free(out);
	}

	tmpdir_remove(dir);
	free(dir);
}

/* The report library rounds without libm (report/round.h): the same
 * integers as llround, halves away from zero, at every magnitude a count
 * or a delay in nanoseconds takes. */
Test(report, rounding_is_llrounds)
{
	static const double cases[] = {0,	  0.49999999999999994, 0.5,  1.5,   2.5,
				       1e9 + 0.5, 123456789.4999,	  4503599627370495.5,
				       9007199254740993.0,			  1e15 + 0.25,
				       1e18 + 1,	 -0.5,			  -2.5, -1e9 - 0.5};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(ct_round_i64(cases[i]), llround(cases[i]), "%.17g: %lld, llround %lld",
			     cases[i], (long long)ct_round_i64(cases[i]), llround(cases[i]));
	for (double v = 0.0; v < 1e7; v = v * 1.37 + 0.25)
		cr_expect_eq(ct_round_i64(v), llround(v), "%.17g", v);
	cr_expect_eq(ct_round_i64(1e19), INT64_MAX);
	cr_expect_eq(ct_round_i64(NAN), 0);
}

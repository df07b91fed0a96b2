/* The core pieces of the I/O wrappers, without a preload: fd kinds, op
 * classes, fd_kind in the table key, and the tick clock. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../../core/fdkind.h"
#include "../../core/hot.h"
#include "../../core/ops.h"
#include "../../core/table.h"
#include "../../core/ticks.h"

static void
expect_kind(int fd, enum ct_fd_kind want, const char *what)
{
	cr_assert(fd >= 0, "%s: %s", what, strerror(errno));
	errno = 4242;
	enum ct_fd_kind got = ct_fdkind_classify(fd);
	cr_expect_eq(errno, 4242, "%s: errno changed", what);
	cr_expect_eq(got, want, "%s: %s, expected %s", what, ct_fdkind_name(got),
		     ct_fdkind_name(want));
}

Test(fdkind, classify)
{
	int p[2], sv[2];
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	expect_kind(p[0], CT_FD_PIPE, "pipe");
	expect_kind(sv[0], CT_FD_SOCKET, "socketpair");
	char path[] = "/tmp/ct-fdkind-XXXXXX";
	int f = mkstemp(path);
	unlink(path);
	expect_kind(f, CT_FD_FILE, "regular file");
	expect_kind(open("/tmp", O_RDONLY | O_DIRECTORY), CT_FD_DIR, "/tmp");
	expect_kind(open("/dev/null", O_RDONLY), CT_FD_CHR, "/dev/null");
	expect_kind(eventfd(0, 0), CT_FD_EVENTFD, "eventfd");
	expect_kind(epoll_create1(0), CT_FD_EPOLL, "epoll");
	expect_kind(timerfd_create(CLOCK_MONOTONIC, 0), CT_FD_TIMERFD, "timerfd");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	expect_kind(signalfd(-1, &set, 0), CT_FD_SIGNALFD, "signalfd");
	int pt = posix_openpt(O_RDWR | O_NOCTTY);
	if (pt >= 0)
		expect_kind(pt, CT_FD_TTY, "pty master");
	expect_kind(12345, CT_FD_UNKNOWN, "a closed fd");
	cr_expect_eq(ct_fdkind_classify(-1), CT_FD_UNKNOWN);
}

Test(fdkind, names)
{
	cr_expect_str_eq(ct_fdkind_name(CT_FD_NONE), "");
	cr_expect_str_eq(ct_fdkind_name(CT_FD_PIPE), "pipe");
	cr_expect_str_eq(ct_fdkind_name(CT_FD_KIND_COUNT), "");
	for (unsigned k = 1; k < CT_FD_KIND_COUNT; k++)
		cr_expect(ct_fdkind_name(k)[0], "kind %u has no name", k);
}

Test(ops, classes)
{
	static const struct {
		unsigned op, class;
	} classes[] = {
		{CT_OP_MUTEX_LOCK, CT_CLASS_SYNC}, {CT_OP_COND_WAIT, CT_CLASS_SYNC},
		{CT_OP_JOIN, CT_CLASS_SYNC},       {CT_OP_READ, CT_CLASS_IO},
		{CT_OP_EPOLL_WAIT, CT_CLASS_IO},   {CT_OP_PAUSE, CT_CLASS_IO},
		{CT_OP_NANOSLEEP, CT_CLASS_SLEEP}, {CT_OP_USLEEP, CT_CLASS_SLEEP},
		{CT_OP_WAITPID, CT_CLASS_SYNC},    {CT_OP_FLOCK, CT_CLASS_SYNC},
		{CT_OP_TABLE_FULL, CT_CLASS_NONE}, {CT_OP_COUNT, CT_CLASS_NONE},
	};
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		cr_expect_eq(ct_op_class(classes[i].op), classes[i].class, "op %u", classes[i].op);
	static const struct {
		unsigned op;
		const char *name;
	} class_names[] = {{CT_OP_READ, "io"}, {CT_OP_SLEEP, "sleep"}, {CT_OP_SEM_WAIT, "sync"},
			   {CT_OP_TABLE_FULL, ""}};
	for (size_t i = 0; i < sizeof(class_names) / sizeof(class_names[0]); i++)
		cr_expect_str_eq(ct_op_class_name(class_names[i].op), class_names[i].name, "op %u",
				 class_names[i].op);
	/* Names are the libc functions, unique. */
	for (unsigned i = 0; i < CT_OP_COUNT; i++)
		for (unsigned j = i + 1; j < CT_OP_COUNT; j++)
			cr_expect(strcmp(ct_op_name(i), ct_op_name(j)), "ops %u and %u: %s", i, j,
				  ct_op_name(i));
	cr_expect_str_eq(ct_op_name(CT_OP_READ), "read");
	cr_expect_str_eq(ct_op_name(CT_OP_EPOLL_WAIT), "epoll_wait");
}

/* The same stack under another fd kind is another record; I/O records
 * alone leave the table "empty" for the nothing-to-write test. */
Test(table, fd_kind_is_part_of_the_key)
{
	struct ct_table t;
	cr_assert_eq(ct_table_init(&t, 128), 0);
	uintptr_t a[] = {0x1000, 0x2000};
	ct_table_add_fd(&t, CT_OP_READ, CT_FD_PIPE, a, 2, 1, 100);
	ct_table_add_fd(&t, CT_OP_READ, CT_FD_PIPE, a, 2, 1, 50);
	ct_table_add_fd(&t, CT_OP_READ, CT_FD_SOCKET, a, 2, 1, 7);
	ct_table_add_fd(&t, CT_OP_NANOSLEEP, CT_FD_NONE, a, 2, 1, 9);
	cr_expect(ct_table_empty(&t));
	struct ct_profile_snapshot s = {0};
	cr_assert_eq(ct_table_copy(&t, &s), 0);
	cr_expect_eq(s.nrecords, 3);
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct ct_record *r = &s.records[i];
		if (r->op == CT_OP_READ && r->fd_kind == CT_FD_PIPE)
			cr_expect_eq(r->delay_ns, 150);
		else if (r->op == CT_OP_READ)
			cr_expect(r->fd_kind == CT_FD_SOCKET && r->delay_ns == 7);
		else
			cr_expect(r->fd_kind == CT_FD_NONE && r->delay_ns == 9);
	}
	free(s.records);
	ct_table_add(&t, CT_OP_MUTEX_LOCK, a, 2, 1, 1);
	cr_expect(!ct_table_empty(&t));
	ct_table_destroy(&t);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A (ticks, clock) pair read back to back, retried until nothing
 * (preemption on a loaded machine, an interrupt) came between the two
 * reads: the smallest bracket of 50 tries. */
static void
tight_pair(uint64_t *t, int64_t *ns)
{
	ct_ticks_pair(t, ns, 50, 0);
}

/* Ticks convert to nanoseconds within a fraction of a percent once
 * calibrated; before that they still convert (from a fresh estimate).
 * Every comparison is between readings taken back to back (the best of
 * many tries), so a preemption between two of them cannot fail it; the
 * sleeps only set a minimum span (longer ones only help). */
Test(ticks, calibration)
{
	ct_ticks_init();
	uint64_t t0;
	int64_t n0;
	tight_pair(&t0, &n0);
	int64_t early = INT64_MAX;
	for (int i = 0; i < 50; i++) {
		uint64_t a = ct_ticks();
		int64_t d = ct_ticks_to_ns(ct_ticks() - a);
		if (d < early)
			early = d;
	}
	cr_expect(early >= 0 && early < 1000000, "%lld ns for nothing", (long long)early);
	sleep_ms(20);
	uint64_t t1;
	int64_t n1;
	tight_pair(&t1, &n1);
	ct_ticks_calibrate(t1);
	double got = (double)ct_ticks_to_ns(t1 - t0), want = (double)(n1 - n0);
	cr_expect(got > want * 0.99 && got < want * 1.01, "%.0f ns as %.0f ns", want, got);
	int64_t off = INT64_MAX;
	for (int i = 0; i < 50; i++) {
		int64_t mono = ct_ticks_to_mono(ct_ticks()), now = ct_clock_ns();
		if (llabs(now - mono) < off)
			off = llabs(now - mono);
	}
	cr_expect(off < 200000, "ticks as CLOCK_MONOTONIC off by %lld ns", (long long)off);
	/* Recalibrated as time goes on: still right over a longer span. */
	sleep_ms(50);
	uint64_t t2;
	int64_t n2;
	tight_pair(&t2, &n2);
	ct_ticks_calibrate(t2);
	got = (double)ct_ticks_to_ns(t2 - t0);
	want = (double)(n2 - n0);
	cr_expect(got > want * 0.995 && got < want * 1.005, "%.0f ns as %.0f ns", want, got);
}

/* How far a ct_now_ns reading falls outside the two kernel clock reads
 * around it (0: between them), in the tightest bracket of 200 tries. */
static int64_t
now_ns_offset(void)
{
	int64_t best = INT64_MAX, off = 0;
	for (int i = 0; i < 200; i++) {
		int64_t a = ct_clock_ns(), n = ct_now_ns(), b = ct_clock_ns();
		if (b - a < best) {
			best = b - a;
			off = n < a ? a - n : n > b ? n - b : 0;
		}
	}
	return off;
}

/* ct_now_ns (clock.h) calibrates the TSC by itself once CT_TICKS_CAL_NS
 * have passed since init, and then reads it instead of the kernel's
 * clock, staying CLOCK_MONOTONIC: readings bracketed by two kernel reads
 * (the tightest of many tries, so a preemption cannot fail it) fall
 * between them within a calibration's error. */
Test(ticks, now_ns_is_monotonic_clock_from_the_tsc)
{
	ct_ticks_init();
	sleep_ms(5);
	int64_t first = ct_now_ns(); /* due: calibrates */
	if (ct_hot.tk.tsc)
		cr_expect_neq(__atomic_load_n(&ct_hot.tk.mult, __ATOMIC_RELAXED), 0,
			      "an invariant TSC left uncalibrated: every read is a clock_gettime()");
	int64_t off = now_ns_offset();
	cr_expect(off < 200000, "ct_now_ns off CLOCK_MONOTONIC by %lld ns", (long long)off);
	cr_expect(ct_now_ns() >= first, "ct_now_ns went back");
	/* Still right over a longer span (recalibrated when the span since
	 * init has doubled). */
	sleep_ms(30);
	off = now_ns_offset();
	cr_expect(off < 200000, "after 30 ms, off by %lld ns", (long long)off);
}

/* Issue 12: what every timed call reads of core's static state around
 * its system call (the tick clock, CONTEND_IO's switch, the dumper's
 * flag, the shim's readiness, the I/O threshold) is one cache line: on
 * the VMs we measure on each line touched after a system call costs about
 * 5 ns. They were four lines (the dumper's flag, 4585358, some 250 KiB
 * from CONTEND_IO's switch). */
Test(hot, timed_call_state_is_one_line)
{
	uintptr_t line = (uintptr_t)&ct_hot / 64;
	cr_expect_eq((uintptr_t)&ct_hot.tk.tsc / 64, line);
	cr_expect_eq(((uintptr_t)&ct_hot.tk.cal_span + sizeof(ct_hot.tk.cal_span) - 1) / 64, line);
	cr_expect_eq((uintptr_t)&ct_hot.io_on / 64, line);
	cr_expect_eq((uintptr_t)&ct_hot.dumper_wanted / 64, line);
	cr_expect_eq((uintptr_t)&ct_hot.ready / 64, line);
	cr_expect_eq(((uintptr_t)&ct_hot.io_min_ticks + sizeof(ct_hot.io_min_ticks) - 1) / 64,
		     line);
}

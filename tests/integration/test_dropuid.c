/* Names after a process drops root (tests/progs/drop_root.c): a process
 * that changed uid/gid before or after its threads started, or set itself
 * non-dumpable and dropped its capabilities, can no longer read
 * /proc/self/auxv (nor, on some kernels, maps or exe); its profiles must
 * still name its functions and libc's, with file:line where debug info
 * exists. Needs root to drop it: skipped otherwise. */
#include <criterion/criterion.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testrun.h"
#include "pprof_read.h"

/* A Line of some Location names function fn; with file, from a source
 * file ending in file and a nonzero line. */
static bool
has_line(const struct profile *p, const char *fn, const char *file)
{
	const struct ct_profile *cp = p->reader;

	for (size_t i = 0; i < cp->nlocs; i++)
		for (size_t j = 0; j < cp->locs[i].nlines; j++) {
			const struct ct_pline *l = &cp->locs[i].lines[j];
			if (strcmp(l->fn->name, fn))
				continue;
			if (!file || (l->line > 0 && ends_with(l->fn->filename, file)))
				return true;
		}
	return false;
}

/* Skips the test unless it runs as root. nobody's uid and gid into uid
 * and gid (16 bytes each); with base (a mkdtemp template), that
 * directory made and out (256 bytes) = base/out, which nobody must reach
 * and own (README "Output"). */
static void
as_nobody(char *uid, char *gid, char *base, char *out)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to drop it");
	struct passwd *pw = getpwnam("nobody");
	cr_assert(pw, "no user nobody");
	snprintf(uid, 16, "%u", (unsigned)pw->pw_uid);
	snprintf(gid, 16, "%u", (unsigned)pw->pw_gid);
	if (!base)
		return;
	cr_assert(mkdtemp(base));
	cr_assert_eq(chmod(base, 0711), 0);
	snprintf(out, 256, "%s/out", base);
	cr_assert_eq(mkdir(out, 0700), 0);
	cr_assert_eq(chown(out, pw->pw_uid, pw->pw_gid), 0);
}

static void
drop_case_of(const char *prog, const char *mode, bool dump)
{
	char base[] = "/tmp/ct_dropuid.XXXXXX", out[256], uid[16], gid[16];
	as_nobody(uid, gid, base, out);

	struct run r;
	run_ok(&r, &(struct run_opts){.prog = prog,
					.args = (const char *[]){mode, uid, gid,
								 dump ? "dump" : NULL, NULL},
					.env = (const char *[]){"CONTEND_DUMP_SIGNAL=SIGUSR2", NULL},
					.env2 = exact_env, .out = out, .raw_out = true});
	if (dump) {
		/* The live dump while drop_wait blocks: without
		 * /proc/self/task/<tid>/syscall (the dump says so once) the
		 * blocked thread's stack is unwound from the wrapper's return
		 * address in its stack: the frames above drop_wait, with names
		 * and lines, down to libc's thread start. */
		char tpath[512];
		snprintf(tpath, sizeof(tpath), "%s/threads.0001.txt", out);
		char *txt = read_file(tpath, NULL);
		cr_assert(txt, "no %s; stderr:\n%s", tpath, r.err);
		const char *say = "no access to /proc/self/task/*/syscall";
		const char *at = strstr(txt, say);
		cr_expect(at && !strstr(at + 1, say), "said once:\n%s", txt);
		cr_expect(strstr(txt, "drop_wait (drop_root.c:"), "the waiter by name:\n%s", txt);
		const char *blk = strstr(txt, "\ndrop_wait(...)\n");
		const char *up = blk ? strstr(blk, "\nwaiter(...)\n\t") : NULL;
		const char *start = up ? strstr(up, "\nstart_thread(...)\n") : NULL;
		const char *created = blk ? strstr(blk, "\ncreated by ") : NULL;
		cr_expect(up && start && created && start < created,
			  "the blocked thread's stack stops at the wait:\n%s", txt);
		free(txt);
	}
	cr_expect(!strstr(r.err, "cannot read"), "a file was unreadable:\n%s", r.err);

	struct profile mp, bp;
	cr_assert(profile_load_in(&mp, out, "mutex"));
	cr_assert(profile_load_in(&bp, out, "block"));

	struct stack_match held = {"pthread_mutex_unlock", "drop_hold", NULL, NULL};
	struct stack_match waited = {"pthread_mutex_lock", "drop_wait", NULL, NULL};
	cr_expect_eq(profile_sum(&mp, &held).count, 1, "%s: the holder's unlock by name", mode);
	cr_expect_eq(profile_sum(&bp, &waited).count, 1, "%s: the waiter's lock by name", mode);
	/* The program's own frames with file:line (it is built with -g). */
	cr_expect(has_line(&mp, "drop_hold", "drop_root.c"), "%s: drop_hold at drop_root.c:N", mode);
	cr_expect(has_line(&mp, "main", "drop_root.c"), "%s: main at drop_root.c:N", mode);
	cr_expect(has_line(&bp, "drop_wait", "drop_root.c"), "%s: drop_wait at drop_root.c:N", mode);
	/* libc's by name: the waiter thread's start. */
	cr_expect(has_line(&bp, "start_thread", NULL), "%s: libc's start_thread", mode);
	cr_expect(profile_has_mapping(&mp, prog), "%s: the program's Mapping", mode);
	cr_expect(profile_has_mapping(&mp, "libc.so.6"), "%s: libc's Mapping", mode);
	if (profile_sum(&mp, &held).count != 1 || !has_line(&mp, "drop_hold", "drop_root.c")) {
		profile_dump(&mp, "mutex");
		profile_dump(&bp, "block");
	}
	profile_free(&mp);
	profile_free(&bp);
	run_free(&r);
	tmpdir_remove(base);
}

static void
drop_case(const char *mode, bool dump)
{
	drop_case_of("drop_root", mode, dump);
}

Test(dropuid, setuid_before_threads) { drop_case("before", false); }
Test(dropuid, setuid_after_threads) { drop_case("after", false); }
Test(dropuid, nondumpable_no_caps) { drop_case("nodump", false); }
Test(dropuid, thread_dump_after_setuid) { drop_case("after", true); }
/* The same with frame pointers (as MariaDB's binary): the stack of the
 * blocked thread goes on past drop_wait only if the unwinder gets the
 * frame pointer back from the wrapper's frame. */
Test(dropuid, thread_dump_after_setuid_frame_pointers)
{
	drop_case_of("drop_root_fp", "after", true);
}

/* A server started as root where only root may write (systemd starts
 * them in "/") that gives up root for good: its output directory, made
 * at its first dump, could not be made by its new user any more, and its
 * profiles were lost. The shim makes it just before the drop, for the new
 * user, with any missing parents. */
/* drop_root MODE, run as root with CONTEND_OUT base/LEAF, base being a
 * new directory (a mkdtemp template) that nobody may pass but not write;
 * out (outlen bytes) = the directory that names, LEAF's "%p" its pid.
 * nobody's uid into *uid. */
static void
run_unwritable(struct run *r, const char *mode, const char *leaf, char *base, char *out,
	       size_t outlen, uid_t *uid)
{
	char u[16], g[16], tmpl[256];
	as_nobody(u, g, NULL, NULL);
	*uid = (uid_t)atoi(u);
	cr_assert(mkdtemp(base));
	cr_assert_eq(chmod(base, 0711), 0);
	snprintf(tmpl, sizeof(tmpl), "%s/%s", base, leaf);
	run_ok(r, &(struct run_opts){.prog = "drop_root",
				       .args = (const char *[]){mode, u, g, NULL},
				       .env2 = exact_env, .out = tmpl, .raw_out = true});
	const char *p = strstr(leaf, "%p");
	if (p)
		snprintf(out, outlen, "%s/%.*s%d%s", base, (int)(p - leaf), leaf, (int)r->pid, p + 2);
	else
		snprintf(out, outlen, "%s/%s", base, leaf);
}

static void
unwritable_case(const char *mode)
{
	char base[] = "/tmp/ct_dropuid.XXXXXX", out[300];
	uid_t nobody;
	struct run r;
	run_unwritable(&r, mode, "new/out.%p", base, out, sizeof(out), &nobody);
	struct stat st;
	cr_assert_eq(stat(out, &st), 0, "%s: no %s; stderr:\n%s", mode, out, r.err);
	cr_expect_eq(st.st_uid, nobody, "%s: %s is uid %u's", mode, out, (unsigned)st.st_uid);
	cr_expect_eq(st.st_mode & 07777, 0700);
	struct profile mp;
	cr_assert(profile_load_in(&mp, out, "mutex"), "%s: stderr:\n%s", mode, r.err);
	struct stack_match held = {"pthread_mutex_unlock", "drop_hold", NULL, NULL};
	cr_expect_eq(profile_sum(&mp, &held).count, 1, "%s: the holder's unlock", mode);
	profile_free(&mp);
	run_free(&r);
	tmpdir_remove(base);
}

Test(dropuid, unwritable_directory_setuid) { unwritable_case("before"); }
Test(dropuid, unwritable_directory_setuid_after_threads) { unwritable_case("after"); }
Test(dropuid, unwritable_directory_setresuid) { unwritable_case("resuid"); }
Test(dropuid, unwritable_directory_setreuid) { unwritable_case("reuid"); }

/* Drop, then fork (memcached -d -u daemonizes after its drop): the child,
 * of the same user, cannot make a directory of its own beside its
 * parent's, so it writes into the one made for its parent at the drop,
 * under names with its pid. */
Test(dropuid, child_forked_after_the_drop_writes_beside_its_parent)
{
	char base[] = "/tmp/ct_dropuid.XXXXXX", out[300];
	uid_t nobody;
	struct run r;
	run_unwritable(&r, "daemon", "out.%p", base, out, sizeof(out), &nobody);
	long child = run_value(&r, NULL, "child");
	struct stat st;
	cr_assert_eq(stat(out, &st), 0, "no %s; stderr:\n%s", out, r.err);
	cr_expect_eq(st.st_uid, nobody, "%s is uid %u's", out, (unsigned)st.st_uid);
	char name[64];
	snprintf(name, sizeof(name), "mutex.pid%ld", child);
	struct profile mp;
	cr_assert(profile_load_in(&mp, out, name), "no %s in %s; stderr:\n%s", name, out, r.err);
	struct stack_match held = {"pthread_mutex_unlock", "drop_hold", NULL, NULL};
	cr_expect_eq(profile_sum(&mp, &held).count, 1, "the child's holder");
	profile_free(&mp);
	run_free(&r);
	tmpdir_remove(base);
}

/* A vfork() child that drops root before its exec shares the parent's
 * memory and runs no fork handler: it must not make the parent's
 * directory for its user, or the parent (still root) would refuse it. */
Test(dropuid, vfork_child_drop_leaves_the_parents_directory)
{
	char base[] = "/tmp/ct_dropuid.XXXXXX", out[300];
	uid_t nobody;
	struct run r;
	run_unwritable(&r, "vfork", "out.%p", base, out, sizeof(out), &nobody);
	struct stat st;
	cr_assert_eq(stat(out, &st), 0, "no %s; stderr:\n%s", out, r.err);
	cr_expect_eq(st.st_uid, 0, "%s is uid %u's", out, (unsigned)st.st_uid);
	struct profile mp;
	cr_assert(profile_load_in(&mp, out, "mutex"), "stderr:\n%s", r.err);
	profile_free(&mp);
	run_free(&r);
	tmpdir_remove(base);
}

/* Where nothing is made at the drop, the process that dropped cannot
 * write there, and says so; its status is its own (run_ok). */
static void
nothing_made_case(const char *mode, const char *leaf)
{
	char base[] = "/tmp/ct_dropuid.XXXXXX", out[300];
	uid_t nobody;
	struct run r;
	run_unwritable(&r, mode, leaf, base, out, sizeof(out), &nobody);
	struct stat st;
	cr_expect_neq(stat(out, &st), 0, "%s: %s made for uid %u", mode, out, (unsigned)st.st_uid);
	cr_expect(strstr(r.err, "Permission denied"), "%s: not said:\n%s", mode, r.err);
	run_free(&r);
	tmpdir_remove(base);
}

/* A CONTEND_OUT without %p is one directory for every process: made for
 * the user one of them drops to, it would be refused by those that stay
 * root (a server's master). */
Test(dropuid, shared_directory_is_not_made_for_the_new_user)
{
	nothing_made_case("before", "shared");
}

/* A temporary drop (seteuid, root kept in the saved id) makes nothing:
 * a directory of the temporary user would refuse root's own dumps once
 * it takes root back. Here the program ends as nobody in its effective
 * id, where nobody cannot write. */
Test(dropuid, temporary_drop_makes_no_directory)
{
	nothing_made_case("nodump", "out.%p");
}

/* A server that chroot()s (tests/progs/chrooted): its profiles are
 * written, into its output directory's path inside the jail (the shim
 * keeps no directory of the outside open: that would be a way out of the
 * jail), and its functions are named, whether it waited before the chroot
 * or only inside (then from the symbol tables of the files the shim
 * opened before: the program's own is not stripped). With DROP_NOWHERE,
 * it also gives up root once inside, and no directory is made for its new
 * user there (a jail, sshd's /run/sshd, must stay unwritable for that
 * user): it cannot write, and says so at the drop, while its stderr is
 * still the one it started with (haproxy's default configuration drops
 * and then closes it). With DROP_OWN_DIR, the jail holds a directory of
 * the new user's, named by CONTEND_OUT (without %p): it writes there,
 * and the drop says nothing. */
enum chroot_drop { NO_DROP, DROP_NOWHERE, DROP_OWN_DIR };

static void
chroot_case(const char *when, enum chroot_drop drop)
{
	char base[] = "/tmp/ct_chroot.XXXXXX", jail[300], tmpl[300], uid[16], gid[16];
	char inside[640];
	as_nobody(uid, gid, NULL, NULL);
	cr_assert(mkdtemp(base));
	cr_assert_eq(chmod(base, 0711), 0);
	snprintf(jail, sizeof(jail), "%s/jail", base);
	snprintf(tmpl, sizeof(tmpl), drop == DROP_OWN_DIR ? "%s/own" : "%s/out.%%p", base);
	cr_assert_eq(mkdir(jail, 0755), 0);
	if (drop == DROP_OWN_DIR) {
		/* jail/tmp/ct_chroot.X/own, nobody's */
		snprintf(inside, sizeof(inside), "%s/tmp", jail);
		cr_assert_eq(mkdir(inside, 0755), 0);
		snprintf(inside, sizeof(inside), "%s%s", jail, base);
		cr_assert_eq(mkdir(inside, 0755), 0);
		snprintf(inside, sizeof(inside), "%s%s/own", jail, base);
		cr_assert_eq(mkdir(inside, 0700), 0);
		cr_assert_eq(chown(inside, (uid_t)atoi(uid), (gid_t)atoi(gid)), 0);
	}

	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "chrooted",
					.args = (const char *[]){jail, when,
								 drop != NO_DROP ? uid : NULL,
								 gid, NULL},
					.env2 = exact_env, .out = tmpl, .raw_out = true});
	if (drop != DROP_OWN_DIR)
		snprintf(inside, sizeof(inside), "%s%s/out.%d", jail, base, (int)r.pid);
	cr_expect(strstr(r.out, "jailed=1"), "%s", r.out);
	struct stat st;
	if (drop == DROP_NOWHERE) {
		cr_expect_neq(stat(inside, &st), 0, "%s made in the jail for uid %u", inside,
			      (unsigned)st.st_uid);
		char said[128];
		snprintf(said, sizeof(said), "pid %d gives up root inside a chroot", (int)r.pid);
		cr_expect(strstr(r.err, said), "not said at the drop; stderr:\n%s", r.err);
		cr_expect(strstr(r.err, "cannot create directory"), "stderr:\n%s", r.err);
		run_free(&r);
		tmpdir_remove(base);
		return;
	}
	cr_expect(!strstr(r.err, "cannot") && !strstr(r.err, "gives up root"), "%s: stderr:\n%s",
		  when, r.err);
	cr_assert_eq(stat(inside, &st), 0, "%s: no %s; stderr:\n%s", when, inside, r.err);
	cr_expect_eq(st.st_uid, drop == DROP_OWN_DIR ? (uid_t)atoi(uid) : 0, "%s: %s is uid %u's",
		     when, inside, (unsigned)st.st_uid);
	struct profile bp;
	cr_assert(profile_load_in(&bp, inside, "block"), "%s: stderr:\n%s", when, r.err);
	const char *fn = strcmp(when, "after") ? "main" : "jail_wait";
	struct stack_match waited = {"pthread_mutex_lock", NULL, NULL, NULL};
	cr_expect_eq(profile_sum(&bp, &waited).count, 1, "%s: the wait", when);
	cr_expect(has_line(&bp, fn, NULL), "%s: %s not named", when, fn);
	if (!has_line(&bp, fn, NULL))
		profile_dump(&bp, "block");
	profile_free(&bp);
	run_free(&r);
	tmpdir_remove(base);
}

Test(dropuid, chroot_after_a_wait) { chroot_case("before", NO_DROP); }
Test(dropuid, chroot_then_a_wait) { chroot_case("after", NO_DROP); }
Test(dropuid, chroot_then_setuid_makes_nothing_in_the_jail) { chroot_case("after", DROP_NOWHERE); }
Test(dropuid, chroot_then_setuid_writes_into_its_users_directory_in_the_jail)
{
	chroot_case("after", DROP_OWN_DIR);
}

/* drop_root MODE (as nobody) serving CONTEND_HTTP, asked for what
 * ("symbol", "delta"); its output in out, made under base (mkdtemp
 * template) when base is given. */
static void
run_served(struct run *r, const char *mode, const char *what, char *base, char *out)
{
	char uid[16], gid[16];
	as_nobody(uid, gid, base, base ? out : NULL);
	run_prog(r, &(struct run_opts){.prog = "drop_root",
				       .args = (const char *[]){mode, uid, gid, what, NULL},
				       .env = (const char *[]){"CONTEND_HTTP=127.0.0.1:0",
							       "CONTEND_QUIET=1", NULL},
				       .out = out, .raw_out = true});
}

/* /debug/pprof/symbol after the drop: the shim symbolizes from the
 * objects the loader lists, as its profiles do, not from /proc/self. */
static void
symbol_case(const char *mode)
{
	struct run r;
	run_served(&r, mode, "symbol", NULL, "/nonexistent-ct-dropuid");
	cr_expect(strstr(r.out, "symbol: num_symbols: 1"), "%s\n%s", r.out, r.err);
	cr_expect(strstr(r.out, " drop_wait\n"), "%s: drop_wait not named:\n%s\n%s", mode, r.out,
		  r.err);
	run_free(&r);
}

Test(dropuid, symbol_endpoint_after_setuid) { symbol_case("before"); }
Test(dropuid, symbol_endpoint_nodump) { symbol_case("nodump"); }

/* A ?seconds=N profile (the delta of two snapshots) after the drop: named
 * from the objects the loader lists, as the cumulative profiles are (the
 * delta once lost them, and a MariaDB started as root showed nothing but
 * [mariadbd] and [libc.so.6] under `go tool pprof -seconds`). */
static void
delta_case(const char *mode)
{
	char base[] = "/tmp/ct_dropuid.XXXXXX", out[256];
	struct run r;
	run_served(&r, mode, "delta", base, out);
	run_expect_success(&r);
	struct profile dp;
	cr_assert(profile_load_in(&dp, out, "delta"), "no delta profile: %s", r.err);
	cr_expect(has_line(&dp, "delta_nap", "drop_root.c"), "%s: delta_nap at drop_root.c:N",
		  mode);
	cr_expect(has_line(&dp, "usleep", NULL), "%s: libc's usleep", mode);
	cr_expect(profile_has_mapping(&dp, "drop_root"), "%s: the program's Mapping", mode);
	if (!has_line(&dp, "delta_nap", "drop_root.c"))
		profile_dump(&dp, "delta");
	profile_free(&dp);
	run_free(&r);
	tmpdir_remove(base);
}

Test(dropuid, seconds_profile_after_setuid) { delta_case("before"); }
Test(dropuid, seconds_profile_nodump) { delta_case("nodump"); }

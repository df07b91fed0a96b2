/* Final dumps; see dump.h. Owns the output directory and the handle of
 * libcontend-report.so. Never runs on a wrapper path. */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../report/report.h"
#include "config.h"
#include "dump.h"
#include "log.h"
#include "profiles.h"
#include "thread.h"
#include "threads.h"

static char ct_report_lib[4096];
static pid_t (*ct_fork_fn)(void);
static char ct_dir[4096];
static int ct_final_done;

void
ct_dump_configure(const char *report_lib, pid_t (*fork_fn)(void))
{
	size_t n = strlen(report_lib);
	if (n < sizeof(ct_report_lib))
		memcpy(ct_report_lib, report_lib, n + 1);
	ct_fork_fn = fork_fn;
}

void
ct_dump_set_dir(void)
{
	char rel[4096];
	if (ct_config_expand_out(ct_cfg.out, (int)getpid(), rel, sizeof(rel)) < 0 &&
	    ct_config_expand_out("contend.%p", (int)getpid(), rel, sizeof(rel)) < 0)
		return;
	/* Absolute now, so a daemon's later chdir("/") does not move it. */
	if (rel[0] != '/' && getcwd(ct_dir, sizeof(ct_dir) - 2)) {
		size_t n = strlen(ct_dir);
		if (n + 1 + strlen(rel) < sizeof(ct_dir)) {
			if (n == 0 || ct_dir[n - 1] != '/')
				ct_dir[n++] = '/';
			strcpy(ct_dir + n, rel);
			return;
		}
	}
	strcpy(ct_dir, rel);
}

const char *
ct_dump_dir(void)
{
	return ct_dir;
}

static ct_report_write_fn
ct_report_fn(void)
{
	static ct_report_write_fn fn;
	static int tried;
	if (fn || tried)
		return fn;
	tried = 1;
	void *h = dlopen(ct_report_lib, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		ct_log("cannot load the report library %s (%s); no profiles written", ct_report_lib,
		       e ? e : "unknown error");
		return NULL;
	}
	fn = (ct_report_write_fn)dlsym(h, "ct_report_write");
	if (!fn)
		ct_log("%s has no ct_report_write; no profiles written", ct_report_lib);
	return fn;
}

int
ct_dump_write(const char *suffix)
{
	bool threads = ct_threads_worth_dumping();
	if (!ct_profiles_have_data() && !threads)
		return 0;
	int err = 0;
	ct_self.busy++;
	struct ct_snapshot snap;
	ct_report_write_fn fn = ct_report_fn();
	if (!fn) {
		err = -ENOENT;
		goto out;
	}
	err = ct_profiles_snapshot(&snap);
	if (err == 0 && threads)
		err = ct_threads_snapshot(&snap, (int64_t)ct_cfg.stuck_ns);
	if (err < 0) {
		ct_log("out of memory taking the profile snapshot; no profiles written");
		goto out;
	}
	char msg[512] = "";
	/* Final dumps also say on stderr what is stuck, leaked or deadlocked. */
	struct ct_report_opts o = {.dir = ct_dir, .suffix = suffix, .errbuf = msg,
				   .errlen = sizeof(msg), .summary = !suffix[0] && !ct_cfg.quiet};
	err = fn(&snap, &o);
	ct_snapshot_free(&snap);
	if (err < 0)
		ct_log("%s", msg[0] ? msg : "writing the profiles failed");
	else if (!ct_cfg.quiet)
		ct_log("wrote mutex%s.pb.gz and block%s.pb.gz%s to %s/ (pid %d)", suffix, suffix,
		       threads ? ", threads.txt" : "", ct_dir, (int)getpid());
out:
	ct_self.busy--;
	return err;
}

void
ct_dump_at_exit(void)
{
	if (__atomic_exchange_n(&ct_final_done, 1, __ATOMIC_ACQ_REL))
		return;
	ct_dump_write("");
}

static void
ct_dump_from_signal_(int timeout_ms)
{
	if (__atomic_exchange_n(&ct_final_done, 1, __ATOMIC_ACQ_REL))
		return;
	if (!ct_profiles_have_data() || !ct_fork_fn)
		return;
	pid_t child = ct_fork_fn();
	if (child == 0) {
		/* Only this thread exists here; locks other threads held at
		 * the fork stay held, which the bounded table copy tolerates
		 * and the parent's time-out covers. */
		ct_self.busy++;
		ct_dump_write("");
		_exit(0);
	}
	if (child < 0)
		return;
	struct timespec tick = {0, 5 * 1000 * 1000};
	for (int waited = 0; waited < timeout_ms; waited += 5) {
		int st;
		pid_t r = waitpid(child, &st, WNOHANG | __WALL);
		if (r == child || (r < 0 && errno != EINTR))
			return;
		nanosleep(&tick, NULL);
	}
	ct_log("writing the profiles took longer than %d ms; given up", timeout_ms);
	kill(child, SIGKILL);
	waitpid(child, NULL, __WALL);
}

void
ct_dump_from_signal(int timeout_ms)
{
	int saved = errno;
	ct_dump_from_signal_(timeout_ms);
	errno = saved;
}

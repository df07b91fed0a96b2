/* contend: launch a program under libcontend and read the profiles it
 * writes, without Go. Subcommands: run, top, list, traces, peek, threads,
 * flame. Exit status: 0 done, 1 bad input or failure, 2 bad usage; `run`
 * exits like the program it ran. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "livedump.h"
#include "../report/pprof_read.h"

#ifndef CT_CLI_VERSION
#define CT_CLI_VERSION "unknown"
#endif

struct cmd {
	const char *name;
	int (*main)(int argc, char **argv); /* NULL: a pprof view (run_view) */
	const char *usage;                  /* first line: synopsis */
	int npos; /* a view's positional arguments: FILE, or REGEX FILE */
};

static int cmd_flame(int argc, char **argv);
static int cmd_threads(int argc, char **argv);
static int cmd_run(int argc, char **argv);

static const struct cmd cmds[] = {
	{"run", cmd_run,
	 "contend run [--out DIR] [--mutex-fraction N] [--block-rate NS] [--no-io] [--http ADDR]\n"
	 "            [--quiet] [--] PROGRAM [ARGS...]\n"
	 "\n"
	 "Runs PROGRAM with libcontend preloaded (prepended to LD_PRELOAD) and the\n"
	 "CONTEND_* variables set from the options. Its stdin, stdout, stderr and\n"
	 "exit status are its own: contend exits with the program's status, or dies\n"
	 "of the same signal. Ctrl-C reaches the program (contend ignores SIGINT and\n"
	 "SIGQUIT while it runs); SIGTERM and SIGHUP sent to contend are forwarded.\n"
	 "When the program ends, a summary goes to stderr: the top lock holders\n"
	 "(mutex.pb.gz), the top waiting sites (block.pb.gz), stuck threads and\n"
	 "deadlocks when a thread dump exists, and the files written.\n"
	 "\n"
	 "  --out DIR             write the profiles to DIR (default contend.<pid>)\n"
	 "  --mutex-fraction N    record 1 in N contended unlocks (CONTEND_MUTEX_FRACTION)\n"
	 "  --block-rate NS       one block sample per NS ns blocked (CONTEND_BLOCK_RATE)\n"
	 "  --no-io               do not profile blocking I/O and sleeps (CONTEND_IO=0)\n"
	 "  --http ADDR           serve /debug/pprof/ on host:port (CONTEND_HTTP)\n"
	 "  --quiet               no summary (libcontend's own \"wrote ...\" lines are off\n"
	 "                        in any case unless CONTEND_QUIET is set)\n"
	 "\n"
	 "The library is found next to contend (build tree), in ../<libdir>/ or in the\n"
	 "installed libdir; CONTEND_LIB=/path/to/libcontend.so overrides.\n",
	 0},
	{"top", NULL,
	 "contend top [-n N] [--cum] [--sample contentions|delay] FILE\n"
	 "\n"
	 "The functions with the most samples, as `go tool pprof -top FILE` prints\n"
	 "them: flat, flat%, sum%, cum, cum%, by function, inline frames counted as\n"
	 "their own functions, nodes under 0.5% of the total dropped.\n"
	 "\n"
	 "  -n, --nodecount N     show the first N functions only (0 = all)\n"
	 "  --cum                 sort by cumulative value (default: flat)\n"
	 "  --sample TYPE         the sample value shown (default: the profile's\n"
	 "                        default, delay for mutex and block profiles)\n",
	 1},
	{"list", NULL,
	 "contend list [--sample TYPE] REGEX FILE\n"
	 "\n"
	 "The source of every function whose name matches REGEX (a POSIX extended\n"
	 "regular expression), each line with its flat and cum values, like\n"
	 "`go tool pprof -list REGEX FILE`. Source files are read from the paths in\n"
	 "the profile (relative ones from the current directory upwards).\n",
	 2},
	{"traces", NULL,
	 "contend traces [--sample TYPE] FILE\n"
	 "\n"
	 "Every sample: its labels, value and stack, like `go tool pprof -traces`.\n",
	 1},
	{"peek", NULL,
	 "contend peek [--sample TYPE] REGEX FILE\n"
	 "\n"
	 "Callers and callees of the functions matching REGEX, with the share of\n"
	 "each, like `go tool pprof -peek REGEX FILE`.\n",
	 2},
	{"threads", cmd_threads,
	 "contend threads DIR|FILE\n"
	 "contend threads --pid PID [--signal SIG] [--dir DIR] [--timeout SECONDS]\n"
	 "\n"
	 "The thread dump written by libcontend (the most recent in DIR: threads.pb.gz,\n"
	 "threads.txt, threads.pid<PID>.txt, threads.0001.txt ...; or that FILE),\n"
	 "grouped by stack: deadlocks and stuck threads first, then the largest\n"
	 "groups. Exits 1 if there is no dump.\n"
	 "\n"
	 "With --pid, asks the running process PID (any process of a forking server\n"
	 "run with LD_PRELOAD=libcontend.so and CONTEND_DUMP_SIGNAL) for a dump now:\n"
	 "sends its CONTEND_DUMP_SIGNAL (or SIG), waits for the new snapshot in its\n"
	 "output directory (its CONTEND_OUT, or DIR) at most SECONDS (default 30), and\n"
	 "prints it.\n",
	 0},
	{"locks", ct_cli_locks_main,
	 "contend locks [--json] DIR|FILE|http://HOST:PORT\n"
	 "\n"
	 "One row per lock, sorted by total wait: its name (the symbol of a static\n"
	 "lock, else where it was created, e.g. make_account (bank.c:40)), kind,\n"
	 "contentions, total, average, p50, p99 and max wait, hold total and max for\n"
	 "holds that began after a wait, then the top holder sites (the unlocks that\n"
	 "made others wait) and waiter sites. Reads DIR/locks.pb.gz, FILE, or a live\n"
	 "process's /debug/pprof/locks (CONTEND_HTTP). Percentiles come from a\n"
	 "log-scale histogram (4 buckets per power of two); each row says how many\n"
	 "recorded events it rests on.\n"
	 "\n"
	 "  --json                one JSON object per lock and line: lock, kind,\n"
	 "                        contentions, wait_ns, avg_ns, p50_ns, p99_ns, max_ns,\n"
	 "                        events, hold_* when known, waiters, holders\n",
	 0},
	{"flame", cmd_flame,
	 "contend flame [--sample TYPE] [--title TEXT] FILE -o OUT.svg|OUT.html\n"
	 "\n"
	 "A flame graph of FILE: each box a function, as wide as its share of the\n"
	 "samples (delay by default), callers below callees, colours stable by\n"
	 "name. OUT.svg is a self-contained SVG with a tooltip per box; OUT.html\n"
	 "adds click-to-zoom and search. No network access.\n",
	 0},
};

static const struct cmd *
find_cmd(const char *name)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

static void
usage_all(FILE *out)
{
	fprintf(out, "usage: contend COMMAND [OPTIONS] ...\n\n"
		     "Lock-contention profiles of pthreads programs, without Go.\n\n"
		     "commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *nl = strchr(cmds[i].usage, '\n');
		fprintf(out, "  %.*s\n", (int)(nl - cmds[i].usage), cmds[i].usage);
	}
	fprintf(out, "\n`contend COMMAND --help` describes each command.\n");
}

void
ct_main_usage(const char *cmd, FILE *out)
{
	const struct cmd *c = find_cmd(cmd);
	if (c)
		fprintf(out, "usage: %s", c->usage);
}

/* ------------------------------------------------------------------ */
/* The profile views: parse, load, render into memory, print. */

enum { OPT_CUM = 256, OPT_SAMPLE, OPT_TITLE, OPT_HELP };

struct view_args {
	const char *cmd;
	int npos;            /* positional arguments wanted */
	char *pos[2];
	const char *sample;
	uint64_t node_count;
	bool cum;
	const char *out;     /* flame -o */
	const char *title;
};

/* Returns -1 to go on, or an exit status. */
static int
parse_view_args(int argc, char **argv, struct view_args *a)
{
	static const struct option top_opts[] = {
		{"nodecount", required_argument, NULL, 'n'},
		{"cum", no_argument, NULL, OPT_CUM},
		{"sample", required_argument, NULL, OPT_SAMPLE},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	static const struct option flame_opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"sample", required_argument, NULL, OPT_SAMPLE},
		{"title", required_argument, NULL, OPT_TITLE},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	static const struct option other_opts[] = {
		{"sample", required_argument, NULL, OPT_SAMPLE},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	bool top = !strcmp(a->cmd, "top"), flame = !strcmp(a->cmd, "flame");
	const struct option *opts = top ? top_opts : flame ? flame_opts : other_opts;
	const char *shortopts = top ? ":n:h" : flame ? ":o:h" : ":h";
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (ct_cli_parse_count(optarg, 1000000000, &a->node_count) < 0)
				return ct_cli_bad_usage(a->cmd, "invalid -n '%s' (expected a number of "
								"functions, 0 = all)", optarg);
			break;
		case OPT_CUM:
			a->cum = true;
			break;
		case OPT_SAMPLE:
			a->sample = optarg;
			break;
		case 'o':
			a->out = optarg;
			break;
		case OPT_TITLE:
			a->title = optarg;
			break;
		case 'h':
		case OPT_HELP:
			ct_main_usage(a->cmd, stdout);
			return 0;
		case ':':
			return ct_cli_bad_usage(a->cmd, "option '%s' needs a value", argv[optind - 1]);
		default:
			return ct_cli_bad_usage(a->cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	int n = argc - optind;
	if (n != a->npos) {
		if (n < a->npos)
			return ct_cli_bad_usage(a->cmd, "missing %s",
						a->npos == 2 && n == 0 ? "REGEX and FILE" : "FILE");
		return ct_cli_bad_usage(a->cmd, "unexpected argument '%s'", argv[optind + a->npos]);
	}
	for (int i = 0; i < n; i++)
		a->pos[i] = argv[optind + i];
	return -1;
}

static int
compile_regex(const char *cmd, const char *src, regex_t *rx)
{
	int r = regcomp(rx, src, REG_EXTENDED | REG_NOSUB);
	if (r != 0) {
		char msg[256];
		regerror(r, rx, msg, sizeof(msg));
		fprintf(stderr, "contend %s: invalid regular expression '%s': %s\n", cmd, src, msg);
		return 1;
	}
	return 0;
}

static int
run_view(int argc, char **argv, const char *cmd, int npos)
{
	struct view_args a = {.cmd = cmd, .npos = npos};
	struct ct_profile *p = NULL;
	regex_t rx;
	bool have_rx = false;
	char *buf = NULL, err[512] = "";
	size_t len = 0, vidx;
	FILE *m = NULL;
	int ret = parse_view_args(argc, argv, &a);

	if (ret >= 0)
		return ret;
	const char *file = a.pos[npos - 1];
	if (npos == 2) {
		if ((ret = compile_regex(cmd, a.pos[0], &rx)) != 0)
			return ret;
		have_rx = true;
	}
	if ((ret = ct_cli_load(file, &p)) != 0)
		goto out;
	if (ct_profile_sample_index(p, a.sample, &vidx, err, sizeof(err)) < 0) {
		ret = ct_cli_error("%s: %s", file, err);
		goto out;
	}
	if (!(m = open_memstream(&buf, &len))) {
		ret = ct_cli_error("out of memory");
		goto out;
	}
	int r;
	if (!strcmp(cmd, "top"))
		r = ct_top_print(m, p, vidx, a.node_count, a.cum, err, sizeof(err));
	else if (!strcmp(cmd, "list"))
		r = ct_list_print(m, p, vidx, &rx, a.pos[0], err, sizeof(err));
	else if (!strcmp(cmd, "peek"))
		r = ct_peek_print(m, p, vidx, &rx, a.pos[0], err, sizeof(err));
	else
		r = ct_traces_print(m, p, vidx, err, sizeof(err));
	fclose(m);
	m = NULL;
	if (r < 0) {
		ret = ct_cli_error("%s: %s", file, err);
		goto out;
	}
	if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
		ret = ct_cli_error("cannot write the output: %s", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (m)
		fclose(m);
	free(buf);
	if (have_rx)
		regfree(&rx);
	ct_profile_free(p);
	return ret;
}

static int
cmd_flame(int argc, char **argv)
{
	struct view_args a = {.cmd = "flame", .npos = 1};
	struct ct_profile *p = NULL;
	char err[512] = "", tmp[4096] = "";
	size_t vidx;
	FILE *f = NULL;
	int ret = parse_view_args(argc, argv, &a);

	if (ret >= 0)
		return ret;
	if (!a.out)
		return ct_cli_bad_usage("flame", "missing -o OUT.svg or -o OUT.html");
	size_t ol = strlen(a.out);
	bool html = ol > 5 && !strcmp(a.out + ol - 5, ".html");
	bool svg = ol > 4 && !strcmp(a.out + ol - 4, ".svg");
	if (!html && !svg)
		return ct_cli_bad_usage("flame", "output '%s' must end in .svg or .html", a.out);
	if ((ret = ct_cli_load(a.pos[0], &p)) != 0)
		goto out;
	if (ct_profile_sample_index(p, a.sample, &vidx, err, sizeof(err)) < 0) {
		ret = ct_cli_error("%s: %s", a.pos[0], err);
		goto out;
	}
	/* Written next to the target and renamed: never a half-written file.
	 * The temporary is a new file under an unpredictable name (mkstemp:
	 * O_EXCL), so a link planted in a shared directory is never followed;
	 * then it gets the mode a plain creat() would have given. */
	snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", a.out);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		tmp[0] = '\0'; /* nothing of ours to remove */
		ret = ct_cli_error("cannot create %s: %s", a.out, strerror(errno));
		goto out;
	}
	mode_t mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) != 0 || !(f = fdopen(fd, "w"))) {
		close(fd);
		ret = ct_cli_error("cannot create %s: %s", a.out, strerror(errno));
		goto out;
	}
	char title[4096];
	if (!a.title) {
		snprintf(title, sizeof(title), "%s", a.pos[0]);
		a.title = title;
	}
	if (ct_flame_write(f, p, vidx, html, a.title, err, sizeof(err)) < 0) {
		ret = ct_cli_error("%s: %s", a.pos[0], err);
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		ret = ct_cli_error("cannot write %s: %s", a.out, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(tmp, a.out) != 0) {
		ret = ct_cli_error("cannot create %s: %s", a.out, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (f)
		fclose(f);
	if (ret != 0 && tmp[0])
		unlink(tmp);
	ct_profile_free(p);
	return ret;
}

static int
cmd_threads(int argc, char **argv)
{
	enum { OPT_PID = 1000, OPT_SIGNAL, OPT_DIR, OPT_TIMEOUT };
	static const struct option opts[] = {
		{"help", no_argument, NULL, OPT_HELP},
		{"pid", required_argument, NULL, OPT_PID},
		{"signal", required_argument, NULL, OPT_SIGNAL},
		{"dir", required_argument, NULL, OPT_DIR},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{NULL, 0, NULL, 0},
	};
	struct ct_livedump_opts lo = {.timeout_s = 30};
	bool live = false, live_only = false;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		uint64_t v;
		switch (c) {
		case 'h':
		case OPT_HELP:
			ct_main_usage("threads", stdout);
			return 0;
		case OPT_PID:
			if (ct_cli_parse_count(optarg, INT_MAX, &v) < 0 || v == 0)
				return ct_cli_bad_usage("threads", "invalid --pid '%s' (expected a "
						       "process id)", optarg);
			lo.pid = (pid_t)v;
			live = true;
			break;
		case OPT_SIGNAL:
			lo.signal = optarg;
			live_only = true;
			break;
		case OPT_DIR:
			lo.dir = optarg;
			live_only = true;
			break;
		case OPT_TIMEOUT:
			if (ct_cli_parse_count(optarg, 86400, &v) < 0 || v == 0)
				return ct_cli_bad_usage("threads", "invalid --timeout '%s' (expected "
						       "whole seconds, 1 to 86400)", optarg);
			lo.timeout_s = (double)v;
			live_only = true;
			break;
		case ':':
			return ct_cli_bad_usage("threads", "option '%s' needs a value",
						argv[optind - 1]);
		default:
			return ct_cli_bad_usage("threads", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (live) {
		if (argc - optind > 0)
			return ct_cli_bad_usage("threads", "unexpected argument '%s' with --pid",
						argv[optind]);
		return ct_livedump_main(&lo);
	}
	if (live_only)
		return ct_cli_bad_usage("threads", "--signal, --dir and --timeout go with --pid");
	if (argc - optind == 0)
		return ct_cli_bad_usage("threads", "missing DIR or FILE");
	if (argc - optind > 1)
		return ct_cli_bad_usage("threads", "unexpected argument '%s'", argv[optind + 1]);
	return ct_threadview_main(argv[optind]);
}

static int
cmd_run(int argc, char **argv)
{
	return ct_run_main(argc, argv);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage_all(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		if (argc > 2 && find_cmd(argv[2])) {
			ct_main_usage(argv[2], stdout);
			return 0;
		}
		usage_all(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("contend %s\n", CT_CLI_VERSION);
		return 0;
	}
	const struct cmd *c = find_cmd(argv[1]);
	if (!c) {
		fprintf(stderr, "contend: unknown command '%s' (expected run, top, list, traces, peek, "
				"threads or flame; see contend --help)\n",
			argv[1]);
		return 2;
	}
	if (!c->main)
		return run_view(argc - 1, argv + 1, c->name, c->npos);
	return c->main(argc - 1, argv + 1);
}

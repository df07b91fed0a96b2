/* The CONTEND_* table and its strict parser (see config.h). Owns ct_cfg.
 * Never allocates: it runs in the constructor of every preloaded process. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "compiler.h"
#include "config.h"
#include "log.h"

/* The one list of options: ct_cfg's initial values and ct_opts[] are both
 * expanded from it, so a default is written once.
 * X(field, variable, type, numeric default, min, max, string default, help).
 * A field starts at the numeric default, or for STRING and ADDR at the
 * string default; the string default of a numeric option is how
 * CONTEND_HELP and the rejection message spell it (NULL: as the number). */
#define CT_DAY_NS (365ULL * 86400 * 1000000000ULL)
#define CT_OPTIONS(X)                                                                                   \
	X(mutex_fraction, "CONTEND_MUTEX_FRACTION", UINT, CT_DEFAULT_MUTEX_FRACTION, 0, 1000000000, NULL, \
	  "record 1 in N contended unlocks in the mutex profile (like runtime.SetMutexProfileFraction); 0 = off") \
	X(block_rate, "CONTEND_BLOCK_RATE", UINT, CT_DEFAULT_BLOCK_RATE, 0, 1000000000000ULL, NULL,         \
	  "one block sample per N ns blocked (like runtime.SetBlockProfileRate); 1 = every wait, 0 = off")  \
	X(out, "CONTEND_OUT", STRING, 0, 0, 0, "contend.%p",                                             \
	  "output directory, created if missing; %p = pid, %h = hostname, %% = %")                       \
	X(quiet, "CONTEND_QUIET", AUTOBOOL, -1, 0, 1, "auto",                                          \
	  "notices on stderr (where the profiles went, stuck and leaked threads): 1 = never, "          \
	  "0 = always, auto = only when stderr is a terminal (errors are always said)")                  \
	X(table_size, "CONTEND_TABLE_SIZE", UINT, CT_DEFAULT_TABLE_SIZE, 64, 1048576, NULL,               \
	  "distinct stacks kept per profile (about 1 KiB each); overflow is folded into one sample")      \
	X(objects, "CONTEND_OBJECTS", UINT, CT_DEFAULT_OBJECTS, 64, 1048576, NULL,                         \
	  "locks tracked while contended at the same moment (to charge holders)")                         \
	X(stack_depth, "CONTEND_STACK_DEPTH", UINT, CT_DEFAULT_STACK_DEPTH, 1, 128, NULL,                 \
	  "deepest stack recorded, in frames")                                                            \
	X(io, "CONTEND_IO", BOOL, 1, 0, 1, NULL,                                                         \
	  "0 = do not wrap blocking I/O and sleeps (lock profiling unchanged)")                           \
	X(stuck_ns, "CONTEND_STUCK", DURATION, CT_DEFAULT_STUCK_NS, 1000000, CT_DAY_NS, "5s",             \
	  "a wait longer than this is reported as stuck, unless idle; a re-armed wait counts from "    \
	  "its first (units ms, s, m, h; a bare number is seconds)")                                   \
	X(interval_ns, "CONTEND_INTERVAL", DURATION, 0, 0, CT_DAY_NS, "0",                                \
	  "write numbered snapshots of every profile this often (e.g. 60s); 0 = off")                     \
	X(dump_signal, "CONTEND_DUMP_SIGNAL", SIGNAL, 0, 0, 64, "none",                                  \
	  "signal (e.g. SIGUSR2) that writes every profile without stopping the program")                 \
	X(http, "CONTEND_HTTP", ADDR, 0, 0, 0, "",                                                       \
	  "serve /debug/pprof/ on host:port (:0 = a free loopback port); empty = off")                    \
	X(help, "CONTEND_HELP", BOOL, 0, 0, 1, NULL, "1 = print this table on stderr at start")

/* A field's initial value by its option's type. */
#define CT_INIT_UINT(def, sdef) def
#define CT_INIT_BOOL(def, sdef) def
#define CT_INIT_AUTOBOOL(def, sdef) def
#define CT_INIT_DURATION(def, sdef) def
#define CT_INIT_SIGNAL(def, sdef) def
#define CT_INIT_STRING(def, sdef) sdef
#define CT_INIT_ADDR(def, sdef) sdef

struct ct_config ct_cfg = {
#define CT_CFG_INIT(field, var, type, def, min, max, sdef, help) .field = CT_INIT_##type(def, sdef),
	CT_OPTIONS(CT_CFG_INIT)
#undef CT_CFG_INIT
};

const struct ct_opt ct_opts[] = {
#define CT_OPT_ROW(field, var, type, def, min, max, sdef, help) \
	{var, CT_OPT_##type, offsetof(struct ct_config, field), def, min, max, sdef, help},
	CT_OPTIONS(CT_OPT_ROW)
#undef CT_OPT_ROW
};
const size_t ct_nopts = CT_ARRAY_SIZE(ct_opts);

int
ct_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int
ct_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < CT_ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int
ct_parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		uint64_t mult;
	} units[] = {{"ns", 1},          {"us", 1000},         {"ms", 1000000},
		     {"s", 1000000000ULL}, {"m", 60000000000ULL}, {"h", 3600000000000ULL},
		     {"", 1000000000ULL}};
	if (!s || !*s)
		return -EINVAL;
	size_t digits = strspn(s, "0123456789");
	if (digits == 0 || digits > 19)
		return digits ? -ERANGE : -EINVAL;
	char num[20];
	memcpy(num, s, digits);
	num[digits] = 0;
	uint64_t v;
	int err = ct_parse_uint(num, 0, UINT64_MAX, &v);
	if (err < 0)
		return err;
	for (size_t i = 0; i < CT_ARRAY_SIZE(units); i++) {
		if (strcmp(s + digits, units[i].unit) != 0)
			continue;
		if (v > UINT64_MAX / units[i].mult)
			return -ERANGE;
		*ns = v * units[i].mult;
		return 0;
	}
	return -EINVAL;
}

/* RTMIN+n and RTMAX-n (n may be absent), as kill(1) and systemd write
 * the real-time signals, which sigabbrev_np does not name. */
static int
ct_parse_rt_signal(const char *name, uint64_t *sig)
{
	bool max = !strncasecmp(name, "RTMAX", 5);
	if (!max && strncasecmp(name, "RTMIN", 5))
		return -EINVAL;
	uint64_t n = 0;
	if (name[5] && (name[5] != (max ? '-' : '+') ||
			ct_parse_uint(name + 6, 0, (uint64_t)(SIGRTMAX - SIGRTMIN), &n) < 0))
		return -EINVAL;
	*sig = max ? (uint64_t)SIGRTMAX - n : (uint64_t)SIGRTMIN + n;
	return 0;
}

int
ct_parse_signal(const char *s, uint64_t *sig)
{
	/* Signals that already mean something to the program or to us. */
	static const int refused[] = {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL,
				      SIGABRT, SIGINT, SIGTERM, SIGCHLD, SIGPIPE};
	uint64_t v = 0;
	if (!s || !*s)
		return -EINVAL;
	if (!strcasecmp(s, "none") || !strcmp(s, "0")) {
		*sig = 0;
		return 0;
	}
	if (ct_parse_uint(s, 1, 64, &v) < 0) {
		const char *name = !strncasecmp(s, "SIG", 3) ? s + 3 : s;
		for (int i = 1; i < NSIG && !v; i++) {
			const char *abbrev = sigabbrev_np(i);
			if (abbrev && !strcasecmp(abbrev, name))
				v = (uint64_t)i;
		}
		if (!v && ct_parse_rt_signal(name, &v) < 0)
			return -EINVAL;
	}
	for (size_t i = 0; i < CT_ARRAY_SIZE(refused); i++)
		if ((int)v == refused[i])
			return -ERANGE;
	/* Below SIGRTMIN: glibc's own (cancellation, set*id across threads). */
	if ((int)v > 31 && (int)v < SIGRTMIN)
		return -ERANGE;
	*sig = v;
	return 0;
}

int
ct_parse_addr(const char *s)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	if (!colon)
		return -EINVAL;
	uint64_t port;
	if (ct_parse_uint(colon + 1, 0, 65535, &port) < 0)
		return -EINVAL;
	size_t hl = (size_t)(colon - s);
	char host[128];
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	unsigned char buf[16];
	if (hl == 0 || !strcmp(host, "localhost") || inet_pton(AF_INET, host, buf) == 1)
		return 0;
	if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, buf) == 1)
			return 0;
	}
	return -EINVAL;
}

/* What each type accepts, as the warning about an invalid value says
 * it (CT_OPT_UINT's says its range). */
static const char *const ct_opt_expected[] = {
	[CT_OPT_BOOL] = "0/1, true/false, yes/no, on/off",
	[CT_OPT_AUTOBOOL] = "0/1, true/false, yes/no, on/off or auto",
	[CT_OPT_STRING] = "a non-empty path under 4096 bytes; %p, %h and %% are the only % "
			  "sequences",
	[CT_OPT_DURATION] = "a duration such as 500ms, 60s, 2m; a bare number is seconds",
	[CT_OPT_SIGNAL] = "a signal name such as SIGUSR2 or SIGRTMIN+3, or a number 1..64, not "
			  "one the program, glibc or libcontend already uses",
	[CT_OPT_ADDR] = "host:port, e.g. 127.0.0.1:6060 or :0; host an IPv4 or [IPv6] literal or "
			"localhost",
};

/* The value of option o of type UINT, DURATION or SIGNAL: 0, or -1 if
 * val is not one. */
static int
ct_opt_parse_u64(const struct ct_opt *o, const char *val, uint64_t *v)
{
	switch (o->type) {
	case CT_OPT_UINT:
		return ct_parse_uint(val, o->min, o->max, v) < 0 ? -1 : 0;
	case CT_OPT_DURATION:
		return ct_parse_duration(val, v) < 0 || *v < o->min || *v > o->max ? -1 : 0;
	default:
		return ct_parse_signal(val, v) < 0 ? -1 : 0;
	}
}

/* val into slot, the field of option o; -1 (slot untouched) if invalid. */
static int
ct_opt_parse(const struct ct_opt *o, const char *val, void *slot)
{
	uint64_t v;
	bool b;
	size_t n = strlen(val);
	switch (o->type) {
	case CT_OPT_UINT:
	case CT_OPT_DURATION:
	case CT_OPT_SIGNAL:
		if (ct_opt_parse_u64(o, val, &v) < 0)
			return -1;
		*(uint64_t *)slot = v;
		return 0;
	case CT_OPT_BOOL:
		if (ct_parse_bool(val, &b) < 0)
			return -1;
		*(bool *)slot = b;
		return 0;
	case CT_OPT_AUTOBOOL:
		if (!strcasecmp(val, "auto")) {
			*(int *)slot = -1;
			return 0;
		}
		if (ct_parse_bool(val, &b) < 0)
			return -1;
		*(int *)slot = b;
		return 0;
	case CT_OPT_ADDR:
		if (n > 0 && (n >= sizeof(ct_cfg.http) || ct_parse_addr(val) < 0))
			return -1;
		memcpy(slot, val, n + 1);
		return 0;
	case CT_OPT_STRING: {
		char probe[4096];
		if (n == 0 || n >= sizeof(ct_cfg.out) ||
		    ct_config_expand_out(val, 1, probe, sizeof(probe)) < 0)
			return -1;
		memcpy(slot, val, n + 1);
		return 0;
	}
	}
	return -1;
}

/* The one-line warning about an invalid value of o: what it accepts, and
 * what is used instead. */
static void
ct_opt_warn(const struct ct_opt *o, const char *val)
{
	if (o->type == CT_OPT_UINT)
		ct_log("invalid %s='%s' (expected an integer %lu..%lu); using %lu", o->name, val,
		       (unsigned long)o->min, (unsigned long)o->max, (unsigned long)o->def);
	else if (o->type == CT_OPT_BOOL)
		ct_log("invalid %s='%s' (expected %s); using %lu", o->name, val,
		       ct_opt_expected[o->type], (unsigned long)o->def);
	else if (o->type == CT_OPT_ADDR)
		ct_log("invalid %s='%s' (expected %s); HTTP server off", o->name, val,
		       ct_opt_expected[o->type]);
	else
		ct_log("invalid %s='%s' (expected %s); using %s", o->name, val,
		       ct_opt_expected[o->type], o->sdef);
}

static int
ct_opt_set(const struct ct_opt *o, const char *val)
{
	if (ct_opt_parse(o, val, (char *)&ct_cfg + o->off) == 0)
		return 0;
	ct_opt_warn(o, val);
	return -1;
}

int
ct_config_load(char *(*getenv_fn)(const char *))
{
	int bad = 0;
	for (size_t i = 0; i < ct_nopts; i++) {
		const char *val = getenv_fn(ct_opts[i].name);
		/* An empty value is how environments unset a variable
		 * (`VAR= prog`, systemd's Environment=VAR=, docker -e VAR=):
		 * the default, silently, as if it were absent. */
		if (val && *val && ct_opt_set(&ct_opts[i], val) < 0)
			bad++;
	}
	return bad;
}

static int
ct_append(char *buf, size_t len, size_t *pos, const char *s, size_t n)
{
	if (*pos + n >= len)
		return -ENAMETOOLONG;
	memcpy(buf + *pos, s, n);
	*pos += n;
	return 0;
}

int
ct_config_expand_out(const char *tmpl, int pid, char *buf, size_t len)
{
	size_t pos = 0;
	int err;
	for (const char *p = tmpl; *p; p++) {
		if (*p != '%') {
			err = ct_append(buf, len, &pos, p, 1);
		} else if (p[1] == 'p') {
			char num[24];
			int n = 0;
			char tmp[24];
			unsigned v = (unsigned)pid;
			do {
				tmp[n++] = (char)('0' + v % 10);
				v /= 10;
			} while (v);
			for (int i = 0; i < n; i++)
				num[i] = tmp[n - 1 - i];
			err = ct_append(buf, len, &pos, num, (size_t)n);
			p++;
		} else if (p[1] == 'h') {
			char host[256];
			if (gethostname(host, sizeof(host)) < 0)
				strcpy(host, "localhost");
			host[sizeof(host) - 1] = 0;
			err = ct_append(buf, len, &pos, host, strlen(host));
			p++;
		} else if (p[1] == '%') {
			err = ct_append(buf, len, &pos, "%", 1);
			p++;
		} else {
			return -EINVAL;
		}
		if (err < 0)
			return err;
	}
	if (pos >= len)
		return -ENAMETOOLONG;
	buf[pos] = 0;
	return 0;
}

void
ct_config_print_help(void)
{
	ct_log("configuration (environment variables):");
	for (size_t i = 0; i < ct_nopts; i++) {
		const struct ct_opt *o = &ct_opts[i];
		if (o->sdef)
			ct_log("  %-24s default %-10s %s", o->name, o->sdef, o->help);
		else
			ct_log("  %-24s default %-10lu %s", o->name, (unsigned long)o->def, o->help);
	}
}

bool
ct_notices_off(void)
{
	if (ct_cfg.quiet >= 0)
		return ct_cfg.quiet != 0;
	int saved = errno;
	bool tty = isatty(STDERR_FILENO);
	errno = saved;
	return !tty;
}

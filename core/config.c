/* The CONTEND_* table and its strict parser (see config.h). Owns ct_cfg.
 * Never allocates: it runs in the constructor of every preloaded process. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "compiler.h"
#include "config.h"
#include "log.h"

struct ct_config ct_cfg = {
	.mutex_fraction = CT_DEFAULT_MUTEX_FRACTION,
	.block_rate = CT_DEFAULT_BLOCK_RATE,
	.table_size = CT_DEFAULT_TABLE_SIZE,
	.objects = CT_DEFAULT_OBJECTS,
	.stack_depth = CT_DEFAULT_STACK_DEPTH,
	.out = "contend.%p",
};

#define CT_OFF(field) offsetof(struct ct_config, field)

const struct ct_opt ct_opts[] = {
	{"CONTEND_MUTEX_FRACTION", CT_OPT_UINT, CT_OFF(mutex_fraction), CT_DEFAULT_MUTEX_FRACTION, 0, 1000000000, NULL,
	 "record 1 in N contended unlocks in the mutex profile (like runtime.SetMutexProfileFraction); 0 = off"},
	{"CONTEND_BLOCK_RATE", CT_OPT_UINT, CT_OFF(block_rate), CT_DEFAULT_BLOCK_RATE, 0, 1000000000000ULL, NULL,
	 "one block sample per N ns blocked (like runtime.SetBlockProfileRate); 1 = every wait, 0 = off"},
	{"CONTEND_OUT", CT_OPT_STRING, CT_OFF(out), 0, 0, 0, "contend.%p",
	 "output directory, created if missing; %p = pid, %h = hostname, %% = %"},
	{"CONTEND_QUIET", CT_OPT_BOOL, CT_OFF(quiet), 0, 0, 1, NULL,
	 "1 = do not print where the profiles went"},
	{"CONTEND_TABLE_SIZE", CT_OPT_UINT, CT_OFF(table_size), CT_DEFAULT_TABLE_SIZE, 64, 1048576, NULL,
	 "distinct stacks kept per profile (about 1 KiB each); overflow is folded into one sample"},
	{"CONTEND_OBJECTS", CT_OPT_UINT, CT_OFF(objects), CT_DEFAULT_OBJECTS, 64, 1048576, NULL,
	 "locks tracked while contended at the same moment (to charge holders)"},
	{"CONTEND_STACK_DEPTH", CT_OPT_UINT, CT_OFF(stack_depth), CT_DEFAULT_STACK_DEPTH, 1, 128, NULL,
	 "deepest stack recorded, in frames"},
	{"CONTEND_HELP", CT_OPT_BOOL, CT_OFF(help), 0, 0, 1, NULL,
	 "1 = print this table on stderr at start"},
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

static int
ct_opt_set(const struct ct_opt *o, const char *val)
{
	void *slot = (char *)&ct_cfg + o->off;
	switch (o->type) {
	case CT_OPT_UINT: {
		uint64_t v;
		if (ct_parse_uint(val, o->min, o->max, &v) < 0) {
			ct_log("invalid %s='%s' (expected an integer %lu..%lu); using %lu", o->name, val,
			       (unsigned long)o->min, (unsigned long)o->max, (unsigned long)o->def);
			return -1;
		}
		*(uint64_t *)slot = v;
		return 0;
	}
	case CT_OPT_BOOL: {
		bool b;
		if (ct_parse_bool(val, &b) < 0) {
			ct_log("invalid %s='%s' (expected 0/1, true/false, yes/no, on/off); using %lu",
			       o->name, val, (unsigned long)o->def);
			return -1;
		}
		*(bool *)slot = b;
		return 0;
	}
	case CT_OPT_STRING: {
		char probe[4096];
		size_t n = strlen(val);
		if (n == 0 || n >= sizeof(ct_cfg.out) ||
		    ct_config_expand_out(val, 1, probe, sizeof(probe)) < 0) {
			ct_log("invalid %s='%s' (expected a non-empty path under 4096 bytes; "
			       "%%p, %%h and %%%% are the only %% sequences); using %s",
			       o->name, val, o->sdef);
			return -1;
		}
		memcpy(slot, val, n + 1);
		return 0;
	}
	}
	return -1;
}

int
ct_config_load(char *(*getenv_fn)(const char *))
{
	int bad = 0;
	for (size_t i = 0; i < ct_nopts; i++) {
		const char *val = getenv_fn(ct_opts[i].name);
		if (val && ct_opt_set(&ct_opts[i], val) < 0)
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
		if (o->type == CT_OPT_STRING)
			ct_log("  %-24s default %-10s %s", o->name, o->sdef, o->help);
		else
			ct_log("  %-24s default %-10lu %s", o->name, (unsigned long)o->def, o->help);
	}
}

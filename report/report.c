/* ct_report_write: the one entry point libcontend.so dlsym()s from
 * libcontend-report.so (see report.h). Reads /proc/self/maps and
 * symbolizes once for both profiles. Must never crash on what the
 * snapshot holds and never hang: no locks of its own, no network. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gzout.h"
#include "maps.h"
#include "pprof.h"
#include "report.h"
#include "symbolize.h"
#include "threads.h"

static const char *const report_names[CT_PROF_COUNT] = {
	[CT_PROF_MUTEX] = "mutex",
	[CT_PROF_BLOCK] = "block",
};

static void
report_error(const struct ct_report_opts *opts, const char *what, const char *path, int err)
{
	if (opts->errbuf && opts->errlen)
		snprintf(opts->errbuf, opts->errlen, "cannot %s '%s': %s", what, path,
			 strerror(-err));
}

static int
report_one(const struct ct_snapshot *snap, enum ct_profile_kind kind,
	   const struct ct_report_opts *opts, const struct ct_maps *maps,
	   struct ct_symbolizer *sym)
{
	const char *suffix = opts->suffix ? opts->suffix : "";
	uint8_t *pb = NULL;
	size_t pblen;
	char name[256];
	int err;

	/* "<kind><suffix>.pb.gz", e.g. "mutex.pb.gz", "block.0001.pb.gz" */
	if (snprintf(name, sizeof(name), "%s%s.pb.gz", report_names[kind], suffix) >=
	    (int)sizeof(name)) {
		err = -ENAMETOOLONG;
		report_error(opts, "name output file for suffix", suffix, err);
		goto out;
	}
	err = ct_pprof_encode(snap, kind, maps, sym, &pb, &pblen);
	if (err) {
		report_error(opts, "encode", name, err);
		goto out;
	}
	err = ct_gzout_write(opts->dir, name, pb, pblen, opts->errbuf, opts->errlen);
out:
	free(pb);
	return err;
}

int
ct_report_write(const struct ct_snapshot *snap, const struct ct_report_opts *opts)
{
	struct ct_symbolizer *sym = NULL;
	struct ct_maps maps = {0};
	int err;

	if (opts && opts->errbuf && opts->errlen)
		opts->errbuf[0] = '\0';
	if (!snap || !opts || !opts->dir || !opts->dir[0]) {
		err = -EINVAL;
		if (opts && opts->errbuf && opts->errlen)
			snprintf(opts->errbuf, opts->errlen, "no snapshot or output directory");
		goto out;
	}
	/* Fail on an unusable directory before the expensive part. */
	err = ct_gzout_mkdirs(opts->dir, opts->errbuf, opts->errlen);
	if (err)
		goto out;
	/* Without maps or debug info a profile is still worth writing (pprof
	 * shows addresses); only running out of memory is fatal. */
	err = ct_maps_read(&maps);
	if (err == -ENOMEM)
		goto out;
	err = ct_symbolize__new(&sym);
	if (err == -ENOMEM)
		goto out;
	err = 0;
	for (int k = 0; k < CT_PROF_COUNT && !err; k++)
		err = report_one(snap, (enum ct_profile_kind)k, opts, &maps, sym);
	if (!err && snap->threads)
		err = ct_threads_write(snap, opts->dir, opts->suffix ? opts->suffix : "",
				       opts->summary ? stderr : NULL, &maps, sym, opts->errbuf,
				       opts->errlen);
out:
	if (err == -ENOMEM && opts && opts->errbuf && opts->errlen && !opts->errbuf[0])
		snprintf(opts->errbuf, opts->errlen, "out of memory writing profiles");
	ct_symbolize__free(sym);
	ct_maps_free(&maps);
	return err;
}

/* ct_report_write: the one entry point libcontend.so dlsym()s from
 * libcontend-report.so (see report.h). Reads /proc/self/maps and
 * symbolizes once for both profiles. Must never crash on what the
 * snapshot holds and never hang: no locks of its own, no network. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../core/names.h"
#include "../core/scratch.h"
#include "gzout.h"
#include "locks.h"
#include "maps.h"
#include "pprof.h"
#include "report.h"
#include "symbolize.h"
#include "threads.h"

/* The mappings read at the warm-up before a fork (ct_report_warm), with
 * the kept symbolizer of the same objects (its ct_symbolize_kept_gen): a
 * fork child whose objects are still those, and whose addresses all fall
 * in them, takes its profiles' Mappings from here instead of reading and
 * parsing /proc/self/maps again (hundreds of lines in a server such as
 * PostgreSQL, a 64 KiB buffer and a string per mapping from the heap it
 * shares with its parent, whose pages it then copies). The same Mappings
 * either way: the objects are the same, at the same addresses. */
static struct ct_maps rp_maps;
static uint64_t rp_maps_gen; /* 0: none */

/* Whether every address the report will look up (the stacks, the leaf
 * functions, the threads' stacks) falls in one of m's mappings. */
static bool
rp_maps_cover(const struct ct_maps *m, const struct ct_snapshot *snap)
{
	for (int k = 0; k < CT_PROF_COUNT; k++)
		for (size_t i = 0; i < snap->prof[k].nrecords; i++) {
			const struct ct_record *r = &snap->prof[k].records[i];

			if (r->op < CT_OP_COUNT && snap->leaf_addr[r->op] &&
			    !ct_maps_find(m, snap->leaf_addr[r->op], NULL))
				return false;
			for (uint32_t j = 0; j < r->depth && j < CT_STACK_MAX; j++)
				if (r->pc[j] && !ct_maps_find(m, r->pc[j] - 1, NULL))
					return false;
		}
	for (size_t t = 0; snap->threads && t < snap->nthreads; t++) {
		const struct ct_thread_snap *th = &snap->threads[t];

		if (th->start_routine && !ct_maps_find(m, th->start_routine, NULL))
			return false;
		for (int j = 0; j < th->depth && j < CT_STACK_MAX; j++)
			if (th->pc[j] && !ct_maps_find(m, th->pc[j] - 1, NULL))
				return false;
		for (int j = 0; j < th->create_depth && j < 32; j++)
			if (th->create_pc[j] && !ct_maps_find(m, th->create_pc[j] - 1, NULL))
				return false;
	}
	return true;
}

/* Addresses a fork child is expected to resolve beyond its parent's:
 * its own stacks at exit (a PostgreSQL backend: 30-60). More only costs
 * the child a realloc in its parent's heap (ct_symbolize_reserve). */
#define CT_REPORT_CHILD_ADDRS 1024

static int
report_one(const struct ct_snapshot *snap, enum ct_profile_kind kind, struct ct_gzout *w,
	   const struct ct_maps *maps, struct ct_symbolizer *sym)
{
	uint8_t *pb = NULL;
	size_t pblen;
	int err = ct_pprof_encode(snap, kind, maps, sym, &pb, &pblen);

	if (err)
		ct_gzout_fail(w, err, "cannot encode %s%s" CT_EXT_PB ": %s", ct_names_kind(kind),
			      w->suffix, strerror(-err));
	else /* "<kind><suffix>.pb.gz", e.g. "mutex.pb.gz", "block.0001.pb.gz" */
		err = ct_gzout_put(w, ct_names_kind(kind), CT_EXT_PB, pb, pblen, 1, 1);
	free(pb);
	return err;
}

/* locks.pb.gz (report/locks.h), when any lock event was recorded. */
static int
report_locks(const struct ct_snapshot *snap, struct ct_gzout *w, const struct ct_maps *maps,
	     struct ct_symbolizer *sym)
{
	uint8_t *pb = NULL;
	size_t pblen;
	int err = ct_locks_encode(snap, maps, sym, &pb, &pblen);

	if (err)
		ct_gzout_fail(w, err, "cannot encode " CT_NAME_LOCKS "%s" CT_EXT_PB ": %s", w->suffix,
			      strerror(-err));
	else /* "locks<suffix>.pb.gz" */
		err = ct_gzout_put(w, CT_NAME_LOCKS, CT_EXT_PB, pb, pblen, 1, 1);
	free(pb);
	return err;
}

void
ct_report_warm(const struct ct_snapshot *snap, const uintptr_t *pcs, size_t npcs)
{
	struct ct_symbolizer *sym = NULL;
	const struct ct_frame *fr;
	size_t n;

	if (!snap)
		return;
	ct_symbolize_acquire(snap, &sym);
	if (!sym)
		return;
	/* A private one (the kept one is busy) would be thrown away. */
	if (ct_symbolize_is_kept(sym)) {
		for (int k = 0; k < CT_PROF_COUNT; k++)
			for (size_t i = 0; i < snap->prof[k].nrecords; i++) {
				const struct ct_record *r = &snap->prof[k].records[i];

				for (uint32_t j = 0; j < r->depth && j < CT_STACK_MAX; j++)
					if (r->pc[j])
						ct_symbolize_addr(sym, r->pc[j] - 1, &fr, &n);
			}
		for (size_t i = 0; i < npcs; i++)
			if (pcs[i])
				ct_symbolize_addr(sym, pcs[i] - 1, &fr, &n);
		/* Room for the addresses a child resolves itself. */
		ct_symbolize_reserve(sym, CT_REPORT_CHILD_ADDRS);
		/* zlib's crc32 calls crc32_z through its PLT: bound here, once,
		 * not by the loader in every child's first gzip trailer. */
		(void)crc32(0, Z_NULL, 0);
		ct_threads_warm_text();
		/* Once per kept symbolizer: the same objects. */
		if (rp_maps_gen != ct_symbolize_kept_gen()) {
			ct_maps_free(&rp_maps);
			rp_maps_gen = 0;
			if (ct_maps_read_snap(&rp_maps, snap) == 0)
				rp_maps_gen = ct_symbolize_kept_gen();
		}
	}
	ct_symbolize_release(sym);
}

void
ct_report_open_objects(const struct ct_snapshot *snap)
{
	struct ct_symbolizer *sym = NULL;

	if (!snap)
		return;
	ct_symbolize_acquire(snap, &sym);
	if (sym && ct_symbolize_is_kept(sym))
		ct_symbolize_open_all(sym);
	ct_symbolize_release(sym);
}

int
ct_report_write(const struct ct_snapshot *snap, const struct ct_report_opts *opts)
{
	struct ct_symbolizer *sym = NULL;
	struct ct_maps maps = {0}, *mp = &maps;
	struct ct_gzout w;
	int err;

	if (opts && opts->errbuf && opts->errlen)
		opts->errbuf[0] = '\0';
	if (opts && opts->wrote && opts->wrotelen)
		opts->wrote[0] = '\0';
	if (!snap || !opts || !opts->dir || !opts->dir[0]) {
		if (opts && opts->errbuf && opts->errlen)
			snprintf(opts->errbuf, opts->errlen, "no snapshot or output directory");
		return -EINVAL;
	}
	/* Only the caller's thread runs then (core/plugin.h). */
	if (opts->scratch)
		ct_scratch_use(opts->scratch);
	/* Fail on an unusable directory before the expensive part. */
	err = ct_gzout_open(&w, opts->dir, opts->suffix, opts->out, opts->quiet, opts->errbuf,
			    opts->errlen);
	if (err)
		goto out;
	/* Without maps or debug info a profile is still worth writing (pprof
	 * shows addresses); only running out of memory is fatal. */
	err = ct_symbolize_acquire(snap, &sym);
	if (err == -ENOMEM) {
		ct_gzout_fail(&w, err, "out of memory writing profiles");
		goto out;
	}
	if (rp_maps_gen && ct_symbolize_is_kept(sym) && rp_maps_gen == ct_symbolize_kept_gen() &&
	    rp_maps_cover(&rp_maps, snap)) {
		mp = &rp_maps;
	} else {
		err = ct_maps_read_snap(&maps, snap);
		if (err == -ENOMEM) {
			ct_gzout_fail(&w, err, "out of memory writing profiles");
			goto out;
		}
	}
	/* Every file is tried: one that cannot be written (ENOSPC, say)
	 * does not cost the others. */
	for (int k = 0; k < CT_PROF_COUNT; k++)
		report_one(snap, (enum ct_profile_kind)k, &w, mp, sym);
	if (snap->nlockstats)
		report_locks(snap, &w, mp, sym);
	if (snap->threads)
		ct_threads_write(snap, &w, opts->summary ? stderr : NULL, mp, sym);
out:
	if (opts->wrote && opts->wrotelen)
		ct_gzout_wrote(&w, opts->wrote, opts->wrotelen);
	err = ct_gzout_close(&w);
	ct_symbolize_release(sym);
	ct_maps_free(&maps);
	if (opts->scratch)
		ct_scratch_use(NULL);
	return err;
}

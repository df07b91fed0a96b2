/* ct_report_render (report.h): one profile of a snapshot rendered into
 * memory for the HTTP endpoint, by name and debug level. The pieces live
 * by concern: render_delta.c (deltas of snapshots and of encoded
 * profiles), render_text.c (Go's debug=1 texts), buf.c (the text buffer).
 * Owns no state across calls. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../core/names.h"
#include "gzout.h"
#include "locks.h"
#include "locktable.h"
#include "maps.h"
#include "pprof.h"
#include "render.h"
#include "report.h"
#include "symbolize.h"
#include "threads.h"

/* kind CT_PROF_COUNT: the locks profile (report/locks.h). */
static int
render_proto(const struct ct_snapshot *snap, enum ct_profile_kind kind, uint8_t **out,
	     size_t *outlen)
{
	struct ct_maps maps = {0};
	struct ct_symbolizer *sym = NULL;
	uint8_t *pb = NULL;
	size_t pblen = 0;
	/* As in ct_report_write: without maps or debug info the profile is
	 * still worth having; only running out of memory is fatal. */
	int err = ct_maps_read_snap(&maps, snap);
	if (err == -ENOMEM)
		goto out;
	err = ct_symbolize_acquire(snap, &sym);
	if (err == -ENOMEM)
		goto out;
	if (kind == CT_PROF_COUNT)
		err = ct_locks_encode(snap, &maps, sym, &pb, &pblen);
	else
		err = ct_pprof_encode(snap, kind, &maps, sym, &pb, &pblen);
	if (err)
		goto out;
	err = ct_gzout_compress(pb, pblen, out, outlen);
out:
	free(pb);
	ct_symbolize_release(sym);
	ct_maps_free(&maps);
	return err;
}

int
ct_report_render(const struct ct_snapshot *snap, const char *name, int debug, uint8_t **out,
		 size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (!snap || !name)
		return -EINVAL;
	if (ct_names_is_threads(name) || !strcmp(name, CT_NAME_THREADCREATE)) {
		int err = ct_threads_render(snap, name, debug, out, outlen);
		if (err != -EINVAL || debug != 1)
			return err;
		/* Go's debug=1 count text, made from the protobuf when the thread
		 * dump offers no text of its own at that level. */
		uint8_t *pb = NULL;
		size_t pblen = 0;
		err = ct_threads_render(snap, name, 0, &pb, &pblen);
		if (!err)
			err = ct_render_count_text(name, pb, pblen, out, outlen);
		free(pb);
		return err;
	}
	if (!strcmp(name, CT_NAME_LOCKS)) {
		/* debug=0 the profile, 1 the per-lock table `contend locks`
		 * prints, 2 its JSON lines (report/locktable.h). */
		int err = render_proto(snap, CT_PROF_COUNT, out, outlen);
		if (err || debug == 0)
			return err;
		if (debug != 1 && debug != 2)
			return -EINVAL;
		uint8_t *gz = *out;
		size_t gzlen = *outlen;
		*out = NULL;
		*outlen = 0;
		err = ct_locktable_render_pb(gz, gzlen, debug == 2, out, outlen);
		free(gz);
		return err;
	}
	enum ct_profile_kind kind;
	if (ct_names_kind_of(name, &kind) < 0)
		return -ENOENT;
	if (debug == 0)
		return render_proto(snap, kind, out, outlen);
	if (debug != 1)
		return -EINVAL;
	struct ct_symbolizer *sym = NULL;
	int err = ct_symbolize_acquire(snap, &sym);
	if (err == -ENOMEM)
		return err;
	err = ct_render_legacy(snap, kind, sym, out, outlen);
	ct_symbolize_release(sym);
	return err;
}

/* Go's debug=1 texts (render.h): the legacy contention text of a
 * snapshot's mutex or block profile, and the count text of a gzip'd
 * goroutine or threadcreate profile, read with the one pprof reader. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../core/names.h"
#include "pprof.h"
#include "pprof_read.h"
#include "profile.pb-c.h"
#include "render.h"
#include "symbolize.h"

/* "#\t<pc>\t<function>\t<file>:<line>" per source frame at pc (inlined
 * callees first), like Go's printStackRecord without the "+offset", which
 * needs the function's entry address that libdw does not hand out. */
static void
legacy_frames(struct ct_buf *b, struct ct_symbolizer *sym, uint64_t pc)
{
	const struct ct_frame *f = NULL;
	size_t nf = 0;
	if (sym && ct_symbolize_addr(sym, pc, &f, &nf) < 0)
		nf = 0;
	if (nf == 0) {
		ct_buf_printf(b, "#\t0x%" PRIx64 "\n", pc);
		return;
	}
	for (size_t i = 0; i < nf; i++) {
		if (f[i].file)
			ct_buf_printf(b, "#\t0x%" PRIx64 "\t%s\t%s:%" PRId64 "\n", pc, f[i].name,
				      f[i].file, f[i].line);
		else
			ct_buf_printf(b, "#\t0x%" PRIx64 "\t%s\n", pc, f[i].name);
	}
}

int
ct_render_legacy(const struct ct_snapshot *snap, enum ct_profile_kind kind,
		 struct ct_symbolizer *sym, uint8_t **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (!snap || (unsigned)kind >= CT_PROF_COUNT)
		return -EINVAL;
	const struct ct_profile_snapshot *ps = &snap->prof[kind];
	struct ct_buf b = {0};
	size_t *order = malloc((ps->nrecords ? ps->nrecords : 1) * sizeof(*order));
	if (!order)
		return -ENOMEM;
	ct_pprof_order(ps->records, ps->nrecords, order);

	/* Go's writeProfileInternal header; delays are in ns, so a "cycle" is
	 * a nanosecond. */
	ct_buf_printf(&b, "%s\ncycles/second=1000000000\n",
		      kind == CT_PROF_MUTEX ? "--- mutex:" : "--- contention:");
	if (kind == CT_PROF_MUTEX)
		ct_buf_printf(&b, "sampling period=1\n");
	ct_buf_printf(&b, "# libcontend %s profile: %s=%" PRIu64 "%s, values already scaled\n",
		      ct_names_kind(kind), kind == CT_PROF_MUTEX ? "fraction" : "rate", ps->rate,
		      kind == CT_PROF_MUTEX ? "" : " ns");
	if (ps->overflow_events)
		ct_buf_printf(&b, "# libcontend: %" PRIu64 " events found the table full\n",
			      ps->overflow_events);
	if (ps->unsettled)
		ct_buf_printf(&b, "# libcontend: %" PRIu64 " records copied in the middle of an "
			      "event\n", ps->unsettled);

	for (size_t i = 0; i < ps->nrecords && !b.err; i++) {
		const struct ct_record *r = &ps->records[order[i]];
		int64_t count = ct_pprof_round(r->count), delay = ct_pprof_round(r->delay_ns);
		if (count == 0 && r->count > 0)
			count = 1;
		if (count == 0 && delay == 0)
			continue;
		uint32_t depth = r->depth < CT_STACK_MAX ? r->depth : CT_STACK_MAX;
		uint64_t leaf = r->op < CT_OP_COUNT ? snap->leaf_addr[r->op] : 0;
		ct_buf_printf(&b, "%" PRId64 " %" PRId64 " @", delay, count);
		/* Return addresses, as Go prints them; pprof subtracts 1. The
		 * leaf is the wrapped function's entry, so +1 lands there. */
		if (leaf)
			ct_buf_printf(&b, " 0x%" PRIx64, leaf + 1);
		for (uint32_t k = 0; k < depth; k++)
			ct_buf_printf(&b, " 0x%" PRIxPTR, r->pc[k]);
		ct_buf_printf(&b, "\n");
		if (leaf)
			ct_buf_printf(&b, "#\t0x%" PRIx64 "\t%s\n", leaf, ct_op_name(r->op));
		else
			ct_buf_printf(&b, "#\t%s\n", ct_op_name(r->op));
		for (uint32_t k = 0; k < depth; k++)
			if (r->pc[k])
				legacy_frames(&b, sym, (uint64_t)r->pc[k] - 1);
		ct_buf_printf(&b, "\n");
	}
	free(order);
	return ct_buf_take(&b, out, outlen);
}

/* ---- count profiles as text -------------------------------------------- */

typedef Perftools__Profiles__Label pb_label;

static int
cmp_label(const void *a, const void *b, void *arg)
{
	const struct ct_profile *p = arg;
	const pb_label *x = *(pb_label *const *)a, *y = *(pb_label *const *)b;
	return strcmp(ct_profile_string(p, x->key), ct_profile_string(p, y->key));
}

/* "# labels: {"k":"v", ...}", sorted by key, every label of the message
 * (also those with an empty value, which the reader's view leaves out). */
static int
count_text_labels(struct ct_buf *b, const struct ct_profile *p, const Perftools__Profiles__Sample *s)
{
	if (!s->n_label)
		return 0;
	pb_label **lab = malloc(s->n_label * sizeof(*lab));
	if (!lab)
		return -ENOMEM;
	memcpy(lab, s->label, s->n_label * sizeof(*lab));
	qsort_r(lab, s->n_label, sizeof(*lab), cmp_label, (void *)p);
	ct_buf_printf(b, "# labels: {");
	for (size_t k = 0; k < s->n_label; k++)
		ct_buf_printf(b, "%s\"%s\":\"%s\"", k ? ", " : "", ct_profile_string(p, lab[k]->key),
			      ct_profile_string(p, lab[k]->str));
	ct_buf_printf(b, "}\n");
	free(lab);
	return 0;
}

int
ct_render_count_text(const char *name, const uint8_t *gz, size_t gzlen, uint8_t **out,
		     size_t *outlen)
{
	struct ct_profile *p;
	char perr[256];
	int err = 0;
	*out = NULL;
	*outlen = 0;
	if (ct_profile_parse(gz, gzlen, &p, perr, sizeof(perr)) < 0)
		return -EINVAL;
	const Perftools__Profiles__Profile *pb = p->pb;
	struct ct_buf b = {0};
	long long total = 0;
	for (size_t i = 0; i < p->nsamples; i++)
		if (p->ntypes)
			total += p->samples[i].values[0];
	/* Go's printCountProfile: "<name> profile: total N", then per group
	 * "<count> @ <return addresses>", its labels, its frames, a blank. */
	ct_buf_printf(&b, "%s profile: total %lld\n", name, total);
	for (size_t i = 0; i < p->nsamples && !b.err && !err; i++) {
		const struct ct_psample *s = &p->samples[i];
		bool addrs = false;
		for (size_t k = 0; k < s->nlocs; k++)
			addrs |= s->locs[k]->address != 0;
		/* pprof's parser needs an address on every group line (Go's own
		 * threadcreate text fails it for that reason): a group without a
		 * known stack is told as a comment. */
		ct_buf_printf(&b, "%s%lld @", addrs ? "" : "# ",
			      p->ntypes ? (long long)s->values[0] : 0LL);
		/* Location addresses are call sites (pc - 1), as Go writes them;
		 * the text has return addresses. */
		for (size_t k = 0; k < s->nlocs; k++)
			if (s->locs[k]->address)
				ct_buf_printf(&b, " 0x%" PRIx64, s->locs[k]->address + 1);
		ct_buf_printf(&b, "\n");
		err = count_text_labels(&b, p, pb->sample[i]);
		for (size_t k = 0; k < s->nlocs; k++) {
			const struct ct_ploc *l = s->locs[k];
			if (l->nlines == 0)
				ct_buf_printf(&b, "#\t0x%" PRIx64 "\n", l->address);
			for (size_t j = 0; j < l->nlines; j++) {
				const struct ct_pfunc *f = l->lines[j].fn;
				if (*f->filename)
					ct_buf_printf(&b, "#\t0x%" PRIx64 "\t%s\t%s:%" PRId64 "\n", l->address,
						      f->name, f->filename, l->lines[j].line);
				else
					ct_buf_printf(&b, "#\t0x%" PRIx64 "\t%s\n", l->address, f->name);
			}
		}
		ct_buf_printf(&b, "\n");
	}
	ct_profile_free(p);
	if (err) {
		ct_buf_free(&b);
		return err;
	}
	return ct_buf_take(&b, out, outlen);
}

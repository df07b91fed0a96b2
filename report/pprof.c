/* pprof Profile builder (see pprof.h). Owns only per-call state: every
 * table below is built for one ct_pprof_encode call and freed before it
 * returns. Never scales values: core already did (Go >= 1.20 rules). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/compiler.h"
#include "../core/fdkind.h"
#include "../core/locks.h"
#include "intern.h"
#include "locknames.h"
#include "maps.h"
#include "pprof.h"
#include "profile.pb-c.h"
#include "round.h"
#include "symbolize.h"
#include "vec.h"

struct pp_fnkey {
	int64_t name, system_name, filename, start_line; /* string indexes */
};

struct pp_lockey {
	uint64_t addr;
	uint64_t leaf_op; /* 0: a stack address; op + 1: the synthetic leaf */
	/* 0: resolved against the current mappings; j + 1: against
	 * snap->dl_gone[j], unloaded since the address was recorded. */
	uint64_t gone;
};

/* Builder state. Function, location and string ids are their intern
 * index (+1 for ids, which must be nonzero). */
struct pp {
	const struct ct_snapshot *snap;
	const struct ct_pprof_spec *spec;
	const struct ct_maps *maps;
	struct ct_symbolizer *sym;
	/* One symbolizer per unloaded object, made on first use (they may
	 * overlap each other and the current mappings). */
	struct ct_symbolizer **gone_sym;
	bool *gone_tried;

	struct ct_intern strs;
	struct ct_intern fnkeys;
	Perftools__Profiles__Function *fns;
	size_t capfns;
	struct ct_intern lockeys;
	Perftools__Profiles__Location *locs;
	size_t *loc_first; /* first line of each location in lines[] */
	size_t caplocs, caplocfirst;
	Perftools__Profiles__Line *lines;
	size_t nlines, caplines;
	Perftools__Profiles__Mapping *mappings;
	size_t nmappings; /* all of them, then the ones pp_keep_mappings kept */
	Perftools__Profiles__Sample *samples;
	size_t *sample_first; /* first location id of each sample in ids[] */
	uint64_t *ids;
	size_t nids, capids;
	int64_t *values; /* spec->nvalues per sample */
	Perftools__Profiles__Label *labels;
	size_t nlabels, caplabels;
	size_t *label_first; /* first label of each sample in labels[] */
	int64_t comments[6];
	size_t ncomments;
};

static int
pp_str(struct pp *p, const char *s, int64_t *idx)
{
	uint32_t i;
	int err = ct_intern_str(&p->strs, s ? s : "", &i);

	if (err < 0)
		return err;
	*idx = i;
	return 0;
}

static int
pp_fn(struct pp *p, const char *name, const char *system_name, const char *file,
      int64_t start_line, uint64_t *id)
{
	struct pp_fnkey key = {.start_line = start_line};
	Perftools__Profiles__Function *f;
	uint32_t idx;
	int err;

	err = pp_str(p, name, &key.name);
	if (!err)
		err = pp_str(p, system_name, &key.system_name);
	if (!err)
		err = pp_str(p, file, &key.filename);
	if (!err)
		err = ct_vec_reserve(&p->fns, &p->capfns, p->fnkeys.n + 1, sizeof(*p->fns));
	if (!err)
		err = ct_intern_add(&p->fnkeys, &key, sizeof(key), &idx);
	if (err < 0)
		return err;
	*id = (uint64_t)idx + 1;
	if (err == 0)
		return 0; /* seen before */
	f = &p->fns[idx];
	perftools__profiles__function__init(f);
	f->id = *id;
	f->name = key.name;
	f->system_name = key.system_name;
	f->filename = key.filename;
	f->start_line = key.start_line;
	return 0;
}

static int
pp_line(struct pp *p, uint64_t function_id, int64_t line, int64_t column)
{
	Perftools__Profiles__Line *l;
	int err = ct_vec_reserve(&p->lines, &p->caplines, p->nlines + 1, sizeof(*p->lines));

	if (err)
		return err;
	l = &p->lines[p->nlines++];
	perftools__profiles__line__init(l);
	l->function_id = function_id;
	l->line = line;
	l->column = column;
	return 0;
}

static size_t
pp_nmaps(const struct pp *p)
{
	return p->maps ? p->maps->n : 0;
}

/* The unloaded object that held addr when a record of generation gen was
 * made: the first removed (lowest generation) at or after gen whose range
 * holds it; 0 when none did (the object is still mapped). */
static uint64_t
pp_gone_find(const struct pp *p, uint32_t gen, uint64_t addr)
{
	uint64_t best = 0;
	uint32_t best_gen = 0;

	if (gen == 0 || gen >= p->snap->dl_gen)
		return 0;
	for (size_t j = 0; j < p->snap->ndl_gone; j++) {
		const struct ct_dl_gone *g = &p->snap->dl_gone[j];

		if (g->gen < gen || addr < g->start || addr >= g->limit)
			continue;
		if (!best || g->gen < best_gen) {
			best = j + 1;
			best_gen = g->gen;
		}
	}
	return best;
}

static struct ct_symbolizer *
pp_gone_sym(struct pp *p, uint64_t gone)
{
	size_t j = gone - 1;

	if (!p->gone_tried[j]) {
		p->gone_tried[j] = true;
		/* A file that is gone or unreadable: the address stays
		 * unsymbolized under its mapping, not charged to another. */
		ct_symbolize__new_elf(p->snap->dl_gone[j].path, p->snap->dl_gone[j].base,
				      &p->gone_sym[j]);
	}
	return p->gone_sym[j];
}

/* Lines of the code at addr, innermost inlined frame first. */
static int
pp_symbolize(struct pp *p, uint64_t addr, uint64_t gone)
{
	const struct ct_frame *fr;
	size_t n = 0;
	uint64_t fid;
	int err = 0;
	struct ct_symbolizer *sym = gone ? pp_gone_sym(p, gone) : p->sym;

	if (sym)
		err = ct_symbolize_addr(sym, addr, &fr, &n);
	for (size_t i = 0; i < n && !err; i++) {
		err = pp_fn(p, fr[i].name, fr[i].system_name, fr[i].file, fr[i].start_line, &fid);
		if (!err)
			err = pp_line(p, fid, fr[i].line, fr[i].column);
	}
	return err;
}

/* Location id for key, creating it (lines from pp_symbolize, or the one
 * synthetic line for a leaf) if new. */
static int
pp_loc(struct pp *p, const struct pp_lockey *key, uint64_t *id)
{
	Perftools__Profiles__Location *l;
	size_t midx, n = p->lockeys.n + 1;
	uint32_t idx;
	uint64_t fid;
	int err;

	if (ct_intern_find(&p->lockeys, key, sizeof(*key), &idx) == 0) {
		*id = (uint64_t)idx + 1;
		return 0;
	}
	err = ct_vec_reserve(&p->locs, &p->caplocs, n, sizeof(*p->locs));
	if (!err)
		err = ct_vec_reserve(&p->loc_first, &p->caplocfirst, n, sizeof(*p->loc_first));
	if (err)
		return err;
	p->loc_first[n - 1] = p->nlines;
	if (key->leaf_op) {
		const char *name = ct_op_name((unsigned)(key->leaf_op - 1));

		err = pp_fn(p, name, name, NULL, 0, &fid);
		if (!err)
			err = pp_line(p, fid, 0, 0);
	} else if (key->addr) {
		err = pp_symbolize(p, key->addr, key->gone);
	}
	if (!err)
		err = ct_intern_add(&p->lockeys, key, sizeof(*key), &idx);
	if (err < 0)
		return err;
	l = &p->locs[idx];
	perftools__profiles__location__init(l);
	l->id = *id = (uint64_t)idx + 1;
	l->address = key->addr;
	l->n_line = p->nlines - p->loc_first[idx];
	if (key->gone)
		l->mapping_id = pp_nmaps(p) + key->gone;
	else if (p->maps && ct_maps_find(p->maps, key->addr, &midx))
		l->mapping_id = midx + 1;
	return 0;
}

static int
pp_push_id(struct pp *p, uint64_t id)
{
	int err = ct_vec_reserve(&p->ids, &p->capids, p->nids + 1, sizeof(*p->ids));

	if (!err)
		p->ids[p->nids++] = id;
	return err;
}

int
ct_pprof_labels_alloc(struct ct_pprof_labels *l, size_t nrec, size_t max)
{
	size_t n = nrec ? nrec : 1;

	l->v = calloc(n * max, sizeof(*l->v));
	l->per = calloc(n, sizeof(*l->per));
	l->n = calloc(n, sizeof(*l->n));
	if (!l->v || !l->per || !l->n)
		return -ENOMEM;
	for (size_t i = 0; i < nrec; i++)
		l->per[i] = l->v + max * i;
	return 0;
}

void
ct_pprof_labels_free(struct ct_pprof_labels *l)
{
	free(l->v);
	free(l->per);
	free(l->n);
}

int64_t
ct_pprof_round(double v)
{
	return v > 0 ? ct_round_i64(v) : 0;
}

/* One Sample: the synthetic leaf for the wrapped function, then the
 * stack. Location.address is pc - 1, the call instruction, as Go writes
 * it; the leaf uses the entry address of the real libc function. */
static int
pp_labels(struct pp *p, size_t ri, size_t si)
{
	const struct ct_pprof_label *l = p->spec->labels ? p->spec->labels[ri] : NULL;
	size_t n = p->spec->nlabels ? p->spec->nlabels[ri] : 0;
	int err = 0;

	p->label_first[si] = p->nlabels;
	for (size_t i = 0; i < n && !err; i++) {
		Perftools__Profiles__Label *pl;

		bool num = !l[i].value && l[i].unit;
		if (!num && (!l[i].value || !*l[i].value))
			continue; /* pprof drops labels with an empty string */
		err = ct_vec_reserve(&p->labels, &p->caplabels, p->nlabels + 1, sizeof(*p->labels));
		if (err)
			break;
		pl = &p->labels[p->nlabels++];
		perftools__profiles__label__init(pl);
		err = pp_str(p, l[i].key, &pl->key);
		if (!err && num) {
			pl->num = l[i].num;
			err = pp_str(p, l[i].unit, &pl->num_unit);
		} else if (!err) {
			err = pp_str(p, l[i].value, &pl->str);
		}
	}
	return err;
}

static int
pp_sample(struct pp *p, size_t ri, Perftools__Profiles__Sample *s, size_t si)
{
	const struct ct_record *rec = &p->spec->records[ri];
	struct pp_lockey key = {.leaf_op = (uint64_t)rec->op + 1};
	uint32_t depth = rec->depth < CT_STACK_MAX ? rec->depth : CT_STACK_MAX;
	int64_t *v = &p->values[p->spec->nvalues * si];
	uint64_t id;
	int err;

	p->sample_first[si] = p->nids;
	err = 0;
	/* op >= CT_OP_COUNT: no wrapped call at the leaf (a running thread) */
	if (rec->op < CT_OP_COUNT) {
		key.addr = p->snap->leaf_addr[rec->op];
		err = pp_loc(p, &key, &id);
		if (!err)
			err = pp_push_id(p, id);
	}
	for (uint32_t i = 0; i < depth && !err; i++) {
		key.leaf_op = 0;
		key.addr = rec->pc[i] ? rec->pc[i] - 1 : 0;
		key.gone = pp_gone_find(p, rec->dl_gen, key.addr);
		err = pp_loc(p, &key, &id);
		if (!err)
			err = pp_push_id(p, id);
	}
	perftools__profiles__sample__init(s);
	s->n_location_id = p->nids - p->sample_first[si];
	v[0] = ct_pprof_round(rec->count);
	if (v[0] == 0 && rec->count > 0)
		v[0] = 1; /* a recorded contention is at least one */
	if (p->spec->nvalues > 1)
		v[1] = ct_pprof_round(rec->delay_ns);
	s->n_value = p->spec->nvalues;
	if (!err)
		err = pp_labels(p, ri, si);
	return err;
}

/* Sort order of samples, like Go's: biggest delay first. Ties by count,
 * then table order, so output is deterministic. */

static int
pp_samples(struct pp *p)
{
	size_t n = p->spec->nrecords, *order;
	int err = 0;

	order = malloc((n ? n : 1) * sizeof(*order));
	p->samples = calloc(n ? n : 1, sizeof(*p->samples));
	p->sample_first = calloc(n ? n : 1, sizeof(*p->sample_first));
	p->label_first = calloc(n ? n : 1, sizeof(*p->label_first));
	p->values = calloc(p->spec->nvalues * (n ? n : 1), sizeof(*p->values));
	if (!order || !p->samples || !p->sample_first || !p->label_first || !p->values) {
		err = -ENOMEM;
		goto out;
	}
	ct_pprof_order(p->spec->records, n, order);
	for (size_t i = 0; i < n && !err; i++)
		err = pp_sample(p, order[i], &p->samples[i], i);
out:
	free(order);
	return err;
}

/* The current mappings, then one per unloaded object (ids after them);
 * their names are added by pp_keep_mappings, for the ones kept. */
static int
pp_mappings(struct pp *p)
{
	size_t nlive = pp_nmaps(p), ngone = p->snap->ndl_gone, n = nlive + ngone;

	p->mappings = calloc(n ? n : 1, sizeof(*p->mappings));
	p->gone_sym = calloc(ngone ? ngone : 1, sizeof(*p->gone_sym));
	p->gone_tried = calloc(ngone ? ngone : 1, sizeof(*p->gone_tried));
	if (!p->mappings || !p->gone_sym || !p->gone_tried)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct ct_mapping *m = i < nlive ? &p->maps->v[i] : NULL;
		const struct ct_dl_gone *g = i < nlive ? NULL : &p->snap->dl_gone[i - nlive];
		Perftools__Profiles__Mapping *pm = &p->mappings[i];

		perftools__profiles__mapping__init(pm);
		pm->id = i + 1;
		pm->memory_start = m ? m->start : g->start;
		pm->memory_limit = m ? m->limit : g->limit;
		pm->file_offset = m ? m->offset : g->offset;
		/* Fully symbolized here: pprof must not try (and fail) to. */
		pm->has_functions = pm->has_filenames = 1;
		pm->has_line_numbers = pm->has_inline_frames = 1;
	}
	p->nmappings = n;
	return 0;
}

/* Keeps the mappings a location points into, and the first one (the
 * program's own: pprof names the profile's binary and build ID after
 * it), in their order, renumbered. A process maps a hundred objects or
 * more (a PostgreSQL backend: 95 executable mappings) and a small profile
 * uses a few: writing every one into each profile was most of the work of
 * a fork child's exit dump (names interned, then packed, four times). */
static int
pp_keep_mappings(struct pp *p)
{
	size_t nlive = pp_nmaps(p), n = p->nmappings, k = 0;
	uint64_t *newid = calloc(n ? n : 1, sizeof(*newid)); /* 0: dropped */
	int err = 0;

	if (!newid)
		return -ENOMEM;
	for (size_t i = 0; i < p->lockeys.n; i++)
		if (p->locs[i].mapping_id && p->locs[i].mapping_id <= n)
			newid[p->locs[i].mapping_id - 1] = 1;
	if (n)
		newid[0] = 1;
	for (size_t i = 0; i < n && !err; i++) {
		if (!newid[i])
			continue;
		const struct ct_mapping *m = i < nlive ? &p->maps->v[i] : NULL;
		const struct ct_dl_gone *g = i < nlive ? NULL : &p->snap->dl_gone[i - nlive];
		Perftools__Profiles__Mapping *pm = &p->mappings[k];

		if (k != i)
			*pm = p->mappings[i];
		newid[i] = pm->id = ++k;
		err = pp_str(p, m ? m->path : g->path, &pm->filename);
		if (!err)
			err = pp_str(p, m ? m->build_id : g->build_id, &pm->build_id);
	}
	for (size_t i = 0; i < p->lockeys.n && !err; i++)
		if (p->locs[i].mapping_id)
			p->locs[i].mapping_id = p->locs[i].mapping_id <= n ?
							newid[p->locs[i].mapping_id - 1] : 0;
	p->nmappings = k;
	free(newid);
	return err;
}

static int
pp_comment(struct pp *p, const char *text)
{
	if (p->ncomments >= CT_ARRAY_SIZE(p->comments))
		return -EOVERFLOW;
	return pp_str(p, text, &p->comments[p->ncomments++]);
}

static int
pp_comments(struct pp *p)
{
	int err = 0;

	for (size_t i = 0; i < CT_ARRAY_SIZE(p->spec->comments) && !err; i++)
		if (p->spec->comments[i] && *p->spec->comments[i])
			err = pp_comment(p, p->spec->comments[i]);
	/* Files the symbolizer could not read: names are missing because of
	 * them, and the profile should say so to whoever reads it later. */
	const char *note = p->sym ? ct_symbolize_note(p->sym) : NULL;
	if (!err && note && *note)
		err = pp_comment(p, note);
	return err;
}

/* The comments of a mutex or block profile: its sampling setting and, if
 * any, how much found the table full, how many unloaded objects were not
 * kept and how many records were copied in the middle of an event. */
static void
pp_profile_comments(const struct ct_snapshot *snap, const struct ct_profile_snapshot *ps,
		    char buf[4][160])
{
	/* "libcontend mutex profile: fraction=N": 1 in N contended unlocks
	 * sampled; "libcontend block profile: rate=N ns": Go's block rate. */
	if (ps->kind == CT_PROF_MUTEX)
		snprintf(buf[0], 160, "libcontend mutex profile: fraction=%" PRIu64, ps->rate);
	else
		snprintf(buf[0], 160, "libcontend block profile: rate=%" PRIu64 " ns", ps->rate);
	buf[1][0] = 0;
	if (ps->overflow_events)
		snprintf(buf[1], 160, "libcontend: %" PRIu64 " events found the table full; "
			 "they are counted under %s", ps->overflow_events,
			 ct_op_name(CT_OP_TABLE_FULL));
	buf[2][0] = 0;
	if (snap->dl_gone_dropped)
		snprintf(buf[2], 160, "libcontend: dlclose history full, %" PRIu64
			 " unloaded objects not kept; their addresses may show what is mapped "
			 "there now", snap->dl_gone_dropped);
	/* A fork child's copy of a table whose writer the fork stopped
	 * inside an update (core/table.h): rare, and worth knowing. */
	buf[3][0] = 0;
	if (ps->unsettled)
		snprintf(buf[3], 160, "libcontend: %" PRIu64 " records copied while their writer "
			 "was stopped in the middle of an event; each may be off by that event",
			 ps->unsettled);
}

/* protobuf-c wants arrays of pointers; they can only be made once the
 * element arrays have stopped moving. */
static void **
pp_ptrs(void *base, size_t n, size_t elsz)
{
	void **v = malloc((n ? n : 1) * sizeof(*v));

	for (size_t i = 0; v && i < n; i++)
		v[i] = (char *)base + i * elsz;
	return v;
}

static int
pp_value_type(struct pp *p, const char *type, const char *unit,
	      Perftools__Profiles__ValueType *vt)
{
	int err;

	perftools__profiles__value_type__init(vt);
	err = pp_str(p, type, &vt->type);
	if (!err)
		err = pp_str(p, unit, &vt->unit);
	return err;
}

/* Wires the finished tables into prof and serializes it. */
static int
pp_pack(struct pp *p, Perftools__Profiles__Profile *prof, uint8_t **out, size_t *outlen)
{
	Perftools__Profiles__Line **lines = (void *)pp_ptrs(p->lines, p->nlines, sizeof(*p->lines));
	Perftools__Profiles__Location **locs = (void *)pp_ptrs(p->locs, p->lockeys.n, sizeof(*p->locs));
	Perftools__Profiles__Function **fns = (void *)pp_ptrs(p->fns, p->fnkeys.n, sizeof(*p->fns));
	size_t nmappings = p->nmappings;
	Perftools__Profiles__Mapping **maps = (void *)pp_ptrs(p->mappings, nmappings,
							      sizeof(*p->mappings));
	Perftools__Profiles__Sample **smps = (void *)pp_ptrs(p->samples, p->spec->nrecords,
							     sizeof(*p->samples));
	Perftools__Profiles__Label **lbls = (void *)pp_ptrs(p->labels, p->nlabels,
							    sizeof(*p->labels));
	char **strs = malloc((p->strs.n ? p->strs.n : 1) * sizeof(*strs));
	int err = 0;

	if (!lines || !locs || !fns || !maps || !smps || !lbls || !strs) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < p->lockeys.n; i++)
		p->locs[i].line = p->locs[i].n_line ? lines + p->loc_first[i] : NULL;
	for (size_t i = 0; i < p->spec->nrecords; i++) {
		size_t end = i + 1 < p->spec->nrecords ? p->label_first[i + 1] : p->nlabels;

		p->samples[i].location_id = p->ids + p->sample_first[i];
		p->samples[i].value = p->values + p->spec->nvalues * i;
		p->samples[i].n_label = end - p->label_first[i];
		p->samples[i].label = p->samples[i].n_label ? lbls + p->label_first[i] : NULL;
	}
	for (size_t i = 0; i < p->strs.n; i++)
		strs[i] = (char *)ct_intern_key(&p->strs, (uint32_t)i);
	prof->n_string_table = p->strs.n;
	prof->string_table = strs;
	prof->n_function = p->fnkeys.n;
	prof->function = fns;
	prof->n_location = p->lockeys.n;
	prof->location = locs;
	prof->n_mapping = nmappings;
	prof->mapping = maps;
	prof->n_sample = p->spec->nrecords;
	prof->sample = smps;
	prof->n_comment = p->ncomments;
	prof->comment = p->comments;

	*outlen = perftools__profiles__profile__get_packed_size(prof);
	*out = malloc(*outlen ? *outlen : 1);
	if (!*out) {
		err = -ENOMEM;
		goto out;
	}
	perftools__profiles__profile__pack(prof, *out);
out:
	free(lines);
	free(locs);
	free(fns);
	free(maps);
	free(smps);
	free(lbls);
	free(strs);
	return err;
}

static void
pp_free(struct pp *p)
{
	ct_intern_free(&p->strs);
	ct_intern_free(&p->fnkeys);
	ct_intern_free(&p->lockeys);
	for (size_t j = 0; p->gone_sym && j < p->snap->ndl_gone; j++)
		ct_symbolize__free(p->gone_sym[j]);
	CT_FREE_ALL(p->fns, p->locs, p->loc_first, p->lines, p->mappings, p->gone_sym,
		    p->gone_tried, p->samples, p->sample_first, p->ids, p->values, p->labels,
		    p->label_first);
}

int
ct_pprof_encode_spec(const struct ct_snapshot *snap, const struct ct_pprof_spec *spec,
		     const struct ct_maps *maps, struct ct_symbolizer *sym, uint8_t **out,
		     size_t *outlen)
{
	Perftools__Profiles__Profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType st[2], pt, *stp[2] = {&st[0], &st[1]};
	struct pp p = {.snap = snap, .spec = spec, .maps = maps, .sym = sym};
	int64_t empty;
	int err;

	*out = NULL;
	*outlen = 0;
	if (!snap || !spec || spec->nvalues < 1 || spec->nvalues > 2)
		return -EINVAL;
	/* string_table[0] must be "" (pprof rejects the profile otherwise). */
	err = pp_str(&p, "", &empty);
	for (int i = 0; i < spec->nvalues && !err; i++)
		err = pp_value_type(&p, spec->type[i], spec->unit[i], &st[i]);
	if (!err)
		err = pp_value_type(&p, spec->period_type, spec->period_unit, &pt);
	if (!err)
		err = pp_comments(&p);
	if (!err)
		err = pp_mappings(&p);
	if (!err)
		err = pp_samples(&p);
	if (!err)
		err = pp_keep_mappings(&p);
	if (err)
		goto out;
	prof.n_sample_type = (size_t)spec->nvalues;
	prof.sample_type = stp;
	prof.period_type = &pt;
	prof.period = 1;
	prof.time_nanos = snap->time_nanos;
	prof.duration_nanos = snap->duration_nanos;
	err = pp_pack(&p, &prof, out, outlen);
out:
	pp_free(&p);
	return err;
}

/* The labels of block samples: `op` (the wrapped call, the leaf),
 * `class` (sync, io, sleep) and, for waits on an fd, `fd_kind` (socket,
 * pipe, ...), so that `go tool pprof -tagfocus=op=read` or
 * `-tagignore=class=io` work; and of block and mutex samples on a lock,
 * `lock` and `lock_kind` (-tagfocus=lock=ledger_lock). Go attaches
 * goroutine labels the same way (pprof-format.md 1.8). */
#define PP_NLABELS 5
struct pp_rec_labels {
	struct ct_pprof_labels lb; /* PP_NLABELS per record */
	char (*kind)[48];          /* lock_kind of each record */
};

static int
pp_rec_labels(struct pp_rec_labels *bl, struct ct_pprof_spec *spec, enum ct_profile_kind pk,
	      struct ct_locknames *ln)
{
	bl->kind = calloc(spec->nrecords ? spec->nrecords : 1, sizeof(*bl->kind));
	if (ct_pprof_labels_alloc(&bl->lb, spec->nrecords, PP_NLABELS) < 0 || !bl->kind)
		return -ENOMEM;
	for (size_t i = 0; i < spec->nrecords; i++) {
		const struct ct_record *r = &spec->records[i];
		struct ct_pprof_label *l = bl->lb.v + PP_NLABELS * i;
		size_t k = 0;

		if (ct_op_class(r->op) == CT_CLASS_NONE)
			continue; /* the table-full record: no wrapped call */
		if (pk == CT_PROF_BLOCK) {
			l[k++] = CT_PL_STR("op", ct_op_name(r->op));
			l[k++] = CT_PL_STR("class", ct_op_class_name(r->op));
			if (r->fd_kind)
				l[k++] = CT_PL_STR("fd_kind", ct_fdkind_name(r->fd_kind));
		}
		if (r->obj && ln) {
			l[k++] = CT_PL_STR("lock", ct_locknames_get(ln, r->obj, NULL));
			ct_lock_kind_name(ct_locknames_kind(ln, r->obj, r->lock_kind), bl->kind[i],
					  sizeof(bl->kind[i]));
			l[k++] = CT_PL_STR("lock_kind", bl->kind[i]);
		}
		bl->lb.n[i] = k;
	}
	spec->labels = bl->lb.per;
	spec->nlabels = bl->lb.n;
	return 0;
}

static void
pp_rec_labels_free(struct pp_rec_labels *bl)
{
	ct_pprof_labels_free(&bl->lb);
	free(bl->kind);
}

int
ct_pprof_encode(const struct ct_snapshot *snap, enum ct_profile_kind kind,
		const struct ct_maps *maps, struct ct_symbolizer *sym, uint8_t **out,
		size_t *outlen)
{
	char comments[4][160];

	*out = NULL;
	*outlen = 0;
	if (!snap || (unsigned)kind >= CT_PROF_COUNT)
		return -EINVAL;
	const struct ct_profile_snapshot *ps = &snap->prof[kind];
	pp_profile_comments(snap, ps, comments);
	struct ct_pprof_spec spec = {
		CT_PPROF_CONTENTIONS,
		.comments = {comments[0], comments[1], comments[2], comments[3]},
		.records = ps->records,
		.nrecords = ps->nrecords,
	};
	struct pp_rec_labels bl = {0};
	struct ct_locknames *ln = NULL;
	int err = ct_locknames__new(snap, sym, &ln);

	if (!err)
		err = pp_rec_labels(&bl, &spec, kind, ln);
	if (!err)
		err = ct_pprof_encode_spec(snap, &spec, maps, sym, out, outlen);
	pp_rec_labels_free(&bl);
	ct_locknames__free(ln);
	return err;
}

static int
pp_cmp_record(const void *a, const void *b, void *arg)
{
	const struct ct_record *r = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;

	if (r[i].delay_ns != r[j].delay_ns)
		return r[i].delay_ns > r[j].delay_ns ? -1 : 1;
	if (r[i].count != r[j].count)
		return r[i].count > r[j].count ? -1 : 1;
	return i < j ? -1 : i > j;
}

void
ct_pprof_order(const struct ct_record *recs, size_t n, size_t *order)
{
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), pp_cmp_record, (void *)recs);
}

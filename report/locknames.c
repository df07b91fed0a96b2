/* Lock names; see locknames.h. Owns per-call caches only: the objects
 * mapped (the snapshot's list), their data symbols (libelf, read on first
 * use) and the names given so far. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/locks.h"
#include "../core/snapshot.h"
#include "cmp.h"
#include "demangle.h"
#include "locknames.h"
#include "locktable.h"
#include "symbolize.h"

struct ln_sym {
	uint64_t start, size;
	char *name; /* as in the symbol table (mangled for C++) */
};

struct ln_obj {
	char *path;
	uint64_t bias;
	uint64_t lo, hi; /* every PT_LOAD, file and memory size */
	bool loaded;
	struct ln_sym *syms; /* sorted by start */
	size_t nsyms;
};

struct ln_name {
	uintptr_t obj;
	char *name;
	enum ct_lockname_how how;
};

struct ct_locknames {
	const struct ct_snapshot *snap;
	struct ct_symbolizer *sym;
	struct ln_obj *objs;
	size_t nobjs;
	struct ct_locksite *sites; /* sorted by obj */
	size_t nsites;
	struct ct_locksite *kinds; /* obj -> kind seen at a wait (attributes), sorted */
	size_t nkinds;
	struct ln_name *names;     /* open addressing, capnames a power of 2 */
	size_t nnames, capnames;
	bool ready;                /* objs, sites and kinds built (ln_ready) */
	int ready_err;             /* what building them returned */
	int err;
};

/* The objects of the snapshot (core/dlhist.c lists them with the
 * shim's own pass over the loaded objects, which forks wait for: a pass
 * of ours here, on the dumper thread, could leave a fork child glibc's
 * loader lock held and its exit dump hung). The vDSO is not listed. */
static int
ln_objs(struct ct_locknames *ln)
{
	const struct ct_snapshot *snap = ln->snap;

	if (!snap->ndl_live)
		return 0;
	ln->objs = calloc(snap->ndl_live, sizeof(*ln->objs));
	if (!ln->objs)
		return -ENOMEM;
	for (size_t i = 0; i < snap->ndl_live; i++) {
		const struct ct_dl_gone *g = &snap->dl_live[i];
		struct ln_obj *o = &ln->objs[ln->nobjs];

		if (g->hi <= g->lo || !g->path[0])
			continue;
		o->path = strdup(g->path);
		if (!o->path)
			return -ENOMEM;
		o->bias = g->base;
		o->lo = g->lo;
		o->hi = g->hi;
		ln->nobjs++;
	}
	return 0;
}

CT_CMP_BY_FIELD(ln_cmp_sym, struct ln_sym, start)

/* The data symbols of o (its .symtab, else .dynsym). A file that cannot
 * be read leaves none: its locks are named by site instead. */
static void
ln_load_syms(struct ct_locknames *ln, struct ln_obj *o)
{
	o->loaded = true;
	int fd = open(o->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	Elf_Scn *scn = NULL, *use = NULL;
	GElf_Shdr sh, ush = {0};
	size_t cap = 0;
	while (e && (scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB || (sh.sh_type == SHT_DYNSYM && !use)) {
			use = scn;
			ush = sh;
		}
	}
	Elf_Data *d = use ? elf_getdata(use, NULL) : NULL;
	size_t n = d && ush.sh_entsize ? ush.sh_size / ush.sh_entsize : 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym s;
		if (!gelf_getsym(d, (int)i, &s) || s.st_size == 0 || s.st_shndx == SHN_UNDEF)
			continue;
		int t = GELF_ST_TYPE(s.st_info);
		if (t != STT_OBJECT && t != STT_COMMON)
			continue;
		const char *nm = elf_strptr(e, ush.sh_link, s.st_name);
		if (!nm || !nm[0])
			continue;
		if (o->nsyms == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct ln_sym *nv = realloc(o->syms, ncap * sizeof(*nv));
			if (!nv) {
				ln->err = -ENOMEM;
				break;
			}
			o->syms = nv;
			cap = ncap;
		}
		/* Demangled only when it names a lock (ln_data_symbol): a big
		 * C++ program has many object symbols. */
		o->syms[o->nsyms].start = o->bias + s.st_value;
		o->syms[o->nsyms].size = s.st_size;
		o->syms[o->nsyms].name = strdup(nm);
		if (!o->syms[o->nsyms].name) {
			ln->err = -ENOMEM;
			break;
		}
		o->nsyms++;
	}
	if (e)
		elf_end(e);
	close(fd);
	qsort(o->syms, o->nsyms, sizeof(*o->syms), ln_cmp_sym);
}

/* "symbol" or "symbol+0xOFF" for a data address, into buf; false if no
 * symbol covers it. */
static bool
ln_data_symbol(struct ct_locknames *ln, uintptr_t addr, char *buf, size_t len)
{
	for (size_t i = 0; i < ln->nobjs; i++) {
		struct ln_obj *o = &ln->objs[i];
		if (addr < o->lo || addr >= o->hi)
			continue;
		if (!o->loaded)
			ln_load_syms(ln, o);
		/* The last symbol starting at or before addr, then back over
		 * any that start there too but end before it. */
		size_t lo = 0, hi = o->nsyms;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (o->syms[mid].start <= addr)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t j = lo; j-- > 0;) {
			const struct ln_sym *s = &o->syms[j];
			if (addr - s->start < s->size) {
				char *dm = ct_demangle_name(s->name);
				const char *nm = dm ? dm : s->name;
				if (addr == s->start)
					snprintf(buf, len, "%s", nm);
				else
					snprintf(buf, len, "%s+0x%" PRIx64, nm,
						 (uint64_t)(addr - s->start));
				free(dm);
				return true;
			}
			if (lo - j >= 16)
				break; /* nested symbols are few; the container is close */
		}
		return false;
	}
	return false;
}

CT_CMP_BY_FIELD(ln_cmp_site, struct ct_locksite, obj)

/* The objects, the creation sites and the kinds, built on the first
 * question asked: most profiles a fork child writes at exit (an idle
 * wait, a read) name no lock, and building them meant a pass over the
 * loaded objects and sorting every creation site the process inherited
 * (hundreds in a PostgreSQL backend), for each profile. 0 or -ENOMEM
 * (then every name is an address: nothing half-built is used). */
static int
ln_ready(struct ct_locknames *ln)
{
	const struct ct_snapshot *snap = ln->snap;

	if (ln->ready)
		return ln->ready_err;
	ln->ready = true;
	ln->err = ln_objs(ln);
	if (!ln->err && snap->nlocksites) {
		ln->sites = malloc(snap->nlocksites * sizeof(*ln->sites));
		if (!ln->sites) {
			ln->err = -ENOMEM;
		} else {
			memcpy(ln->sites, snap->locksites, snap->nlocksites * sizeof(*ln->sites));
			ln->nsites = snap->nlocksites;
			qsort(ln->sites, ln->nsites, sizeof(*ln->sites), ln_cmp_site);
		}
	}
	if (!ln->err && snap->nlockstats) {
		ln->kinds = calloc(snap->nlockstats, sizeof(*ln->kinds));
		if (!ln->kinds) {
			ln->err = -ENOMEM;
		} else {
			for (size_t i = 0; i < snap->nlockstats; i++) {
				const struct ct_lockstat *st = &snap->lockstats[i];
				if (st->role == CT_LR_WAIT) {
					ln->kinds[ln->nkinds].obj = st->obj;
					ln->kinds[ln->nkinds++].kind = st->kind;
				}
			}
			qsort(ln->kinds, ln->nkinds, sizeof(*ln->kinds), ln_cmp_site);
		}
	}
	ln->ready_err = ln->err;
	return ln->ready_err;
}

int
ct_locknames__new(const struct ct_snapshot *snap, struct ct_symbolizer *sym,
		  struct ct_locknames **out)
{
	struct ct_locknames *ln = calloc(1, sizeof(*ln));
	*out = NULL;
	if (!ln)
		return -ENOMEM;
	ln->snap = snap;
	ln->sym = sym;
	*out = ln;
	return 0;
}

void
ct_locknames__free(struct ct_locknames *ln)
{
	if (!ln)
		return;
	for (size_t i = 0; i < ln->nobjs; i++) {
		for (size_t j = 0; j < ln->objs[i].nsyms; j++)
			free(ln->objs[i].syms[j].name);
		free(ln->objs[i].syms);
		free(ln->objs[i].path);
	}
	free(ln->objs);
	free(ln->sites);
	free(ln->kinds);
	for (size_t i = 0; i < ln->capnames; i++)
		free(ln->names[i].name);
	free(ln->names);
	free(ln);
}

static const struct ct_locksite *
ln_site_of(struct ct_locknames *ln, uintptr_t obj)
{
	struct ct_locksite key = {.obj = obj};
	return ln->nsites ? bsearch(&key, ln->sites, ln->nsites, sizeof(key), ln_cmp_site) : NULL;
}

unsigned
ct_locknames_kind(struct ct_locknames *ln, uintptr_t obj, unsigned fallback)
{
	if (ln_ready(ln) < 0)
		return fallback;
	const struct ct_locksite *s = ln_site_of(ln, obj);
	if (s && s->how == CT_LS_INIT && (!fallback || CT_LK_BASE(s->kind) == CT_LK_BASE(fallback)))
		return s->kind;
	struct ct_locksite key = {.obj = obj};
	s = ln->nkinds ? bsearch(&key, ln->kinds, ln->nkinds, sizeof(key), ln_cmp_site) : NULL;
	if (s && (!fallback || CT_LK_BASE(s->kind) == CT_LK_BASE(fallback)))
		return s->kind;
	return fallback;
}

static const char *
ln_basename(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* ct_locknames_site's work: false, with "0x..." in buf, when pc has no
 * name. */
static bool
ln_site_named(struct ct_locknames *ln, uintptr_t pc, char *buf, size_t len)
{
	const struct ct_frame *fr = NULL;
	size_t n = 0;

	if (pc && ln->sym)
		ct_symbolize_addr(ln->sym, pc - 1, &fr, &n);
	/* The innermost frame of the program's own code: a lock call inlined
	 * from a system header (std::shared_mutex's __glibcxx_rwlock_rdlock)
	 * says less than the function that made it. */
	size_t i = 0;
	while (i + 1 < n && fr[i].file && ct_locktable_system_file(fr[i].file))
		i++;
	if (n == 0)
		snprintf(buf, len, "0x%" PRIxPTR, pc);
	else if (fr[i].file && fr[i].line > 0)
		snprintf(buf, len, "%s (%s:%" PRId64 ")", fr[i].name, ln_basename(fr[i].file),
			 fr[i].line);
	else
		snprintf(buf, len, "%s", fr[i].name);
	return n > 0;
}

const char *
ct_locknames_site(struct ct_locknames *ln, uintptr_t pc, char *buf, size_t len)
{
	ln_site_named(ln, pc, buf, len);
	return buf;
}

static int
ln_grow(struct ct_locknames *ln)
{
	size_t ncap = ln->capnames ? ln->capnames * 2 : 256;
	struct ln_name *nv = calloc(ncap, sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	for (size_t i = 0; i < ln->capnames; i++) {
		if (!ln->names[i].name)
			continue;
		size_t h = (size_t)((ln->names[i].obj >> 3) * 0x9e3779b97f4a7c15ULL) & (ncap - 1);
		while (nv[h].name)
			h = (h + 1) & (ncap - 1);
		nv[h] = ln->names[i];
	}
	free(ln->names);
	ln->names = nv;
	ln->capnames = ncap;
	return 0;
}

const char *
ct_locknames_get(struct ct_locknames *ln, uintptr_t obj, enum ct_lockname_how *how)
{
	char buf[512];
	enum ct_lockname_how h;

	if (how)
		*how = CT_LN_ADDRESS;
	if (!obj)
		return "";
	if ((ln->nnames + 1) * 2 > ln->capnames && ln_grow(ln) < 0)
		return "?";
	size_t i = (size_t)((obj >> 3) * 0x9e3779b97f4a7c15ULL) & (ln->capnames - 1);
	while (ln->names[i].name && ln->names[i].obj != obj)
		i = (i + 1) & (ln->capnames - 1);
	if (ln->names[i].name) {
		if (how)
			*how = ln->names[i].how;
		return ln->names[i].name;
	}
	const struct ct_locksite *s;
	/* Out of memory building the tables: the lock is its address. */
	if (ln_ready(ln) < 0) {
		snprintf(buf, sizeof(buf), "0x%" PRIxPTR, obj);
		h = CT_LN_ADDRESS;
	} else if (ln_data_symbol(ln, obj, buf, sizeof(buf))) {
		h = CT_LN_SYMBOL;
	} else if ((s = ln_site_of(ln, obj)) && ln_site_named(ln, s->site, buf, sizeof(buf))) {
		h = s->how == CT_LS_INIT ? CT_LN_INIT : CT_LN_FIRST_WAIT;
	} else {
		/* Not a site without a name: its "0x..." would read as the
		 * lock's address (a jemalloc condvar showed the return
		 * address of its wait, in libjemalloc's code). */
		snprintf(buf, sizeof(buf), "0x%" PRIxPTR, obj);
		h = CT_LN_ADDRESS;
	}
	char *name = strdup(buf);
	if (!name)
		return "?";
	ln->names[i].obj = obj;
	ln->names[i].name = name;
	ln->names[i].how = h;
	ln->nnames++;
	if (how)
		*how = h;
	return name;
}

const char *
ct_lockname_how_str(enum ct_lockname_how how)
{
	switch (how) {
	case CT_LN_SYMBOL:
		return "symbol";
	case CT_LN_INIT:
		return "init";
	case CT_LN_FIRST_WAIT:
		return "first-wait";
	default:
		return "address";
	}
}

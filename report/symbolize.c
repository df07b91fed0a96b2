/* In-process symbolization with libdwfl (see symbolize.h). Owns the Dwfl
 * session and the caches; all strings it hands out live in s->strs.
 * Must never crash on a bad address: every libdw call tolerates NULL and
 * every miss degrades to "no frames" or to the ELF symbol. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/snapshot.h"
#include "debuginfo.h"
#include "cmp.h"
#include "demangle.h"
#include "intern.h"
#include "symbolize.h"
#include "vec.h"

struct sym_res {
	uint32_t first, n; /* slice of s->frames */
};

struct sym_fn {
	const char *name, *system_name;
	int64_t start_line;
};

/* Cache key for functions, CU indexes and symbol tables of a module. */
struct sym_key {
	const void *mod;
	uint64_t off;  /* DIE offset or symbol value */
	uint64_t kind; /* 0 = DIE, 1 = ELF symbol, 2 = CU, 3 = module */
};

/* One address range of a function with code, in DWARF (unbiased)
 * addresses. */
struct sym_range {
	Dwarf_Addr lo, hi;
	Dwarf_Off die;
};

/* A CU's functions sorted by address: found once per CU with
 * dwarf_getfuncs, then each address costs a binary search instead of a
 * walk over the whole CU (which dwarf_getscopes does every time). */
struct sym_cu {
	struct sym_range *r;
	size_t n, cap;
};

/* A module's function symbols sorted by address: dwfl_module_addrinfo
 * scans the whole symbol table per call, too slow for thousands of
 * addresses in libraries without debug info. */
struct sym_elfsym {
	GElf_Addr lo, hi; /* biased (process) addresses */
	const char *name; /* in the module's string table, owned by libdwfl */
	int rank;         /* among aliases: higher is preferred */
};

struct sym_elfsyms {
	struct sym_elfsym *v;
	size_t n, cap;
};

struct sym_fd {
	int fd;
	dev_t dev;
	ino_t ino;
};

struct ct_symbolizer {
	Dwfl *dwfl;
	struct ct_intern strs;  /* every string in a ct_frame */
	struct ct_intern addrs; /* uint64_t address -> index into res */
	struct sym_res *res;
	size_t capres;
	struct ct_frame *frames;
	size_t nframes, capframes;
	struct ct_intern fnkeys; /* struct sym_key -> index into fns */
	struct sym_fn *fns;
	size_t capfns;
	struct ct_intern cukeys; /* struct sym_key (kind 2) -> index into cus */
	struct sym_cu *cus;
	size_t capcus;
	struct ct_intern modkeys; /* struct sym_key (kind 3) -> index into syms */
	struct sym_elfsyms *syms;
	size_t capsyms;
	char note[480]; /* files that could not be read; see ct_symbolize_note */
	/* The objects a kept symbolizer describes (ct_symbolize_acquire):
	 * snap->dl_live as it was when it was made. */
	struct ct_dl_gone *objs;
	size_t nobjs;
	pid_t pid; /* the process a kept one was last used in */
	/* The descriptors libdwfl holds for this session (and closes at
	 * dwfl_end), each with its file's identity; fds_lost when one could
	 * not be recorded. See sym_fds_ours. */
	struct sym_fd *fds;
	size_t nfds, capfds;
	bool fds_lost;
};

/* A source position while walking an inline chain; file may be relative. */
struct sym_pos {
	const char *file;
	int line, col;
};

/* ---- the descriptors libdwfl holds ------------------------------------ */

/* Records fd as held by s's session (fd < 0: nothing was opened), and
 * closes it on exec: libdwfl opens files without O_CLOEXEC, and a kept
 * session's descriptors would pass to whatever the program execs (nginx
 * re-executing itself for a binary upgrade got its ELF file and libc's). */
static void
sym_fd_held(struct ct_symbolizer *s, int fd)
{
	struct stat st;

	if (fd < 0)
		return;
	int fl = fcntl(fd, F_GETFD);
	if (fl >= 0 && !(fl & FD_CLOEXEC))
		fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
	if (!s || fstat(fd, &st) != 0 ||
	    ct_vec_reserve(&s->fds, &s->capfds, s->nfds + 1, sizeof(*s->fds)) != 0) {
		if (s)
			s->fds_lost = true;
		return;
	}
	s->fds[s->nfds++] = (struct sym_fd){fd, st.st_dev, st.st_ino};
}

static bool
sym_fd_still(const struct sym_fd *f)
{
	struct stat st;

	return fstat(f->fd, &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino;
}

/* Whether every descriptor s's session holds is still the file it
 * opened. A program may close every descriptor it did not open itself (a
 * daemon's sweep, close_range) and get the numbers back for files and
 * sockets of its own, or dup2 onto one: dwfl_end would then close the
 * program's descriptor under it. */
static bool
sym_fds_ours(const struct ct_symbolizer *s)
{
	if (s->fds_lost)
		return false;
	for (size_t i = 0; i < s->nfds; i++)
		if (!sym_fd_still(&s->fds[i]))
			return false;
	return true;
}

/* libdwfl calls these with the module's userdata, which sym_adopt set
 * to the module's symbolizer; they open the files libdwfl keeps. */
static int
sym_find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
	     char **file_name, Elf **elfp)
{
	int fd = dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);

	sym_fd_held(*userdata, fd);
	return fd;
}

static int
sym_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		   const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
		   char **debuginfo_file_name)
{
	int fd = ct_debuginfo_find(mod, userdata, modname, base, file_name, debuglink_file,
				   debuglink_crc, debuginfo_file_name);

	sym_fd_held(*userdata, fd);
	return fd;
}

static const Dwfl_Callbacks sym_callbacks = {
	.find_elf = sym_find_elf,
	.find_debuginfo = sym_find_debuginfo,
};

static int
sym_adopt_cb(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start, void *arg)
{
	(void)mod, (void)name, (void)start;
	*userdata = arg;
	return DWARF_CB_OK;
}

/* Points every module reported into s at s, for the callbacks above. */
static void
sym_adopt(struct ct_symbolizer *s)
{
	dwfl_getmodules(s->dwfl, sym_adopt_cb, s, 0);
}

/* ---- strings and paths ---------------------------------------------- */

/* Interned copy of str (NULL stays NULL); *err = -ENOMEM on failure. */
static const char *
sym_str(struct ct_symbolizer *s, const char *str, int *err)
{
	uint32_t idx;
	int rc;

	if (!str)
		return NULL;
	rc = ct_intern_str(&s->strs, str, &idx);
	if (rc < 0) {
		*err = rc;
		return NULL;
	}
	return ct_intern_key(&s->strs, idx);
}

void
ct_symbolize_clean_path(char *p)
{
	bool rooted = p[0] == '/', last = p[rooted] == '\0';
	char *base = p + rooted, *out = base, *in = base;
	char *dotdot = base; /* end of the leading "../" run of a relative path */

	while (!last) {
		char *end = strchrnul(in, '/');
		size_t len = (size_t)(end - in);

		/* Decide now: writing to out can overwrite *end. */
		last = *end == '\0';
		if (len == 0 || (len == 1 && in[0] == '.')) {
			/* "//" and "/./" */
		} else if (len == 2 && in[0] == '.' && in[1] == '.') {
			if (out > dotdot) {
				out--; /* the '/' after the last kept component */
				while (out > dotdot && out[-1] != '/')
					out--;
			} else if (!rooted) {
				memmove(out, "../", 3);
				dotdot = out += 3;
			}
		} else {
			memmove(out, in, len);
			out += len;
			*out++ = '/';
		}
		in = end + 1;
	}
	if (out > base)
		out--; /* no trailing '/' */
	*out = '\0';
	if (!rooted && out == p && in != p)
		strcpy(p, "."); /* "a/.." (room: the input had >= 2 bytes) */
}

/* Cleaned, interned form of a DWARF file name: relative names are joined
 * to the CU's DW_AT_comp_dir, which gives an absolute path unless the
 * compiler was told to relativize it (-fdebug-prefix-map, as Debian's
 * glibc: "./nptl" + "../sysdeps/x.h" -> "sysdeps/x.h"). */
static const char *
sym_path(struct ct_symbolizer *s, Dwarf_Die *cu, const char *file, int *err)
{
	const char *dir = NULL, *ret;
	Dwarf_Attribute a;
	char *buf;
	int n;

	if (!file)
		return NULL;
	if (file[0] != '/')
		dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &a));
	if (dir && dir[0])
		n = asprintf(&buf, "%s/%s", dir, file);
	else
		n = asprintf(&buf, "%s", file);
	if (n < 0) {
		*err = -ENOMEM;
		return NULL;
	}
	ct_symbolize_clean_path(buf);
	ret = sym_str(s, buf, err);
	free(buf);
	return ret;
}

/* ---- functions ------------------------------------------------------ */

/* Caches one function under key: raw is its linkage or plain name. */
static int
sym_fn_add(struct ct_symbolizer *s, const struct sym_key *key, const char *raw,
	   int64_t start_line, const struct sym_fn **out)
{
	char *dem = ct_demangle_name(raw);
	struct sym_fn fn = {.start_line = start_line};
	uint32_t idx;
	int err = 0;

	fn.system_name = sym_str(s, raw, &err);
	fn.name = dem ? sym_str(s, dem, &err) : fn.system_name;
	free(dem);
	if (!err)
		err = ct_vec_reserve(&s->fns, &s->capfns, s->fnkeys.n + 1, sizeof(*s->fns));
	if (!err)
		err = ct_intern_add(&s->fnkeys, key, sizeof(*key), &idx);
	if (err < 0)
		return err;
	s->fns[idx] = fn;
	*out = &s->fns[idx];
	return 0;
}


static const char *
sym_die_string(Dwarf_Die *die, int name)
{
	Dwarf_Attribute a;

	/* _integrate follows DW_AT_abstract_origin and DW_AT_specification:
	 * inlined instances and out-of-class C++ definitions carry their
	 * names only on the abstract or declaring DIE. */
	return dwarf_formstring(dwarf_attr_integrate(die, name, &a));
}

/* The function a subprogram or inlined_subroutine DIE stands for. */
static int
sym_fn_die(struct ct_symbolizer *s, Dwfl_Module *mod, Dwarf_Die *die, const struct sym_fn **out)
{
	struct sym_key key = {.mod = mod, .off = dwarf_dieoffset(die), .kind = 0};
	const char *raw;
	uint32_t idx;
	int decl = 0;

	if (ct_intern_find(&s->fnkeys, &key, sizeof(key), &idx) == 0) {
		*out = &s->fns[idx];
		return 0;
	}
	raw = sym_die_string(die, DW_AT_linkage_name);
	if (!raw)
		raw = sym_die_string(die, DW_AT_MIPS_linkage_name);
	if (!raw)
		raw = sym_die_string(die, DW_AT_name);
	if (!raw)
		raw = "??"; /* unnamed DIE: keep its line rather than drop it */
	dwarf_decl_line(die, &decl);
	return sym_fn_add(s, &key, raw, decl, out);
}

/* ---- frames --------------------------------------------------------- */

static int
sym_push(struct ct_symbolizer *s, const struct sym_fn *fn, const char *file, int line, int col)
{
	struct ct_frame *f;
	int err = ct_vec_reserve(&s->frames, &s->capframes, s->nframes + 1, sizeof(*s->frames));

	if (err)
		return err;
	f = &s->frames[s->nframes++];
	f->name = fn->name;
	f->system_name = fn->system_name;
	f->file = file;
	f->line = line > 0 ? line : 0;
	f->column = col > 0 ? col : 0;
	f->start_line = fn->start_line;
	return 0;
}

/* Position in the caller where an inlined_subroutine DIE was inlined. */
static void
sym_call_pos(Dwarf_Die *cu, Dwarf_Die *die, struct sym_pos *pos)
{
	Dwarf_Attribute a;
	Dwarf_Files *files;
	Dwarf_Word v;
	size_t nfiles;

	pos->file = NULL;
	pos->line = pos->col = 0;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &a), &v) == 0 &&
	    dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && v < nfiles)
		pos->file = dwarf_filesrc(files, v, NULL, NULL);
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &a), &v) == 0 && v <= INT_MAX)
		pos->line = (int)v;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_column, &a), &v) == 0 && v <= INT_MAX)
		pos->col = (int)v;
}

/* Walks the concrete DIE nesting of addr from the innermost scope out:
 * each inlined_subroutine is a frame positioned by the line table (the
 * innermost) or by the DW_AT_call_* of the frame inside it; the enclosing
 * subprogram is the last frame. */
static int
sym_walk_scopes(struct ct_symbolizer *s, Dwfl_Module *mod, Dwarf_Die *cu, Dwarf_Die *chain,
		int n, struct sym_pos pos)
{
	const struct sym_fn *fn;
	const char *file;
	int err = 0;

	for (int i = 0; i < n && !err; i++) {
		int tag = dwarf_tag(&chain[i]);

		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;
		err = sym_fn_die(s, mod, &chain[i], &fn);
		file = err ? NULL : sym_path(s, cu, pos.file, &err);
		if (!err)
			err = sym_push(s, fn, file, pos.line, pos.col);
		if (tag == DW_TAG_subprogram)
			break;
		sym_call_pos(cu, &chain[i], &pos);
	}
	return err;
}

/* ---- address -> DIE chain ------------------------------------------- */

struct sym_funcs_arg {
	struct sym_cu *cu;
	int err;
};

static int
sym_funcs_cb(Dwarf_Die *fn, void *argp)
{
	struct sym_funcs_arg *arg = argp;
	struct sym_cu *c = arg->cu;
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;

	/* Declarations and abstract inline instances have no ranges. */
	while ((off = dwarf_ranges(fn, off, &base, &lo, &hi)) > 0) {
		arg->err = ct_vec_reserve(&c->r, &c->cap, c->n + 1, sizeof(*c->r));
		if (arg->err)
			return DWARF_CB_ABORT;
		c->r[c->n++] = (struct sym_range){lo, hi, dwarf_dieoffset(fn)};
	}
	return DWARF_CB_OK;
}

CT_CMP_BY_FIELD(sym_cmp_range, struct sym_range, lo)

/* A new entry of one of the symbolizer's caches (keys in keys, entries
 * in arr, of elsz bytes): room for it in arr, then key added. Its index
 * into *idx; 0 or -ENOMEM (the cache unchanged). */
static int
sym_cache_add(struct ct_intern *keys, void *arr, size_t *cap, size_t elsz,
	      const struct sym_key *key, uint32_t *idx)
{
	int err = ct_vec_reserve(arr, cap, keys->n + 1, elsz);

	if (!err)
		err = ct_intern_add(keys, key, sizeof(*key), idx);
	return err < 0 ? err : 0;
}

/* The function index of cu, built on first use. */
static int
sym_cu_index(struct ct_symbolizer *s, Dwfl_Module *mod, Dwarf_Die *cu, const struct sym_cu **out)
{
	struct sym_key key = {.mod = mod, .off = dwarf_dieoffset(cu), .kind = 2};
	struct sym_funcs_arg arg = {0};
	struct sym_cu c = {0};
	uint32_t idx;
	int err;

	if (ct_intern_find(&s->cukeys, &key, sizeof(key), &idx) == 0) {
		*out = &s->cus[idx];
		return 0;
	}
	arg.cu = &c;
	dwarf_getfuncs(cu, sym_funcs_cb, &arg, 0);
	err = arg.err;
	if (!err)
		err = sym_cache_add(&s->cukeys, &s->cus, &s->capcus, sizeof(*s->cus), &key, &idx);
	if (err < 0) {
		free(c.r);
		return err;
	}
	qsort(c.r, c.n, sizeof(*c.r), sym_cmp_range);
	s->cus[idx] = c;
	*out = &s->cus[idx];
	return 0;
}

/* The index + 1 of the entry of v[0..n) (sorted by .lo; each ends
 * before its .hi) that holds addr, or 0: the last one starting at or
 * below addr, or one of the few before it, since spans may nest (nested
 * functions; a big symbol around smaller ones, aliases). */
#define SYM_SPAN_FIND(v, n, addr)                                                        \
	({                                                                               \
		size_t lo_ = 0, hi_ = (n), at_ = 0;                                      \
		while (lo_ < hi_) {                                                      \
			size_t mid_ = lo_ + (hi_ - lo_) / 2;                             \
			if ((v)[mid_].lo <= (addr))                                      \
				lo_ = mid_ + 1;                                          \
			else                                                             \
				hi_ = mid_;                                              \
		}                                                                        \
		for (size_t i_ = lo_, tries_ = 0; !at_ && i_ > 0 && tries_ < 8; i_--, tries_++) \
			if ((addr) < (v)[i_ - 1].hi)                                     \
				at_ = i_;                                                \
		at_;                                                                     \
	})

/* The function whose code contains pc. */
static int
sym_cu_func(const struct sym_cu *c, Dwarf_Addr pc, Dwarf_Off *die)
{
	size_t at = SYM_SPAN_FIND(c->r, c->n, pc);

	if (!at)
		return 0;
	*die = c->r[at - 1].die;
	return 1;
}

/* DIE chain from the scope innermost at pc out to fn (a subprogram), in
 * a malloc'd array; descends only into children that contain pc. Returns
 * its length, or -ENOMEM. */
static int
sym_chain_down(Dwarf_Die *fn, Dwarf_Addr pc, Dwarf_Die **out)
{
	Dwarf_Die *v = NULL, die = *fn, child;
	size_t n = 0, cap = 0;
	int found;

	do {
		if (ct_vec_reserve(&v, &cap, n + 1, sizeof(*v))) {
			free(v);
			return -ENOMEM;
		}
		v[n++] = die;
		found = 0;
		if (dwarf_child(&die, &child) != 0)
			break;
		do {
			if (dwarf_haspc(&child, pc) == 1) {
				die = child;
				found = 1;
			}
		} while (!found && dwarf_siblingof(&child, &child) == 0);
	} while (found);
	/* Reverse: innermost first, as dwarf_getscopes_die orders them. */
	for (size_t i = 0; i < n / 2; i++) {
		Dwarf_Die t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
	*out = v;
	return (int)n;
}

/* Concrete DIE chain for pc, innermost first, ending at (at least) the
 * physical subprogram. Returns its length, 0 if unknown, or -ENOMEM. */
static int
sym_chain(struct ct_symbolizer *s, Dwfl_Module *mod, Dwarf_Die *cu, Dwarf_Addr pc,
	  Dwarf_Die **chain)
{
	const struct sym_cu *c;
	Dwarf_Die *scopes = NULL, fn;
	Dwarf_Off off;
	int n, err;

	*chain = NULL;
	err = sym_cu_index(s, mod, cu, &c);
	if (err)
		return err;
	if (sym_cu_func(c, pc, &off) && dwarf_offdie(dwarf_cu_getdwarf(cu->cu), off, &fn) &&
	    dwarf_tag(&fn) == DW_TAG_subprogram)
		return sym_chain_down(&fn, pc, chain);
	/* Not in the index (e.g. a GNU C nested function): the slow walk.
	 * dwarf_getscopes finds the innermost scope but continues through an
	 * inlined instance's abstract origin; the concrete parents (the
	 * functions it was inlined into) come from dwarf_getscopes_die. */
	n = dwarf_getscopes(cu, pc, &scopes);
	if (n > 0)
		n = dwarf_getscopes_die(&scopes[0], chain);
	free(scopes);
	return n > 0 ? n : 0;
}

static int
sym_dwarf(struct ct_symbolizer *s, Dwfl_Module *mod, Dwarf_Addr addr)
{
	Dwarf_Die *chain = NULL, *cu;
	struct sym_pos pos = {0};
	Dwarf_Addr bias = 0;
	Dwfl_Line *line;
	int n;

	cu = dwfl_module_addrdie(mod, addr, &bias);
	if (!cu)
		return 0;
	n = sym_chain(s, mod, cu, addr - bias, &chain);
	if (n > 0) {
		line = dwfl_module_getsrc(mod, addr);
		if (line)
			pos.file = dwfl_lineinfo(line, NULL, &pos.line, &pos.col, NULL, NULL);
		n = sym_walk_scopes(s, mod, cu, chain, n, pos);
	}
	free(chain);
	return n < 0 ? n : 0;
}

/* ---- ELF symbols ------------------------------------------------------ */

/* Which alias names an address: a global "pthread_mutex_unlock" rather
 * than a local or "__"-prefixed one at the same address. */
static int
sym_rank(const GElf_Sym *sym, const char *name)
{
	int bind = GELF_ST_BIND(sym->st_info);
	int rank = bind == STB_GLOBAL ? 4 : bind == STB_WEAK ? 2 : 0;

	return rank + (name[0] != '_');
}

CT_CMP(sym_cmp_elfsym, struct sym_elfsym)
{
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->rank > y->rank) - (x->rank < y->rank); /* best alias last */
}

/* One radix digit of e for pass p: the rank first (a small number), then
 * the address 11 bits at a time from the lowest. */
static unsigned
sym_elfsym_digit(const struct sym_elfsym *e, int p)
{
	return p < 0 ? (unsigned)e->rank & 2047u : (unsigned)(e->lo >> (11 * p)) & 2047u;
}

/* Sorts v in sym_cmp_elfsym's order (address, then rank: best alias
 * last) by a stable LSD radix sort: the rank, then the address 11 bits a
 * pass. qsort took ~5 M instructions over libc's ~6000 function symbols,
 * at the exit of every exec'd process that wrote profiles; this takes a
 * few hundred thousand. Passes whose digit is the same for every symbol
 * move nothing. qsort if the scratch copy cannot be had. */
/* The sort's scratch copy: from mmap when malloc would have mapped it.
 * Freeing a chunk malloc had mapped raises glibc's mmap threshold to its
 * size for the rest of the process (M_MMAP_THRESHOLD's dynamic
 * adjustment), and the program's own allocations up to that size would
 * then come from its heap instead: a PostgreSQL postmaster's threshold
 * went from 128 KiB to 300 KiB at the warm-up before its first fork (the
 * scratch for the postgres binary's 9552 symbols), and its backends took
 * their big allocations from the heap they share with it. */
#define SYM_SCRATCH_MMAP (64 * 1024)

static void *
sym_scratch_alloc(size_t bytes)
{
	if (bytes < SYM_SCRATCH_MMAP)
		return malloc(bytes);
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void
sym_scratch_free(void *p, size_t bytes)
{
	if (bytes < SYM_SCRATCH_MMAP)
		free(p);
	else if (p)
		munmap(p, bytes);
}

static void
sym_elfsyms_sort(struct sym_elfsym *v, size_t n)
{
	struct sym_elfsym *tmp = n > 1 ? sym_scratch_alloc(n * sizeof(*v)) : NULL, *src = v,
			  *dst = tmp;
	size_t count[2048];

	if (!tmp) {
		if (n > 1)
			qsort(v, n, sizeof(*v), sym_cmp_elfsym);
		return;
	}
	for (int p = -1; p < 6; p++) {
		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[sym_elfsym_digit(&src[i], p)]++;
		if (count[sym_elfsym_digit(&src[0], p)] == n)
			continue;
		for (size_t d = 0, at = 0; d < 2048; d++) {
			size_t c = count[d];
			count[d] = at;
			at += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[sym_elfsym_digit(&src[i], p)]++] = src[i];
		struct sym_elfsym *t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	sym_scratch_free(tmp, n * sizeof(*v));
}

static int
sym_elfsyms_build(Dwfl_Module *mod, struct sym_elfsyms *t)
{
	int n = dwfl_module_getsymtab(mod);

	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);

		if (!name || !*name || sym.st_shndx == SHN_UNDEF ||
		    (type != STT_FUNC && type != STT_GNU_IFUNC))
			continue;
		if (ct_vec_reserve(&t->v, &t->cap, t->n + 1, sizeof(*t->v)))
			return -ENOMEM;
		t->v[t->n++] = (struct sym_elfsym){addr, addr + sym.st_size, name,
						    sym_rank(&sym, name)};
	}
	sym_elfsyms_sort(t->v, t->n);
	/* A sizeless symbol (hand-written asm) reaches up to the next one. */
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].hi == t->v[i].lo)
			t->v[i].hi = i + 1 < t->n ? t->v[i + 1].lo : t->v[i].lo + 1;
	return 0;
}

/* The symbol table index of mod, built on first use. */
static int
sym_elfsyms(struct ct_symbolizer *s, Dwfl_Module *mod, const struct sym_elfsyms **out)
{
	struct sym_key key = {.mod = mod, .kind = 3};
	struct sym_elfsyms t = {0};
	uint32_t idx;
	int err;

	if (ct_intern_find(&s->modkeys, &key, sizeof(key), &idx) == 0) {
		*out = &s->syms[idx];
		return 0;
	}
	err = sym_elfsyms_build(mod, &t);
	if (!err)
		err = sym_cache_add(&s->modkeys, &s->syms, &s->capsyms, sizeof(*s->syms), &key, &idx);
	if (err < 0) {
		free(t.v);
		return err;
	}
	s->syms[idx] = t;
	*out = &s->syms[idx];
	return 0;
}

/* The best symbol containing addr: among the last few starting at or
 * below it (aliases, and a big symbol around smaller ones). */
static const struct sym_elfsym *
sym_elfsym_find(const struct sym_elfsyms *t, GElf_Addr addr)
{
	size_t at = SYM_SPAN_FIND(t->v, t->n, addr);

	return at ? &t->v[at - 1] : NULL;
}

/* No usable DWARF: the ELF symbol (.symtab, .dynsym or .gnu_debugdata). */
static int
sym_elf(struct ct_symbolizer *s, Dwfl_Module *mod, Dwarf_Addr addr)
{
	struct sym_key key = {.mod = mod, .kind = 1};
	const struct sym_elfsyms *t;
	const struct sym_elfsym *e;
	const struct sym_fn *fn;
	uint32_t idx;
	int err;

	err = sym_elfsyms(s, mod, &t);
	if (err)
		return err;
	e = sym_elfsym_find(t, addr);
	if (!e)
		return 0;
	key.off = e->lo;
	if (ct_intern_find(&s->fnkeys, &key, sizeof(key), &idx) == 0) {
		fn = &s->fns[idx];
	} else {
		/* .dynsym names carry their version ("__libc_start_main@GLIBC_2.2.5"):
		 * the function is the name before it, as in the DWARF. */
		char plain[512];
		const char *name = e->name, *at = strchr(name, '@');
		if (at && at > name && (size_t)(at - name) < sizeof(plain)) {
			memcpy(plain, name, (size_t)(at - name));
			plain[at - name] = '\0';
			name = plain;
		}
		err = sym_fn_add(s, &key, name, 0, &fn);
		if (err)
			return err;
	}
	return sym_push(s, fn, NULL, 0, 0);
}

/* The C and C++ runtime's own objects (glibc, libstdc++, libgcc): named
 * from their symbol tables, without file:line or inline frames. Their
 * DWARF, when a -dbg/-dbgsym package puts it in /usr/lib/debug, is
 * compressed and large: reading libc6-dbg's cost 205 M instructions (about
 * 100 ms) at the exit of every process that recorded a wait, a `wc` in a
 * shell pipeline included (the frames there: __libc_start_call_main and
 * __libc_start_main_impl), for lines of glibc's sources that no user of a
 * lock profile reads. A program's own objects keep their DWARF. */
static bool
sym_runtime_object(Dwfl_Module *mod)
{
	static const char *const runtime[] = {
		"libc.so.", "ld-linux", "libm.so.", "libpthread.so.", "libdl.so.", "librt.so.",
		"libstdc++.so.", "libgcc_s.so.",
	};
	/* The module's name is the path it was mapped from (its main file
	 * may not be open yet). */
	const char *path = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	if (!path)
		return false;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; i < sizeof(runtime) / sizeof(runtime[0]); i++)
		if (!strncmp(base, runtime[i], strlen(runtime[i])))
			return true;
	return false;
}

static int
sym_lookup(struct ct_symbolizer *s, uint64_t addr)
{
	size_t first = s->nframes;
	Dwfl_Module *mod;
	int err;

	mod = dwfl_addrmodule(s->dwfl, addr);
	if (!mod)
		return 0;
	err = sym_runtime_object(mod) ? 0 : sym_dwarf(s, mod, addr);
	if (err || s->nframes > first)
		return err;
	return sym_elf(s, mod, addr);
}

/* ---- public --------------------------------------------------------- */

int
ct_symbolize_addr(struct ct_symbolizer *s, uint64_t addr, const struct ct_frame **frames,
		  size_t *nframes)
{
	uint32_t idx;
	size_t first = s->nframes;
	int err;

	if (ct_intern_find(&s->addrs, &addr, sizeof(addr), &idx) != 0) {
		err = ct_vec_reserve(&s->res, &s->capres, s->addrs.n + 1, sizeof(*s->res));
		if (!err)
			err = sym_lookup(s, addr);
		if (!err)
			err = ct_intern_add(&s->addrs, &addr, sizeof(addr), &idx);
		if (err < 0) {
			s->nframes = first; /* forget a partial chain */
			return err;
		}
		s->res[idx].first = (uint32_t)first;
		s->res[idx].n = (uint32_t)(s->nframes - first);
	}
	*frames = s->frames + s->res[idx].first;
	*nframes = s->res[idx].n;
	return 0;
}

/* A symbolizer whose libdwfl session is open for reporting modules, or
 * NULL when memory is short. */
static struct ct_symbolizer *
sym_begin(void)
{
	struct ct_symbolizer *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->dwfl = dwfl_begin(&sym_callbacks);
	if (!s->dwfl) {
		ct_symbolize__free(s);
		return NULL;
	}
	dwfl_report_begin(s->dwfl);
	return s;
}

/* Ends the reporting of s's modules: 0 with *out = s, or -ENOENT with s
 * freed if libdwfl could not end it or no module was reported (any). */
static int
sym_end(struct ct_symbolizer *s, bool any, struct ct_symbolizer **out)
{
	if (dwfl_report_end(s->dwfl, NULL, NULL) != 0 || !any) {
		ct_symbolize__free(s);
		return -ENOENT;
	}
	sym_adopt(s);
	*out = s;
	return 0;
}

int
ct_symbolize__new(struct ct_symbolizer **out)
{
	struct ct_symbolizer *s = sym_begin();
	int err = 0, rc;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	rc = dwfl_linux_proc_report(s->dwfl, getpid());
	if (dwfl_report_end(s->dwfl, NULL, NULL) != 0 && rc == 0)
		rc = -1;
	if (rc != 0) {
		/* >0: errno reading /proc/PID/maps; -1: a libdwfl error. */
		err = rc > 0 ? -rc : -EIO;
		goto out;
	}
	sym_adopt(s);
	*out = s;
out:
	if (err)
		ct_symbolize__free(s);
	return err;
}

int
ct_symbolize__new_elf(const char *path, uint64_t bias, struct ct_symbolizer **out)
{
	struct ct_symbolizer *s = sym_begin();

	*out = NULL;
	if (!s)
		return -ENOMEM;
	/* Opened here, not by libdwfl, so the descriptor it keeps is known;
	 * add_p_vaddr: bias is the load bias, as dlpi_addr. */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Dwfl_Module *mod = fd < 0 ? NULL : dwfl_report_elf(s->dwfl, path, path, fd, bias, true);
	if (mod)
		sym_fd_held(s, fd);
	else if (fd >= 0)
		close(fd);
	return sym_end(s, mod != NULL, out);
}

int
ct_symbolize__new_objs(const struct ct_dl_gone *v, size_t n, struct ct_symbolizer **out)
{
	struct ct_symbolizer *s = sym_begin();
	size_t reported = 0, used = 0;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		/* Opened here so the reason a file is missing is errno's. */
		int fd = open(v[i].path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			if (!used)
				used = (size_t)snprintf(s->note, sizeof(s->note),
							"libcontend: cannot read, so no names from:");
			if (used < sizeof(s->note))
				used += (size_t)snprintf(s->note + used, sizeof(s->note) - used,
							 " %s (%s)", v[i].path, strerror(e));
			continue;
		}
		/* dwfl_report_elf keeps fd (and closes it at dwfl_end) on
		 * success; add_p_vaddr: base is the load bias, as dlpi_addr. */
		if (dwfl_report_elf(s->dwfl, v[i].path, v[i].path, fd, v[i].base, true)) {
			sym_fd_held(s, fd);
			reported++;
		} else
			close(fd);
	}
	return sym_end(s, reported > 0, out);
}

int
ct_symbolize__new_snap(const struct ct_snapshot *snap, struct ct_symbolizer **out)
{
	static bool said;
	int err = ct_symbolize__new(out);

	if (err == 0 || err == -ENOMEM || !snap || !snap->ndl_live)
		return err;
	err = ct_symbolize__new_objs(snap->dl_live, snap->ndl_live, out);
	if (*out && (*out)->note[0] && !said) {
		said = true;
		fprintf(stderr, "%s\n", (*out)->note);
	}
	return err;
}

/* The kept symbolizer and whether it is in use. A plain flag, not a
 * mutex: a fork child of a process whose other thread was writing
 * inherits the flag set and simply never uses the kept one (its state may
 * be half-updated), instead of waiting for a thread that does not exist. */
static struct ct_symbolizer *sym_kept;
static int sym_kept_busy;
/* Counts the kept symbolizers made (ct_symbolize_kept_gen). */
static uint64_t sym_kept_gen;

/* Whether s describes exactly the objects snap lists. */
static bool
sym_objs_same(const struct ct_symbolizer *s, const struct ct_snapshot *snap)
{
	if (s->nobjs != snap->ndl_live)
		return false;
	for (size_t i = 0; i < s->nobjs; i++) {
		const struct ct_dl_gone *a = &s->objs[i], *b = &snap->dl_live[i];

		if (a->base != b->base || a->start != b->start || a->limit != b->limit ||
		    strcmp(a->path, b->path) != 0 || strcmp(a->build_id, b->build_id) != 0)
			return false;
	}
	return true;
}

int
ct_symbolize_acquire(const struct ct_snapshot *snap, struct ct_symbolizer **out)
{
	struct ct_symbolizer *s;
	int err;

	*out = NULL;
	/* Without the list of objects a kept one cannot be checked. */
	if (!snap || !snap->ndl_live || __atomic_exchange_n(&sym_kept_busy, 1, __ATOMIC_ACQUIRE))
		return ct_symbolize__new_snap(snap, out);
	if (sym_kept && sym_objs_same(sym_kept, snap)) {
		s = sym_kept;
		/* Inherited from the parent: add to indexes of its own. */
		if (s->pid != getpid()) {
			ct_intern_freeze(&s->strs);
			ct_intern_freeze(&s->addrs);
			ct_intern_freeze(&s->fnkeys);
			ct_intern_freeze(&s->cukeys);
			ct_intern_freeze(&s->modkeys);
			s->pid = getpid();
		}
		*out = s;
		return 0;
	}
	ct_symbolize__free(sym_kept);
	sym_kept = NULL;
	err = ct_symbolize__new_snap(snap, &s);
	if (s) {
		s->objs = malloc(snap->ndl_live * sizeof(*s->objs));
		if (s->objs) {
			memcpy(s->objs, snap->dl_live, snap->ndl_live * sizeof(*s->objs));
			s->nobjs = snap->ndl_live;
			s->pid = getpid();
			sym_kept = s;
			sym_kept_gen++;
		}
	}
	if (!sym_kept)
		__atomic_store_n(&sym_kept_busy, 0, __ATOMIC_RELEASE);
	*out = s;
	return err;
}

static int
sym_open_cb(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start, void *arg)
{
	Dwarf_Addr bias;

	(void)userdata, (void)name, (void)start, (void)arg;
	(void)dwfl_module_getelf(mod, &bias);
	return DWARF_CB_OK;
}

void
ct_symbolize_open_all(struct ct_symbolizer *s)
{
	dwfl_getmodules(s->dwfl, sym_open_cb, NULL, 0);
}

int
ct_symbolize_reserve(struct ct_symbolizer *s, size_t addrs)
{
	/* A frame or two per address (inlines), a new function for most,
	 * and a name and a file for each; CUs and modules are few. */
	size_t fns = addrs, cus = addrs / 4 + 16, mods = 64;
	int err = ct_intern_reserve(&s->addrs, addrs);

	if (!err)
		err = ct_vec_reserve(&s->res, &s->capres, s->addrs.n + addrs, sizeof(*s->res));
	if (!err)
		err = ct_vec_reserve(&s->frames, &s->capframes, s->nframes + 4 * addrs,
				     sizeof(*s->frames));
	if (!err)
		err = ct_intern_reserve(&s->strs, 2 * addrs);
	if (!err)
		err = ct_intern_reserve(&s->fnkeys, fns);
	if (!err)
		err = ct_vec_reserve(&s->fns, &s->capfns, s->fnkeys.n + fns, sizeof(*s->fns));
	if (!err)
		err = ct_intern_reserve(&s->cukeys, cus);
	if (!err)
		err = ct_vec_reserve(&s->cus, &s->capcus, s->cukeys.n + cus, sizeof(*s->cus));
	if (!err)
		err = ct_intern_reserve(&s->modkeys, mods);
	if (!err)
		err = ct_vec_reserve(&s->syms, &s->capsyms, s->modkeys.n + mods, sizeof(*s->syms));
	return err;
}

uint64_t
ct_symbolize_kept_gen(void)
{
	return sym_kept_gen;
}

bool
ct_symbolize_is_kept(const struct ct_symbolizer *s)
{
	return s && s == sym_kept;
}

void
ct_symbolize_release(struct ct_symbolizer *s)
{
	if (s && s == sym_kept)
		__atomic_store_n(&sym_kept_busy, 0, __ATOMIC_RELEASE);
	else
		ct_symbolize__free(s);
}

const char *
ct_symbolize_note(const struct ct_symbolizer *sym)
{
	return sym->note;
}

void
ct_symbolize__free(struct ct_symbolizer *s)
{
	if (!s)
		return;
	if (s->dwfl && sym_fds_ours(s)) {
		dwfl_end(s->dwfl);
	} else if (s->dwfl) {
		/* The session is left as it is (its memory is lost once):
		 * ending it would close the program's descriptors. */
		for (size_t i = 0; i < s->nfds; i++)
			if (sym_fd_still(&s->fds[i]))
				close(s->fds[i].fd);
	}
	free(s->fds);
	ct_intern_free(&s->strs);
	ct_intern_free(&s->addrs);
	ct_intern_free(&s->fnkeys);
	for (size_t i = 0; i < s->cukeys.n; i++)
		free(s->cus[i].r);
	free(s->cus);
	ct_intern_free(&s->cukeys);
	for (size_t i = 0; i < s->modkeys.n; i++)
		free(s->syms[i].v);
	free(s->syms);
	ct_intern_free(&s->modkeys);
	CT_FREE_ALL(s->res, s->frames, s->fns, s->objs, s);
}

/* The caching unwinder; see unwind.h. The formats are those of the
 * System V x86-64 ABI and the LSB (.eh_frame_hdr, .eh_frame: CIE and FDE
 * records, DW_EH_PE pointer encodings, DWARF call frame instructions);
 * where libgcc's reading matters (where a stack ends, which rows apply
 * to a return address) this follows what _Unwind_Backtrace does. */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>

#include "compiler.h"
#include "sys.h"
#include "unwind.h"

#if defined(__x86_64__) && defined(DLFO_EH_SEGMENT_TYPE)

#pragma weak _dl_find_object

/* DWARF register numbers (x86-64 psABI). */
#define UW_RBP 6
#define UW_RSP 7
#define UW_RA 16

/* A cached rule, one word: kind in bits 0-1, CFA from rbp (else rsp) in
 * bit 2, rbp saved in bit 3 (else unchanged), where rbp was saved as an
 * int16 offset from the CFA in bits 16-31, the CFA offset as an int32 in
 * bits 32-63. The return address is always at CFA - 8 (else: GIVE_UP). */
enum { UW_STEP = 1, UW_END = 2, UW_GIVE_UP = 3 };
#define UW_CFA_RBP 4u
#define UW_BP_SAVED 8u

static inline uint64_t
uw_rule(bool cfa_rbp, int32_t cfa_off, bool bp_saved, int16_t bp_off)
{
	return UW_STEP | (cfa_rbp ? UW_CFA_RBP : 0) | (bp_saved ? UW_BP_SAVED : 0) |
	       ((uint64_t)(uint16_t)bp_off << 16) | ((uint64_t)(uint32_t)cfa_off << 32);
}

/* The table: direct-mapped by return address. The key is the address
 * with the generation (bumped by each dlclose) in bits 48-63 (user
 * addresses are below 2^47); 0 = empty, 1 = being written. A writer
 * claims an entry by a CAS to 1, stores the rule, then the key; a reader
 * checks the key before and after reading the rule, so a rule is never
 * read torn, and a race costs only a miss. */
#define UW_SLOTS 4096
#define UW_FRAME_MAX ((uintptr_t)1 << 20)
#define UW_BUSY 1u
struct uw_entry {
	uint64_t key;
	uint64_t rule;
};
static struct uw_entry uw_cache[UW_SLOTS];
static uint64_t uw_gen = 1;
/* The return addresses whose rules were looked up last (a ring; uw_nmissed
 * counts every lookup): with the addresses of its recorded stacks, what
 * a fork child tells its parent it resolved itself (core/dump.c), the
 * shim's own frames among them, which no recorded stack holds. */
#define UW_MISSED 64
static uintptr_t uw_missed[UW_MISSED] CT_FORK_HOT;
static unsigned uw_nmissed CT_FORK_HOT;

void
ct_unwind_invalidate(void)
{
	uint64_t g = __atomic_add_fetch(&uw_gen, 1, __ATOMIC_ACQ_REL);
	/* 2^16 unloads later the keys would come round again: start over
	 * with an empty table (a walk straddling all those unloads could
	 * still store an old rule; as with libgcc, a stack walked while its
	 * code is unloaded is not defined). */
	if ((g & 0xffff) == 0) {
		for (size_t i = 0; i < UW_SLOTS; i++)
			__atomic_store_n(&uw_cache[i].key, 0, __ATOMIC_RELAXED);
		__atomic_add_fetch(&uw_gen, 1, __ATOMIC_ACQ_REL);
	}
}

static inline struct uw_entry *
uw_slot(uint64_t key)
{
	return &uw_cache[(key * 0x9e3779b97f4a7c15ULL) >> 52];
}

static inline bool
uw_lookup(uint64_t key, uint64_t *rule)
{
	struct uw_entry *e = uw_slot(key);
	if (__atomic_load_n(&e->key, __ATOMIC_ACQUIRE) != key)
		return false;
	uint64_t r = __atomic_load_n(&e->rule, __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&e->key, __ATOMIC_RELAXED) != key)
		return false;
	*rule = r;
	return true;
}

static void
uw_store(uint64_t key, uint64_t rule)
{
	struct uw_entry *e = uw_slot(key);
	uint64_t old = __atomic_load_n(&e->key, __ATOMIC_RELAXED);
	if (old == UW_BUSY ||
	    !__atomic_compare_exchange_n(&e->key, &old, UW_BUSY, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return;
	/* Release: a reader that sees this rule sees the key as BUSY (or
	 * later) on its second look. */
	__atomic_store_n(&e->rule, rule, __ATOMIC_RELEASE);
	__atomic_store_n(&e->key, key, __ATOMIC_RELEASE);
}

/* Readers of the records. Each returns false on what it does not know. */

/* An unsigned or (sign) a signed LEB128 number, as its 64 bits. */
static uint64_t
uw_leb(const uint8_t **p, const uint8_t *end, bool *ok, bool sign)
{
	uint64_t v = 0;
	unsigned shift = 0;
	while (*p < end) {
		uint8_t b = *(*p)++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			if (sign && shift < 64 && (b & 0x40))
				v |= ~(uint64_t)0 << shift;
			return v;
		}
	}
	*ok = false;
	return 0;
}

static uint64_t
uw_uleb(const uint8_t **p, const uint8_t *end, bool *ok)
{
	return uw_leb(p, end, ok, false);
}

static int64_t
uw_sleb(const uint8_t **p, const uint8_t *end, bool *ok)
{
	return (int64_t)uw_leb(p, end, ok, true);
}

/* A DW_EH_PE-encoded pointer at *p: absolute, pc-relative or relative to
 * datarel; never dereferenced (indirect ones only skipped: skip). */
static bool
uw_encoded(uint8_t enc, const uint8_t **p, const uint8_t *end, uintptr_t datarel, bool skip,
	   uintptr_t *out)
{
	const uint8_t *at = *p;
	uint64_t v;
	bool ok = true;
	if (enc == 0xff)
		return false; /* DW_EH_PE_omit */
	size_t len;
	switch (enc & 0x0f) {
	case 0x00: len = 8; break; /* absptr */
	case 0x02: case 0x0a: len = 2; break;
	case 0x03: case 0x0b: len = 4; break;
	case 0x04: case 0x0c: len = 8; break;
	case 0x01: v = uw_uleb(p, end, &ok); len = 0; break;
	case 0x09: v = (uint64_t)uw_sleb(p, end, &ok); len = 0; break;
	default: return false;
	}
	if (len) {
		if ((size_t)(end - at) < len)
			return false;
		uint16_t u16;
		uint32_t u32;
		switch (enc & 0x0f) {
		case 0x02: memcpy(&u16, at, 2); v = u16; break;
		case 0x0a: memcpy(&u16, at, 2); v = (uint64_t)(int64_t)(int16_t)u16; break;
		case 0x03: memcpy(&u32, at, 4); v = u32; break;
		case 0x0b: memcpy(&u32, at, 4); v = (uint64_t)(int64_t)(int32_t)u32; break;
		default: memcpy(&v, at, 8); break;
		}
		*p = at + len;
	}
	if (!ok)
		return false;
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: v += (uintptr_t)at; break; /* pcrel */
	case 0x30: v += datarel; break;        /* datarel */
	default: return false;
	}
	if ((enc & 0x80) && !skip)
		return false; /* indirect */
	*out = (uintptr_t)v;
	return true;
}

/* The FDE covering pc from the binary search table of .eh_frame_hdr. */
static const uint8_t *
uw_find_fde(const uint8_t *hdr, uintptr_t pc)
{
	if (hdr[0] != 1 || hdr[3] != 0x3b) /* version 1, table datarel|sdata4 */
		return NULL;
	const uint8_t *p = hdr + 4, *end = hdr + 4 + 16;
	uintptr_t ehf, count;
	if (!uw_encoded(hdr[1], &p, end, (uintptr_t)hdr, true, &ehf) ||
	    !uw_encoded(hdr[2], &p, end, (uintptr_t)hdr, false, &count) || count == 0)
		return NULL;
	const int32_t *t = (const int32_t *)(const void *)p;
	intptr_t rel = (intptr_t)(pc - (uintptr_t)hdr);
	if (rel < t[0])
		return NULL;
	size_t lo = 0, hi = count; /* t[2 * lo] <= rel < t[2 * hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (t[2 * mid] <= rel)
			lo = mid;
		else
			hi = mid;
	}
	return hdr + t[2 * lo + 1];
}

/* What the rows of a frame say about the registers we follow. */
enum { HOW_SAME, HOW_OFFSET, HOW_UNDEF, HOW_OTHER };
struct uw_regs {
	uint8_t cfa_reg;
	bool cfa_expr;
	int64_t cfa_off;
	uint8_t how[3]; /* rbp, rsp, return address */
	int64_t off[3];
};

static int
uw_col(uint64_t reg)
{
	return reg == UW_RBP ? 0 : reg == UW_RSP ? 1 : reg == UW_RA ? 2 : -1;
}

static void
uw_set(struct uw_regs *r, uint64_t reg, int how, int64_t off)
{
	int c = uw_col(reg);
	if (c >= 0) {
		r->how[c] = (uint8_t)how;
		r->off[c] = off;
	}
}

#define UW_STATES 8

/* A call frame instruction that sets one register's rule or the CFA's,
 * with its operands at *p: true if op is one, read (a short read clears
 * *ok); false if it is not (the caller's) or is malformed (*ok cleared). */
static bool
uw_rule_op(uint8_t op, const uint8_t **p, const uint8_t *end, int64_t data_align,
	   struct uw_regs *r, bool *ok)
{
	uint64_t reg, u;
	switch (op) {
	case 0x05: /* offset_extended */
		reg = uw_uleb(p, end, ok);
		u = uw_uleb(p, end, ok);
		uw_set(r, reg, HOW_OFFSET, (int64_t)u * data_align);
		return true;
	case 0x07: /* undefined */
		uw_set(r, uw_uleb(p, end, ok), HOW_UNDEF, 0);
		return true;
	case 0x08: /* same_value */
		uw_set(r, uw_uleb(p, end, ok), HOW_SAME, 0);
		return true;
	case 0x09: /* register */
	case 0x14: /* val_offset */
	case 0x15: /* val_offset_sf: signed or not, a LEB128 is as long */
		reg = uw_uleb(p, end, ok);
		uw_uleb(p, end, ok);
		uw_set(r, reg, HOW_OTHER, 0);
		return true;
	case 0x0c: /* def_cfa */
		r->cfa_reg = (uint8_t)uw_uleb(p, end, ok);
		r->cfa_off = (int64_t)uw_uleb(p, end, ok);
		r->cfa_expr = false;
		return true;
	case 0x0d: /* def_cfa_register */
		r->cfa_reg = (uint8_t)uw_uleb(p, end, ok);
		r->cfa_expr = false;
		return true;
	case 0x0e: /* def_cfa_offset */
		r->cfa_off = (int64_t)uw_uleb(p, end, ok);
		return true;
	case 0x0f: /* def_cfa_expression */
		u = uw_uleb(p, end, ok);
		if (u > (uint64_t)(end - *p))
			return *ok = false;
		*p += u;
		r->cfa_expr = true;
		return true;
	case 0x10: /* expression */
	case 0x16: /* val_expression */
		reg = uw_uleb(p, end, ok);
		u = uw_uleb(p, end, ok);
		if (u > (uint64_t)(end - *p))
			return *ok = false;
		*p += u;
		uw_set(r, reg, HOW_OTHER, 0);
		return true;
	case 0x11: /* offset_extended_sf */
		reg = uw_uleb(p, end, ok);
		uw_set(r, reg, HOW_OFFSET, uw_sleb(p, end, ok) * data_align);
		return true;
	case 0x12: /* def_cfa_sf */
		r->cfa_reg = (uint8_t)uw_uleb(p, end, ok);
		r->cfa_off = uw_sleb(p, end, ok) * data_align;
		r->cfa_expr = false;
		return true;
	case 0x13: /* def_cfa_offset_sf */
		r->cfa_off = uw_sleb(p, end, ok) * data_align;
		return true;
	case 0x2e: /* GNU_args_size */
		uw_uleb(p, end, ok);
		return true;
	case 0x2f: /* GNU_negative_offset_extended */
		reg = uw_uleb(p, end, ok);
		u = uw_uleb(p, end, ok);
		uw_set(r, reg, HOW_OFFSET, -(int64_t)u * data_align);
		return true;
	default:
		return false;
	}
}

/* DW_CFA_restore(_extended) of reg: its rule after the CIE's instructions;
 * false while running those (init NULL: nothing to restore to). */
static bool
uw_restore(struct uw_regs *r, const struct uw_regs *init, uint64_t reg)
{
	if (!init)
		return false;
	if (uw_col(reg) >= 0)
		uw_set(r, reg, init->how[uw_col(reg)], init->off[uw_col(reg)]);
	return true;
}

/* Runs call frame instructions [p, end) from location loc while the row
 * location is at most target (rows apply to a return address minus one,
 * as in libgcc). init: the rules after the CIE's instructions (for
 * DW_CFA_restore), NULL while running those. The instructions that move
 * the location or the state are here, those that set a rule in
 * uw_rule_op. */
static bool
uw_run(const uint8_t *p, const uint8_t *end, uintptr_t loc, uintptr_t target, uint64_t code_align,
       int64_t data_align, uint8_t fde_enc, struct uw_regs *r, const struct uw_regs *init)
{
	struct uw_regs saved[UW_STATES];
	int depth = 0;
	bool ok = true;
	while (p < end && loc <= target) {
		uint8_t op = *p++;
		switch (op & 0xc0) {
		case 0x40: /* advance_loc */
			loc += (op & 0x3f) * code_align;
			continue;
		case 0x80: /* offset */
			uw_set(r, op & 0x3f, HOW_OFFSET, (int64_t)uw_uleb(&p, end, &ok) * data_align);
			continue;
		case 0xc0: /* restore */
			if (!uw_restore(r, init, op & 0x3f))
				return false;
			continue;
		}
		switch (op) {
		case 0x00: /* nop */
			break;
		case 0x01: { /* set_loc */
			uintptr_t l;
			if (!uw_encoded(fde_enc, &p, end, 0, false, &l))
				return false;
			loc = l;
			break;
		}
		case 0x02: /* advance_loc1, 2, 4: a little-endian delta of 1, 2, 4 bytes */
		case 0x03:
		case 0x04: {
			size_t len = (size_t)1 << (op - 0x02);
			uint64_t d = 0;
			if (p + len > end)
				return false;
			memcpy(&d, p, len);
			loc += d * code_align;
			p += len;
			break;
		}
		case 0x06: /* restore_extended */
			if (!uw_restore(r, init, uw_uleb(&p, end, &ok)))
				return false;
			break;
		case 0x0a: /* remember_state */
			if (depth == UW_STATES)
				return false;
			saved[depth++] = *r;
			break;
		case 0x0b: /* restore_state: the CFA is restored too, as libgcc does */
			if (depth == 0)
				return false;
			*r = saved[--depth];
			break;
		default:
			if (!uw_rule_op(op, &p, end, data_align, r, &ok))
				return false;
		}
		if (!ok)
			return false;
	}
	return ok;
}

/* What a CIE says for its FDEs: its initial instructions [insns, end),
 * the alignment factors, the FDEs' pointer encoding and whether they
 * carry augmentation data ('z'). */
struct uw_cie {
	const uint8_t *insns, *end;
	uint64_t code_align;
	int64_t data_align;
	uint8_t fde_enc;
	bool aug_z;
};

/* Reads the CIE at cie; false on what the unwinder does not take (another
 * return address column, 'S' signal frames, unknown augmentations). */
static bool
uw_cie_read(const uint8_t *cie, struct uw_cie *c)
{
	uint32_t clen;
	memcpy(&clen, cie, 4);
	if (clen == 0 || clen == 0xffffffffu)
		return false;
	const uint8_t *q = cie + 8;
	bool ok = true;
	c->end = cie + 4 + clen;
	uint8_t version = *q++;
	if (version != 1 && version != 3)
		return false;
	const char *aug = (const char *)q;
	q += strlen(aug) + 1;
	c->code_align = uw_uleb(&q, c->end, &ok);
	c->data_align = uw_sleb(&q, c->end, &ok);
	uint64_t ra_reg = version == 1 ? *q++ : uw_uleb(&q, c->end, &ok);
	if (!ok || ra_reg != UW_RA)
		return false;
	c->fde_enc = 0; /* absptr */
	c->aug_z = aug[0] == 'z';
	if (aug[0] && !c->aug_z)
		return false;
	if (c->aug_z) {
		uint64_t alen = uw_uleb(&q, c->end, &ok);
		if (!ok || alen > (uint64_t)(c->end - q))
			return false;
		const uint8_t *aend = q + alen;
		for (const char *a = aug + 1; *a; a++) {
			uintptr_t ignored;
			if (*a == 'R' && q < aend)
				c->fde_enc = *q++;
			else if (*a == 'L' && q < aend)
				q++;
			else if (*a == 'P' && q < aend) {
				uint8_t penc = *q++;
				if (!uw_encoded(penc, &q, aend, 0, true, &ignored))
					return false;
			} else
				return false; /* 'S' (signal frame) or unknown */
		}
		q = aend;
	}
	c->insns = q;
	return true;
}

/* The FDE covering target, read up to its instructions [*insns, *end),
 * with its CIE and the code range [*begin, *begin + *range) it covers.
 * Lock-free (_dl_find_object), no allocation, no system call. */
static bool
uw_fde_for(uintptr_t target, struct uw_cie *c, const uint8_t **insns, const uint8_t **end,
	   uintptr_t *begin, uintptr_t *range)
{
	struct dl_find_object fo;
	if (!_dl_find_object || _dl_find_object((void *)target, &fo) != 0 || !fo.dlfo_eh_frame)
		return false;
	const uint8_t *fde = uw_find_fde(fo.dlfo_eh_frame, target);
	if (!fde)
		return false;
	uint32_t len;
	int32_t cie_off;
	memcpy(&len, fde, 4);
	memcpy(&cie_off, fde + 4, 4);
	if (len == 0 || len == 0xffffffffu || cie_off == 0)
		return false;
	const uint8_t *fde_end = fde + 4 + len;
	if (!uw_cie_read(fde + 4 - cie_off, c))
		return false;
	const uint8_t *p = fde + 8;
	bool ok = true;
	if (c->fde_enc & 0x80 || !uw_encoded(c->fde_enc, &p, fde_end, 0, false, begin) ||
	    !uw_encoded(c->fde_enc & 0x0f, &p, fde_end, 0, false, range))
		return false;
	if (target < *begin || target - *begin >= *range)
		return false; /* no FDE: libgcc's fallbacks apply */
	if (c->aug_z) {
		uint64_t alen = uw_uleb(&p, fde_end, &ok);
		if (!ok || alen > (uint64_t)(fde_end - p))
			return false;
		p += alen;
	}
	*insns = p;
	*end = fde_end;
	return true;
}

/* The rule for the frame whose code is at target: a return address less
 * one (the call), or where a signal interrupted it. */
static uint64_t
uw_rule_at(uintptr_t target)
{
	struct uw_cie c;
	const uint8_t *p, *fde_end;
	uintptr_t begin, range;
	if (!uw_fde_for(target, &c, &p, &fde_end, &begin, &range))
		return UW_GIVE_UP;
	struct uw_regs r = {.cfa_reg = UW_RSP}, init;
	if (!uw_run(c.insns, c.end, begin, UINTPTR_MAX, c.code_align, c.data_align, c.fde_enc, &r,
		    NULL))
		return UW_GIVE_UP;
	init = r;
	if (!uw_run(p, fde_end, begin, target, c.code_align, c.data_align, c.fde_enc, &r, &init))
		return UW_GIVE_UP;
	if (r.how[2] == HOW_UNDEF)
		return UW_END; /* the outermost frame (_start, a thread's clone) */
	if (r.cfa_expr || (r.cfa_reg != UW_RSP && r.cfa_reg != UW_RBP) || r.how[1] != HOW_SAME ||
	    r.how[2] != HOW_OFFSET || r.off[2] != -8 || r.cfa_off != (int32_t)r.cfa_off ||
	    (r.how[0] != HOW_SAME && r.how[0] != HOW_OFFSET) || r.off[0] != (int16_t)r.off[0])
		return UW_GIVE_UP;
	return uw_rule(r.cfa_reg == UW_RBP, (int32_t)r.cfa_off, r.how[0] == HOW_OFFSET,
		       (int16_t)r.off[0]);
}

/* The rule for return address pc, from its object's unwind tables. */
static uint64_t
uw_rule_for(uintptr_t pc)
{
	return uw_rule_at(pc - 1);
}

bool
ct_unwind_fn_range(uintptr_t pc, uintptr_t *lo, uintptr_t *hi)
{
	struct uw_cie c;
	const uint8_t *insns, *end;
	uintptr_t begin, range;
	if (!uw_fde_for(pc, &c, &insns, &end, &begin, &range))
		return false;
	*lo = begin;
	*hi = begin + range;
	return true;
}

static bool
uw_peek(uintptr_t addr, uintptr_t *val)
{
	return ct_sys_peek(addr, val, sizeof(*val)) == sizeof(*val);
}

/* The walk of ct_unwind_interrupted, from a frame whose pc is where a
 * signal came (signal_frame) or a return address. */
static int
uw_walk_safely(uintptr_t pc, uintptr_t sp, uintptr_t bp, bool signal_frame,
	       struct ct_unwind_frame *f, int max)
{
	int n = 0;
	for (uintptr_t target = signal_frame ? pc : pc - 1; n < max && pc && !(pc >> 47);
	     target = pc - 1) {
		uint64_t rule = uw_rule_at(target);
		if ((rule & 3) != UW_STEP)
			break;
		uintptr_t cfa = ((rule & UW_CFA_RBP) ? bp : sp) +
				(uintptr_t)(int64_t)(int32_t)(rule >> 32);
		if (cfa <= sp || cfa - sp > UW_FRAME_MAX)
			break;
		uintptr_t ret;
		if (!uw_peek(cfa - 8, &ret) ||
		    ((rule & UW_BP_SAVED) &&
		     !uw_peek(cfa + (uintptr_t)(int64_t)(int16_t)(rule >> 16), &bp)))
			break;
		f[n].pc = pc;
		f[n].ra_slot = cfa - 8;
		n++;
		pc = ret;
		sp = cfa;
	}
	return n;
}

int
ct_unwind_interrupted(uintptr_t pc, uintptr_t sp, uintptr_t bp, struct ct_unwind_frame *f,
		      int max)
{
	return uw_walk_safely(pc, sp, bp, true, f, max);
}

int
ct_unwind_signal_stack(const void *ucv, uintptr_t *pcs, int max)
{
	const ucontext_t *uc = ucv;
	uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	uintptr_t bp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
	struct ct_unwind_frame f[CT_UNWIND_SIGNAL_MAX];
	if (max > CT_UNWIND_SIGNAL_MAX)
		max = CT_UNWIND_SIGNAL_MAX;
	if (max <= 0)
		return 0;
	int n = uw_walk_safely(pc, sp, bp, true, f, max);
	struct dl_find_object fo;
	uintptr_t ret;
	bool in_code = _dl_find_object && _dl_find_object((void *)pc, &fo) == 0;
	if (n == 0 && !in_code && uw_peek(sp, &ret)) {
		/* A call to an address where no code is (a null function
		 * pointer): the return address the call pushed is on top. */
		f[0].pc = pc;
		n = 1 + uw_walk_safely(ret, sp + 8, bp, false, f + 1, max - 1);
		if (n == 1 && max > 1) {
			f[1].pc = ret;
			n = 2;
		}
	}
	for (int i = 0; i < n; i++)
		pcs[i] = f[i].pc;
	/* The interrupted instruction itself, not a return address: one
	 * past it, so that a lookup of "the call before" finds it (where
	 * there is code to look up). */
	if (n > 0 && in_code)
		pcs[0]++;
	return n;
}

unsigned
ct_unwind_misses(void)
{
	return __atomic_load_n(&uw_nmissed, __ATOMIC_RELAXED);
}

size_t
ct_unwind_missed(unsigned since, uintptr_t *out, size_t max)
{
	unsigned now = __atomic_load_n(&uw_nmissed, __ATOMIC_RELAXED);
	size_t n = 0;
	if (now - since > UW_MISSED)
		since = now - UW_MISSED;
	for (unsigned i = since; i != now && n < max; i++)
		out[n++] = __atomic_load_n(&uw_missed[i % UW_MISSED], __ATOMIC_RELAXED);
	return n;
}

void
ct_unwind_warm(uintptr_t ret)
{
	if (!ret || ret >> 47)
		return;
	uint64_t key = ret | __atomic_load_n(&uw_gen, __ATOMIC_ACQUIRE) << 48, rule;
	if (!uw_lookup(key, &rule))
		uw_store(key, uw_rule_for(ret));
}

/* The walk, from the state at the return address pc of the caller of
 * ct_unwind_backtrace: its stack pointer sp (just above that return
 * address) and rbp. Called only from the entry below. */
CT_HIDDEN int ct_unwind_walk(void **buf, int max, uintptr_t pc, uintptr_t sp, uintptr_t bp);

CT_HIDDEN __attribute__((used, noinline)) int
ct_unwind_walk(void **buf, int max, uintptr_t pc, uintptr_t sp, uintptr_t bp)
{
	uint64_t gen = __atomic_load_n(&uw_gen, __ATOMIC_ACQUIRE) << 48;
	int n = 0;
	while (n < max) {
		buf[n++] = (void *)pc;
		if (pc >> 47)
			return -1;
		uint64_t key = pc | gen, rule;
		if (!uw_lookup(key, &rule)) {
			rule = uw_rule_for(pc);
			uw_store(key, rule);
			unsigned m = __atomic_fetch_add(&uw_nmissed, 1, __ATOMIC_RELAXED);
			__atomic_store_n(&uw_missed[m % UW_MISSED], pc, __ATOMIC_RELAXED);
		}
		if ((rule & 3) == UW_END)
			return n;
		if ((rule & 3) != UW_STEP)
			return -1;
		uintptr_t cfa = ((rule & UW_CFA_RBP) ? bp : sp) + (uintptr_t)(int64_t)(int32_t)(rule >> 32);
		/* Each frame is above the one it called, and not by more than
		 * a frame is ever likely to hold: else libgcc's own walk (and
		 * its end checks) decide. */
		if (cfa <= sp || cfa - sp > UW_FRAME_MAX)
			return -1;
		if (rule & UW_BP_SAVED)
			bp = *(const uintptr_t *)(cfa + (uintptr_t)(int64_t)(int16_t)(rule >> 16));
		pc = *(const uintptr_t *)(cfa - 8);
		sp = cfa;
		/* A zero return address ends libgcc's walk too; backtrace()
		 * drops the null frame it would add. */
		if (pc == 0)
			return n;
	}
	return n;
}

/* The entry: no frame of its own, so the caller's return address, stack
 * pointer and rbp are read exactly as they are at the call. */
__asm__(".text\n"
	".p2align 4\n"
	".globl ct_unwind_backtrace\n"
	".hidden ct_unwind_backtrace\n"
	".type ct_unwind_backtrace, @function\n"
	"ct_unwind_backtrace:\n"
	".cfi_startproc\n"
	"	movq (%rsp), %rdx\n"
	"	leaq 8(%rsp), %rcx\n"
	"	movq %rbp, %r8\n"
	"	jmp ct_unwind_walk\n"
	".cfi_endproc\n"
	".size ct_unwind_backtrace, .-ct_unwind_backtrace\n");

#else

void
ct_unwind_warm(uintptr_t ret)
{
	(void)ret;
}

unsigned
ct_unwind_misses(void)
{
	return 0;
}

size_t
ct_unwind_missed(unsigned since, uintptr_t *out, size_t max)
{
	(void)since;
	(void)out;
	(void)max;
	return 0;
}

int
ct_unwind_backtrace(void **buf, int max)
{
	(void)buf;
	(void)max;
	return -1;
}

bool
ct_unwind_fn_range(uintptr_t pc, uintptr_t *lo, uintptr_t *hi)
{
	(void)pc;
	(void)lo;
	(void)hi;
	return false;
}

int
ct_unwind_interrupted(uintptr_t pc, uintptr_t sp, uintptr_t bp, struct ct_unwind_frame *f,
		      int max)
{
	(void)pc;
	(void)sp;
	(void)bp;
	(void)f;
	(void)max;
	return 0;
}

int
ct_unwind_signal_stack(const void *uc, uintptr_t *pcs, int max)
{
	(void)uc;
	(void)pcs;
	(void)max;
	return 0;
}

void
ct_unwind_invalidate(void)
{
}

#endif

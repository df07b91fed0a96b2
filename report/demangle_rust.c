/* Rust symbol demangling (demangle.h, ct_demangle_rust): the legacy scheme
 * ("_ZN3std2io5stdio6_print17h8f8e5e3c2d1b0a99E") and v0 ("_RNv..."), in
 * the form rustc's own demangler gives with "{:#}": no hash, no crate
 * disambiguators. Written from the v0 grammar (RFC 2603); no Rust runtime
 * is needed, so a Rust program's profiles and thread dumps name its
 * functions as pprof and Rust's own backtraces do.
 *
 * The input is a symbol from a file the program loaded: anything. Every
 * read is bounds-checked, recursion (backreferences included) is bounded,
 * and the output has a fixed ceiling; whatever this parser does not know
 * (punycode identifiers, structured constants) gives NULL, and the caller
 * keeps the mangled name. Thread-safe; allocates its working state (about
 * 4 KiB, not on the stack: exit dumps may run on a small one) and the result. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "demangle.h"

/* Longer demangled names are kept mangled: pprof's own lines are this wide
 * at most in practice, and the ceiling bounds the work on hostile input. */
#define RS_OUT_MAX 4096
/* Nesting of paths, types and backreferences: real symbols stay under 30. */
#define RS_DEPTH_MAX 96
/* Paths, types and constants parsed in all: backreferences inside an
 * impl's unprinted path could otherwise make the work exponential in the
 * symbol's length without growing the output. Real symbols need < 1000. */
#define RS_STEPS_MAX 20000

struct rs {
	const char *s; /* the symbol after "_R" (backreferences count from here) */
	size_t n, pos;
	char out[RS_OUT_MAX];
	size_t len;
	unsigned depth, steps;
	unsigned skip;	  /* > 0: parse without printing (an impl's own path) */
	uint64_t binders; /* lifetimes bound by the for<...> in scope */
	bool bad;
};

static void
rs_put(struct rs *r, const char *p, size_t n)
{
	if (r->skip || r->bad)
		return;
	if (n >= sizeof(r->out) - r->len) {
		r->bad = true;
		return;
	}
	memcpy(r->out + r->len, p, n);
	r->len += n;
}

static void
rs_puts(struct rs *r, const char *p)
{
	rs_put(r, p, strlen(p));
}

static void
rs_putu(struct rs *r, uint64_t v)
{
	char b[24];
	size_t i = sizeof(b);
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	rs_put(r, b + i, sizeof(b) - i);
}

static int
rs_peek(const struct rs *r)
{
	return r->pos < r->n ? (unsigned char)r->s[r->pos] : -1;
}

static bool
rs_eat(struct rs *r, char c)
{
	if (rs_peek(r) != (unsigned char)c)
		return false;
	r->pos++;
	return true;
}

static int
rs_next(struct rs *r)
{
	int c = rs_peek(r);
	if (c < 0)
		r->bad = true;
	else
		r->pos++;
	return c;
}

/* <base-62-number>: "_" is 0, "<digits>_" is their value + 1. */
static uint64_t
rs_base62(struct rs *r)
{
	if (rs_eat(r, '_'))
		return 0;
	uint64_t v = 0;
	for (;;) {
		int c = rs_next(r);
		unsigned d;
		if (c == '_')
			break;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'z')
			d = 10 + (unsigned)(c - 'a');
		else if (c >= 'A' && c <= 'Z')
			d = 36 + (unsigned)(c - 'A');
		else {
			r->bad = true;
			return 0;
		}
		if (v > (UINT64_MAX - d) / 62) {
			r->bad = true;
			return 0;
		}
		v = v * 62 + d;
	}
	if (v == UINT64_MAX)
		r->bad = true;
	return v + 1;
}

/* tag <base-62-number>, or nothing (0). */
static uint64_t
rs_opt62(struct rs *r, char tag)
{
	if (!rs_eat(r, tag))
		return 0;
	uint64_t v = rs_base62(r);
	if (v == UINT64_MAX)
		r->bad = true;
	return v + 1;
}

static uint64_t
rs_decimal(struct rs *r)
{
	int c = rs_peek(r);
	if (c < '0' || c > '9') {
		r->bad = true;
		return 0;
	}
	uint64_t v = 0;
	if (c == '0') {
		r->pos++;
		return 0;
	}
	while ((c = rs_peek(r)) >= '0' && c <= '9') {
		if (v > (UINT64_MAX - 9) / 10) {
			r->bad = true;
			return 0;
		}
		v = v * 10 + (uint64_t)(c - '0');
		r->pos++;
	}
	return v;
}

/* <undisambiguated-identifier>; punycode ("u") is not decoded: NULL. */
static const char *
rs_ident(struct rs *r, size_t *len)
{
	*len = 0;
	if (rs_peek(r) == 'u') {
		r->bad = true;
		return "";
	}
	uint64_t n = rs_decimal(r);
	rs_eat(r, '_');
	if (r->bad || n > r->n - r->pos) {
		r->bad = true;
		return "";
	}
	const char *p = r->s + r->pos;
	r->pos += (size_t)n;
	*len = (size_t)n;
	return p;
}

static void rs_path(struct rs *r, bool value);
static void rs_type(struct rs *r);
static void rs_const(struct rs *r);

/* Runs fn at the position a backreference names, then comes back. Only
 * earlier positions: a symbol cannot send the parser round in a loop. */
static void
rs_backref(struct rs *r, void (*path)(struct rs *, bool), void (*other)(struct rs *), bool value)
{
	size_t at = r->pos - 1; /* the 'B' */
	uint64_t to = rs_base62(r);
	if (r->bad || to >= at) {
		r->bad = true;
		return;
	}
	size_t back = r->pos;
	r->pos = (size_t)to;
	if (path)
		path(r, value);
	else
		other(r);
	r->pos = back;
}

static bool
rs_enter(struct rs *r)
{
	if (r->bad || ++r->depth > RS_DEPTH_MAX || ++r->steps > RS_STEPS_MAX) {
		r->bad = true;
		return false;
	}
	return true;
}

static void
rs_lifetime(struct rs *r, uint64_t lt)
{
	rs_put(r, "'", 1);
	if (lt == 0) {
		rs_put(r, "_", 1);
		return;
	}
	if (lt > r->binders) {
		r->bad = true;
		return;
	}
	uint64_t depth = r->binders - lt;
	if (depth < 26) {
		char c = (char)('a' + depth);
		rs_put(r, &c, 1);
	} else {
		rs_put(r, "_", 1);
		rs_putu(r, depth);
	}
}

/* [<binder>]: "for<'a, 'b> " and the lifetimes it binds; returns them. */
static uint64_t
rs_binder(struct rs *r)
{
	uint64_t n = rs_opt62(r, 'G');
	if (n > 64) {
		r->bad = true;
		return 0;
	}
	if (n) {
		rs_puts(r, "for<");
		for (uint64_t i = 0; i < n; i++) {
			if (i)
				rs_puts(r, ", ");
			r->binders++;
			rs_lifetime(r, 1);
		}
		rs_puts(r, "> ");
	}
	return n;
}

static void
rs_generic_arg(struct rs *r)
{
	if (rs_eat(r, 'L'))
		rs_lifetime(r, rs_base62(r));
	else if (rs_eat(r, 'K'))
		rs_const(r);
	else
		rs_type(r);
}

/* item, separated by sep, up to the closing 'E'; how many there were. */
static int
rs_list(struct rs *r, const char *sep, void (*item)(struct rs *))
{
	int i = 0;
	for (; !r->bad && !rs_eat(r, 'E'); i++) {
		if (rs_peek(r) < 0) {
			r->bad = true;
			break;
		}
		if (i)
			rs_puts(r, sep);
		item(r);
	}
	return i;
}

/* "<args>" up to the closing 'E'; open leaves the '>' to the caller. */
static void
rs_generic_args(struct rs *r, bool open)
{
	rs_puts(r, "<");
	rs_list(r, ", ", rs_generic_arg);
	if (!open)
		rs_puts(r, ">");
}

static void
rs_path(struct rs *r, bool value)
{
	if (!rs_enter(r))
		return;
	int tag = rs_next(r);
	size_t len;
	const char *id;
	switch (tag) {
	case 'C': /* crate root */
		rs_opt62(r, 's');
		id = rs_ident(r, &len);
		rs_put(r, id, len);
		break;
	case 'N': { /* nested: path::ident, or path::{closure#N} */
		int ns = rs_next(r);
		if (!((ns >= 'a' && ns <= 'z') || (ns >= 'A' && ns <= 'Z'))) {
			r->bad = true;
			break;
		}
		rs_path(r, value);
		uint64_t dis = rs_opt62(r, 's');
		id = rs_ident(r, &len);
		if (ns >= 'A' && ns <= 'Z') {
			rs_puts(r, "::{");
			if (ns == 'C')
				rs_puts(r, "closure");
			else if (ns == 'S')
				rs_puts(r, "shim");
			else
				rs_put(r, (const char *)&(char){(char)ns}, 1);
			if (len) {
				rs_puts(r, ":");
				rs_put(r, id, len);
			}
			rs_puts(r, "#");
			rs_putu(r, dis);
			rs_puts(r, "}");
		} else if (len) {
			rs_puts(r, "::");
			rs_put(r, id, len);
		}
		break;
	}
	case 'M': /* <T>: an inherent impl, whose own path is not shown */
	case 'X': /* <T as Trait> */
		rs_opt62(r, 's');
		r->skip++;
		rs_path(r, false);
		r->skip--;
		/* fall through */
	case 'Y': /* <T as Trait>, the trait's own item */
		rs_puts(r, "<");
		rs_type(r);
		if (tag != 'M') {
			rs_puts(r, " as ");
			rs_path(r, false);
		}
		rs_puts(r, ">");
		break;
	case 'I': /* path<args>, path::<args> in an expression */
		rs_path(r, value);
		if (value)
			rs_puts(r, "::");
		rs_generic_args(r, false);
		break;
	case 'B':
		rs_backref(r, rs_path, NULL, value);
		break;
	default:
		r->bad = true;
	}
	r->depth--;
}

static const char *
rs_basic(int c)
{
	switch (c) {
	case 'a': return "i8";
	case 'b': return "bool";
	case 'c': return "char";
	case 'd': return "f64";
	case 'e': return "str";
	case 'f': return "f32";
	case 'h': return "u8";
	case 'i': return "isize";
	case 'j': return "usize";
	case 'l': return "i32";
	case 'm': return "u32";
	case 'n': return "i128";
	case 'o': return "u128";
	case 's': return "i16";
	case 't': return "u16";
	case 'u': return "()";
	case 'v': return "...";
	case 'x': return "i64";
	case 'y': return "u64";
	case 'z': return "!";
	case 'p': return "_";
	default: return NULL;
	}
}

/* fn(A, B) -> R, after the 'F' and its binder. */
static void
rs_fn_sig(struct rs *r)
{
	if (rs_eat(r, 'U'))
		rs_puts(r, "unsafe ");
	if (rs_eat(r, 'K')) {
		rs_puts(r, "extern \"");
		if (rs_eat(r, 'C')) {
			rs_puts(r, "C");
		} else {
			size_t len;
			const char *abi = rs_ident(r, &len);
			for (size_t i = 0; i < len; i++)
				rs_put(r, abi[i] == '_' ? "-" : abi + i, 1);
		}
		rs_puts(r, "\" ");
	}
	rs_puts(r, "fn(");
	rs_list(r, ", ", rs_type);
	rs_puts(r, ")");
	if (!rs_eat(r, 'u')) {
		rs_puts(r, " -> ");
		rs_type(r);
	}
}

/* One trait of a dyn type: Trait, Trait<A>, Trait<Output = T>. */
static void
rs_dyn_trait(struct rs *r)
{
	bool open = false;
	if (rs_peek(r) == 'I') { /* the trait's generic args stay open */
		r->pos++;
		if (!rs_enter(r))
			return;
		rs_path(r, false);
		rs_generic_args(r, true);
		r->depth--;
		open = true;
	} else {
		rs_path(r, false);
	}
	while (!r->bad && rs_eat(r, 'p')) {
		rs_puts(r, open ? ", " : "<");
		open = true;
		size_t len;
		const char *id = rs_ident(r, &len);
		rs_put(r, id, len);
		rs_puts(r, " = ");
		rs_type(r);
	}
	if (open)
		rs_puts(r, ">");
}

static void
rs_type(struct rs *r)
{
	if (!rs_enter(r))
		return;
	int tag = rs_peek(r);
	const char *basic = tag >= 0 ? rs_basic(tag) : NULL;
	if (basic) {
		r->pos++;
		rs_puts(r, basic);
		r->depth--;
		return;
	}
	switch (tag) {
	case 'C':
	case 'M':
	case 'X':
	case 'Y':
	case 'N':
	case 'I':
		rs_path(r, false);
		break;
	case 'A': /* [T; N] */
	case 'S': /* [T] */
		r->pos++;
		rs_puts(r, "[");
		rs_type(r);
		if (tag == 'A') {
			rs_puts(r, "; ");
			rs_const(r);
		}
		rs_puts(r, "]");
		break;
	case 'T': /* (A, B), (A,) */
		r->pos++;
		rs_puts(r, "(");
		if (rs_list(r, ", ", rs_type) == 1)
			rs_puts(r, ",");
		rs_puts(r, ")");
		break;
	case 'R': /* &T, &'a T */
	case 'Q': /* &mut T */
		r->pos++;
		rs_puts(r, "&");
		if (rs_eat(r, 'L')) {
			uint64_t lt = rs_base62(r);
			if (lt) {
				rs_lifetime(r, lt);
				rs_puts(r, " ");
			}
		}
		if (tag == 'Q')
			rs_puts(r, "mut ");
		rs_type(r);
		break;
	case 'P':
	case 'O':
		r->pos++;
		rs_puts(r, tag == 'P' ? "*const " : "*mut ");
		rs_type(r);
		break;
	case 'F': {
		r->pos++;
		uint64_t bound = rs_binder(r);
		rs_fn_sig(r);
		r->binders -= bound;
		break;
	}
	case 'D': { /* dyn A + B + 'a */
		r->pos++;
		rs_puts(r, "dyn ");
		uint64_t bound = rs_binder(r);
		rs_list(r, " + ", rs_dyn_trait);
		r->binders -= bound;
		if (!rs_eat(r, 'L')) {
			r->bad = true;
			break;
		}
		uint64_t lt = rs_base62(r);
		if (lt) {
			rs_puts(r, " + ");
			rs_lifetime(r, lt);
		}
		break;
	}
	case 'B':
		r->pos++;
		rs_backref(r, NULL, rs_type, false);
		break;
	default:
		r->bad = true;
	}
	r->depth--;
}

/* A const generic argument: integers, bool and ASCII chars; "_" for a
 * placeholder. Structured constants give NULL. */
static void
rs_const(struct rs *r)
{
	if (!rs_enter(r))
		return;
	int tag = rs_next(r);
	if (tag == 'B') {
		rs_backref(r, NULL, rs_const, false);
		r->depth--;
		return;
	}
	if (tag == 'p') {
		rs_puts(r, "_");
		r->depth--;
		return;
	}
	bool neg = false;
	if (tag > 0 && strchr("ashlxni", tag))
		neg = rs_eat(r, 'n');
	else if (tag <= 0 || !strchr("hmtyojbc", tag))
		r->bad = true;
	uint64_t v = 0;
	int digits = 0;
	for (int c; !r->bad && (c = rs_next(r)) != '_';) {
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = 10 + (unsigned)(c - 'a');
		else {
			r->bad = true;
			break;
		}
		if (++digits > 16) { /* past 64 bits: leave it mangled */
			r->bad = true;
			break;
		}
		v = v << 4 | d;
	}
	if (!r->bad) {
		if (tag == 'b') {
			if (v > 1)
				r->bad = true;
			else
				rs_puts(r, v ? "true" : "false");
		} else if (tag == 'c') {
			if (v < 0x20 || v > 0x7e || v == '\'' || v == '\\') {
				r->bad = true;
			} else {
				char q[3] = {'\'', (char)v, '\''};
				rs_put(r, q, 3);
			}
		} else {
			if (neg)
				rs_puts(r, "-");
			rs_putu(r, v);
		}
	}
	r->depth--;
}

static char *
rs_finish(struct rs *r)
{
	if (r->bad)
		return NULL;
	char *out = malloc(r->len + 1);
	if (out) {
		memcpy(out, r->out, r->len);
		out[r->len] = '\0';
	}
	return out;
}

/* The part before a ".llvm.123"-like suffix: no v0 name holds a dot. */
static size_t
rs_stem(const char *name)
{
	const char *dot = strchr(name, '.');
	return dot ? (size_t)(dot - name) : strlen(name);
}

static char *
rs_v0(const char *name)
{
	struct rs *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->s = name + 2;
	r->n = rs_stem(name) - 2;
	/* An encoding version ("_R0...") is newer than this parser. */
	if (rs_peek(r) >= '0' && rs_peek(r) <= '9')
		r->bad = true;
	rs_path(r, true);
	/* The instantiating crate, which the short form does not show. */
	if (!r->bad && r->pos < r->n) {
		r->skip++;
		rs_path(r, false);
		r->skip--;
	}
	if (r->pos != r->n)
		r->bad = true;
	char *out = rs_finish(r);
	free(r);
	return out;
}

static int
rs_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return 10 + c - 'a';
	return -1;
}

/* A "$..$" escape of the legacy scheme at p (len bytes left): what it
 * stands for in r, and its length; 0 if it is none. */
static size_t
rs_legacy_escape(struct rs *r, const char *p, size_t len)
{
	static const struct {
		const char *code, *text;
	} esc[] = {{"$SP$", "@"}, {"$BP$", "*"}, {"$RF$", "&"}, {"$LT$", "<"},
		   {"$GT$", ">"}, {"$LP$", "("}, {"$RP$", ")"}, {"$C$", ","}};
	for (size_t i = 0; i < sizeof(esc) / sizeof(esc[0]); i++) {
		size_t n = strlen(esc[i].code);
		if (len >= n && !memcmp(p, esc[i].code, n)) {
			rs_puts(r, esc[i].text);
			return n;
		}
	}
	/* $u7e$: one ASCII character by its hex code */
	if (len >= 4 && p[1] == 'u') {
		unsigned v = 0;
		size_t i = 2;
		for (; i < len && i < 8 && p[i] != '$'; i++) {
			int d = rs_hexval((unsigned char)p[i]);
			if (d < 0)
				return 0;
			v = v << 4 | (unsigned)d;
		}
		if (i == 2 || i >= len || p[i] != '$' || v < 0x20 || v > 0x7e)
			return 0;
		char c = (char)v;
		rs_put(r, &c, 1);
		return i + 1;
	}
	return 0;
}

/* "_ZN" {<len><ident>} "E" [".suffix"], its last part "h" and 16 hex
 * digits. Its parts may hold dots ("..": "::"), so the lengths say where
 * the name ends. */
static char *
rs_legacy(const char *name)
{
	size_t n = strlen(name);
	/* Check the shape, and that the last part is the hash, first. */
	size_t pos = 3, parts = 0, last = 0, lastlen = 0;
	while (pos < n && name[pos] != 'E') {
		size_t len = 0;
		if (name[pos] < '1' || name[pos] > '9')
			return NULL;
		while (pos < n && name[pos] >= '0' && name[pos] <= '9') {
			len = len * 10 + (size_t)(name[pos++] - '0');
			if (len > n)
				return NULL;
		}
		if (len > n - pos)
			return NULL;
		last = pos;
		lastlen = len;
		pos += len;
		parts++;
	}
	if (pos >= n || (name[pos + 1] != '\0' && name[pos + 1] != '.'))
		return NULL;
	if (parts < 2 || lastlen != 17 || name[last] != 'h')
		return NULL;
	for (size_t i = 1; i < 17; i++)
		if (rs_hexval((unsigned char)name[last + i]) < 0)
			return NULL;
	struct rs *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	pos = 3;
	for (size_t part = 0; part + 1 < parts && !r->bad; part++) {
		size_t len = 0;
		while (name[pos] >= '0' && name[pos] <= '9')
			len = len * 10 + (size_t)(name[pos++] - '0');
		const char *p = name + pos;
		pos += len;
		if (part)
			rs_puts(r, "::");
		/* A part that would start with '$' is written "_$". */
		if (len > 1 && p[0] == '_' && p[1] == '$') {
			p++;
			len--;
		}
		for (size_t i = 0; i < len && !r->bad;) {
			if (p[i] == '.') {
				bool two = i + 1 < len && p[i + 1] == '.';
				rs_puts(r, two ? "::" : ".");
				i += two ? 2 : 1;
			} else if (p[i] == '$') {
				size_t k = rs_legacy_escape(r, p + i, len - i);
				if (!k)
					r->bad = true;
				i += k;
			} else {
				rs_put(r, p + i, 1);
				i++;
			}
		}
	}
	char *out = rs_finish(r);
	free(r);
	return out;
}

char *
ct_demangle_rust(const char *name)
{
	if (!name)
		return NULL;
	if (!strncmp(name, "_R", 2))
		return rs_v0(name);
	if (!strncmp(name, "_ZN", 3))
		return rs_legacy(name);
	return NULL;
}

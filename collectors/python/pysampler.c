// SPDX-License-Identifier: Apache-2.0
/*
 * CPython stack sampling; see pysampler.h. Per sample: find the GIL
 * holder, check it belongs to a known interpreter, walk its frames leaf to
 * root through the page cache, map each code object to an interned frame
 * string through a bounded open-addressing cache keyed by address and
 * checked against (type, name, filename, first line) every time, so a
 * freed and reused address is noticed. Nothing here trusts a pointer: a
 * torn read drops the sample, never the process.
 */
#include "pysampler.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pylinetable.h"
#include "pymem.h"
#include "pypackages.h"
#include "xalloc.h"

#define CODE_CACHE_CAP 4096u		/* power of two */
#define MAX_INTERPS 16
#define INTERP_REFRESH 256		/* samples between interpreter list reads */
#define MAX_NAME_CHARS 1024
#define MAX_LINETABLE (64u << 10)
#define LINETABLE_BUDGET (8u << 20)	/* all cached tables of one sampler */
#define FRAME_BUF 4096

struct code_entry {
	uint64_t addr;			/* 0: free */
	uint64_t name_ptr, file_ptr;
	int32_t firstlineno;
	gp_str first;			/* "name (file:first)_[p]" */
	gp_str name, file;
	const char *tag;		/* "[pkg==ver]" annotation, borrowed */
	uint8_t *linetable;		/* current-line mode, lazily */
	uint32_t linetable_len;
	bool linetable_tried;
	int32_t memo_lasti, memo_line;	/* last lookup (current-line mode) */
	gp_str memo_frame;		/* the frame string of memo_line */
};

struct interp {
	uint64_t addr;
	uint64_t gil;			/* PYGIL_INTERP */
};

struct pysampler {
	int pid;
	struct pyruntime rt;
	struct pylayout l;
	enum pyline_mode mode;
	struct pypackages *pkgs;	/* borrowed; NULL: no package tags */
	struct pymem *mem;
	struct interp interps[MAX_INTERPS];
	unsigned int ninterps;
	uint64_t since_refresh;
	struct code_entry *codes;	/* CODE_CACHE_CAP */
	unsigned int ncodes;
	size_t linetable_bytes;
	gp_str *stack;			/* PYSAMPLER_MAX_DEPTH ring, leaf first */
	gp_str *out;			/* PYSAMPLER_MAX_DEPTH, root first */
	char *buf;			/* FRAME_BUF */
	struct pysampler_stats st;
};

static uint64_t rd64(const uint8_t *b, uint32_t off)
{
	uint64_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static int32_t rd32(const uint8_t *b, uint32_t off)
{
	int32_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

/* A plausible user-space object pointer: canonical, aligned. */
static bool ptr_ok(uint64_t p)
{
	return p >= 4096 && p < (1ULL << 47) && !(p & 7);
}

/* ---- interpreters and threads ---------------------------------------- */

static int refresh_interps(struct pysampler *s)
{
	uint64_t interp;
	unsigned int n = 0;
	int r;

	r = pymem__read_ptr(s->mem, s->rt.runtime + s->l.rt_interp_head, &interp);
	if (r)
		return r;
	while (interp && n < MAX_INTERPS) {
		uint64_t next, gil = 0;

		if (!ptr_ok(interp))
			return -EPROTO;
		if ((r = pymem__read_ptr(s->mem, interp + s->l.is_next, &next)))
			return r;
		if (s->l.gil_kind == PYGIL_INTERP &&
		    (r = pymem__read_ptr(s->mem, interp + s->l.is_gil, &gil)))
			return r;
		s->interps[n].addr = interp;
		s->interps[n].gil = gil;
		n++;
		interp = next;
	}
	s->ninterps = n;
	s->since_refresh = 0;
	return 0;
}

static bool interp_known(const struct pysampler *s, uint64_t interp)
{
	for (unsigned int i = 0; i < s->ninterps; i++)
		if (s->interps[i].addr == interp)
			return true;
	return false;
}

/* The thread states holding a GIL; returns how many (at most max). */
static int gil_holders(struct pysampler *s, uint64_t *ret, int max)
{
	int n = 0, r;

	if (s->l.gil_kind == PYGIL_TSTATE_CURRENT) {
		uint64_t ts;

		r = pymem__read_ptr(s->mem, s->rt.runtime + s->l.rt_tstate_current, &ts);
		if (r)
			return r;
		if (ts)
			ret[n++] = ts;
		return n;
	}
	for (unsigned int i = 0; i < s->ninterps && n < max; i++) {
		uint8_t g[24];
		uint64_t holder;
		int32_t locked;
		bool dup = false;

		if (!ptr_ok(s->interps[i].gil))
			continue;
		r = pymem__read(s->mem, s->interps[i].gil, g, sizeof(g));
		if (r)
			return r;
		if (s->l.gil_locked + 4 > sizeof(g) || s->l.gil_last_holder + 8 > sizeof(g))
			return -EPROTO;
		locked = rd32(g, s->l.gil_locked);
		holder = rd64(g, s->l.gil_last_holder);
		if (!locked || !holder)
			continue;
		/* sub-interpreters may share the main GIL */
		for (int k = 0; k < n; k++)
			dup |= ret[k] == holder;
		if (!dup)
			ret[n++] = holder;
	}
	return n;
}

/* ---- strings ----------------------------------------------------------- */

static size_t utf8_put(char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = 0xc0 | (c >> 6);
		out[1] = 0x80 | (c & 0x3f);
		return 2;
	}
	if (c < 0x10000) {
		if (c >= 0xd800 && c < 0xe000)
			c = 0xfffd;	/* lone surrogate */
		out[0] = 0xe0 | (c >> 12);
		out[1] = 0x80 | ((c >> 6) & 0x3f);
		out[2] = 0x80 | (c & 0x3f);
		return 3;
	}
	if (c > 0x10ffff)
		c = 0xfffd;
	if (c < 0x10000)
		return utf8_put(out, c);
	out[0] = 0xf0 | (c >> 18);
	out[1] = 0x80 | ((c >> 12) & 0x3f);
	out[2] = 0x80 | ((c >> 6) & 0x3f);
	out[3] = 0x80 | (c & 0x3f);
	return 4;
}

/*
 * Reads the str object at addr as UTF-8 into out (cap bytes, NUL-ended).
 * Characters that would break the folded format (';', newlines, control
 * characters) are replaced. Returns the length or -errno.
 */
static int read_str(struct pysampler *s, uint64_t addr, char *out, size_t cap)
{
	uint8_t hdr[128], raw[MAX_NAME_CHARS * 4];
	uint32_t state, kind;
	int64_t len;
	uint64_t data;
	size_t o = 0;
	int r;

	if (!ptr_ok(addr) || s->l.str_legacy_data + 8 > sizeof(hdr))
		return -EPROTO;
	r = pymem__read(s->mem, addr, hdr, s->l.str_legacy_data + 8);
	if (r)
		return r;
	if (s->rt.unicode_type && rd64(hdr, s->l.ob_type) != s->rt.unicode_type)
		return -EPROTO;
	memcpy(&len, hdr + s->l.str_length, sizeof(len));
	state = (uint32_t)rd32(hdr, s->l.str_state);
	kind = (state >> 2) & 7;
	if (len < 0 || (kind != 1 && kind != 2 && kind != 4))
		return -EPROTO;
	if (len > MAX_NAME_CHARS)
		len = MAX_NAME_CHARS;
	if (!((state >> 5) & 1))		/* not compact: data pointer */
		data = rd64(hdr, s->l.str_legacy_data);
	else if ((state >> 6) & 1)		/* compact ascii */
		data = addr + s->l.str_ascii_data;
	else
		data = addr + s->l.str_compact_data;
	if (len && (r = pymem__read(s->mem, data, raw, (size_t)len * kind)))
		return r;
	for (int64_t i = 0; i < len; i++) {
		uint32_t c;

		if (kind == 1)
			c = raw[i];
		else if (kind == 2)
			c = raw[2 * i] | (uint32_t)raw[2 * i + 1] << 8;
		else
			memcpy(&c, raw + 4 * i, 4);
		if (c == ';')
			c = ':';
		else if (c < 0x20 || c == 0x7f)
			c = ' ';
		if (o + 5 >= cap)
			break;
		o += utf8_put(out + o, c);
	}
	out[o] = '\0';
	return (int)o;
}

/* ---- code objects ------------------------------------------------------ */

static void code_clear(struct code_entry *c)
{
	free(c->linetable);
	memset(c, 0, sizeof(*c));
}

static void codes_clear(struct pysampler *s)
{
	for (unsigned int i = 0; i < CODE_CACHE_CAP; i++)
		if (s->codes[i].addr)
			code_clear(&s->codes[i]);
	s->ncodes = 0;
	s->linetable_bytes = 0;
}

static struct code_entry *code_slot(struct pysampler *s, uint64_t addr)
{
	unsigned int i = (unsigned int)((addr >> 4) * 0x9E3779B1u) & (CODE_CACHE_CAP - 1);

	for (unsigned int k = 0; k < CODE_CACHE_CAP; k++, i = (i + 1) & (CODE_CACHE_CAP - 1))
		if (s->codes[i].addr == addr || !s->codes[i].addr)
			return &s->codes[i];
	return NULL;
}

static bool ends_with_py(const char *file)
{
	size_t n = strlen(file);

	return n >= 3 && !memcmp(file + n - 3, ".py", 3);
}

/* "name (file:line)_[p]", with gProfiler's " [pkg==ver]" after the line
 * when the file is a .py file of a known package. */
static gp_str frame_str(struct pysampler *s, struct profile *prof, const char *name,
			const char *file, int line, const char *tag)
{
	int n;

	if (!file[0])
		n = snprintf(s->buf, FRAME_BUF, "%s_[p]", name);
	else if (line > 0 && tag && ends_with_py(file))
		n = snprintf(s->buf, FRAME_BUF, "%s (%s:%d [%s])_[p]", name, file, line, tag);
	else if (line > 0)
		n = snprintf(s->buf, FRAME_BUF, "%s (%s:%d)_[p]", name, file, line);
	else
		n = snprintf(s->buf, FRAME_BUF, "%s (%s)_[p]", name, file);
	if (n < 0)
		n = 0;
	if (n >= FRAME_BUF)
		n = FRAME_BUF - 1;
	return profile__intern(prof, s->buf, n);
}

/* The validated cache entry of the code object at addr, made on a miss. */
static struct code_entry *code_get(struct pysampler *s, struct profile *prof, uint64_t addr)
{
	uint8_t hdr[512];
	struct code_entry *c;
	uint64_t name_ptr, file_ptr;
	int32_t first;
	char name[MAX_NAME_CHARS * 4 + 8], file[MAX_NAME_CHARS * 4 + 8];

	if (!ptr_ok(addr) || s->l.co_size > sizeof(hdr))
		return NULL;
	if (pymem__read(s->mem, addr, hdr, s->l.co_size))
		return NULL;
	if (s->rt.code_type && rd64(hdr, s->l.ob_type) != s->rt.code_type)
		return NULL;
	name_ptr = rd64(hdr, s->l.co_name);
	file_ptr = rd64(hdr, s->l.co_filename);
	first = rd32(hdr, s->l.co_firstlineno);

	c = code_slot(s, addr);
	if (c && c->addr == addr) {
		if (c->name_ptr == name_ptr && c->file_ptr == file_ptr && c->firstlineno == first)
			return c;
		s->linetable_bytes -= c->linetable_len;
		code_clear(c);		/* address reused by another code object */
		s->ncodes--;
	}
	if (!c || s->ncodes >= CODE_CACHE_CAP * 3 / 4 || s->linetable_bytes > LINETABLE_BUDGET) {
		codes_clear(s);
		c = code_slot(s, addr);
	}
	if (read_str(s, name_ptr, name, sizeof(name)) < 0 ||
	    read_str(s, file_ptr, file, sizeof(file)) < 0)
		return NULL;
	c->addr = addr;
	c->name_ptr = name_ptr;
	c->file_ptr = file_ptr;
	c->firstlineno = first;
	c->name = profile__intern_cstr(prof, name);
	c->file = profile__intern_cstr(prof, file);
	c->tag = s->pkgs ? pypackages__tag(s->pkgs, file) : NULL;
	c->first = frame_str(s, prof, name, file, first, c->tag);
	c->memo_lasti = INT32_MIN;
	s->ncodes++;
	return c;
}

static int load_linetable(struct pysampler *s, struct code_entry *c)
{
	uint8_t hdr[64];
	uint64_t tab;
	int64_t len;

	c->linetable_tried = true;
	if (pymem__read_ptr(s->mem, c->addr + s->l.co_linetable, &tab) || !ptr_ok(tab))
		return -EPROTO;
	if (s->l.bytes_sval > sizeof(hdr) || pymem__read(s->mem, tab, hdr, s->l.bytes_sval))
		return -EPROTO;
	memcpy(&len, hdr + s->l.bytes_size, sizeof(len));
	if (len < 0 || len > MAX_LINETABLE)
		return -EPROTO;
	c->linetable = xmalloc(len ? len : 1);
	if (len && pymem__read(s->mem, tab + s->l.bytes_sval, c->linetable, len)) {
		free(c->linetable);
		c->linetable = NULL;
		return -EPROTO;
	}
	c->linetable_len = len;
	s->linetable_bytes += len;
	return 0;
}

/* The line being executed; lasti is f_lasti (<= 3.10) or the code unit
 * index (3.11+). 0 when unknown. */
static int code_line(struct pysampler *s, struct code_entry *c, int32_t lasti)
{
	int line;

	if (c->memo_lasti == lasti)
		return c->memo_line;
	if (!c->linetable && (c->linetable_tried || load_linetable(s, c)))
		return 0;
	switch (s->l.line_kind) {
	case PYLINE_LNOTAB:
		line = pyline_lnotab(c->linetable, c->linetable_len, c->firstlineno, lasti);
		break;
	case PYLINE_310:
		line = pyline_linetable310(c->linetable, c->linetable_len, c->firstlineno,
					   lasti < 0 ? -1 : lasti * 2);
		break;
	default:
		line = pyline_locations311(c->linetable, c->linetable_len, c->firstlineno, lasti);
		break;
	}
	c->memo_lasti = lasti;
	c->memo_line = line;
	return line;
}

/* ---- the walk ------------------------------------------------------------ */

static gp_str frame_gp(struct pysampler *s, struct profile *prof, struct code_entry *c,
		       int32_t lasti)
{
	int line, prev_line = c->memo_line;

	if (s->mode == PYLINE_MODE_FIRST)
		return c->first;
	/* callers' frames sit on the same instruction sample after sample */
	if (c->memo_lasti == lasti && c->memo_frame)
		return c->memo_frame;
	line = code_line(s, c, lasti);
	if (line == c->firstlineno)
		c->memo_frame = c->first;
	else if (line != prev_line || !c->memo_frame)
		c->memo_frame = frame_str(s, prof, profile__str(prof, c->name),
					  profile__str(prof, c->file), line, c->tag);
	return c->memo_frame;
}

/* Walks the frames of thread state ts into s->stack, a ring of
 * PYSAMPLER_MAX_DEPTH (leaf first); returns the number of frames walked
 * (may exceed the ring: the ring then holds the root-most ones) or -errno.
 * A chain longer than PYSAMPLER_MAX_WALK is taken for a torn cycle. */
static int walk(struct pysampler *s, struct profile *prof, uint64_t ts)
{
	uint8_t tsbuf[512], fr[4096];
	uint64_t frame, prev = 0;
	uint32_t need = s->l.ts_frame > s->l.ts_interp ? s->l.ts_frame : s->l.ts_interp;
	uint64_t walked0 = s->st.frames;
	int depth = 0, r;

	if (!ptr_ok(ts) || need + 8 > sizeof(tsbuf) || s->l.fr_size > sizeof(fr))
		return -EPROTO;
	if ((r = pymem__read(s->mem, ts, tsbuf, need + 8)))
		return r;
	if (!interp_known(s, rd64(tsbuf, s->l.ts_interp))) {
		/* a new interpreter, or a torn read: look again next time */
		s->since_refresh = INTERP_REFRESH;
		return -EAGAIN;
	}
	frame = rd64(tsbuf, s->l.ts_frame);
	if (s->l.cframe_current_frame != PYLAYOUT_DIRECT_FRAME && frame) {
		if (!ptr_ok(frame))
			return -EPROTO;
		if ((r = pymem__read_ptr(s->mem, frame + s->l.cframe_current_frame, &frame)))
			return r;
	}
	while (frame) {
		struct code_entry *c;
		uint64_t code, back;
		int32_t lasti = -1;

		if (!ptr_ok(frame) || frame == prev)
			return -EPROTO;
		if (s->st.frames - walked0 >= PYSAMPLER_MAX_WALK)
			return -ELOOP;
		if ((r = pymem__read(s->mem, frame, fr, s->l.fr_size)))
			return r;
		code = rd64(fr, s->l.fr_code);
		back = rd64(fr, s->l.fr_back);
		s->st.frames++;
		prev = frame;
		frame = back;
		if (s->l.frame_kind == PYFRAME_INTERP) {
			uint8_t owner = fr[s->l.fr_owner];

			if (s->l.minor >= 12 && owner == PYFRAME_OWNED_BY_CSTACK)
				continue;	/* shim frame: no Python code */
			if (owner > PYFRAME_OWNED_BY_CSTACK)
				return -EPROTO;
		}
		c = code_get(s, prof, code);
		if (!c) {
			/* 3.13: the executable of a frame may be a non-code object */
			if (s->l.minor >= 13)
				continue;
			return -EPROTO;
		}
		if (s->mode == PYLINE_MODE_CURRENT) {
			if (s->l.frame_kind == PYFRAME_OBJECT) {
				lasti = rd32(fr, s->l.fr_lasti);
			} else {
				uint64_t ip = rd64(fr, s->l.fr_lasti), base = code + s->l.co_code_adaptive;
				int64_t unit = ((int64_t)ip - (int64_t)base) / 2;

				lasti = unit < -1 || unit > (1 << 24) ? -1 : (int32_t)unit;
			}
		}
		s->stack[depth++ % PYSAMPLER_MAX_DEPTH] = frame_gp(s, prof, c, lasti);
	}
	return depth;
}

int pysampler__sample(struct pysampler *s, struct profile *prof, uint32_t proc)
{
	uint64_t holders[MAX_INTERPS];
	int n, added = 0;

	s->st.samples++;
	pymem__reset(s->mem);
	if (!s->ninterps || ++s->since_refresh >= INTERP_REFRESH) {
		int r = refresh_interps(s);

		if (r == -ESRCH)
			return r;
		if (r) {
			s->st.errors++;
			return 0;
		}
	}
	n = gil_holders(s, holders, MAX_INTERPS);
	if (n == -ESRCH)
		return n;
	if (n < 0) {
		s->st.errors++;
		return 0;
	}
	if (!n)
		s->st.idle++;
	for (int i = 0; i < n; i++) {
		int depth = walk(s, prof, holders[i]);

		if (depth == -ESRCH)
			return depth;
		if (depth <= 0) {
			if (depth < 0)
				s->st.errors++;
			continue;
		}
		/* root first; past the ring's size the innermost frames are
		 * dropped, so deep stacks keep their roots */
		int n = depth < PYSAMPLER_MAX_DEPTH ? depth : PYSAMPLER_MAX_DEPTH;

		for (int k = 0; k < n; k++)
			s->out[k] = s->stack[(depth - 1 - k) % PYSAMPLER_MAX_DEPTH];
		profile__add(prof, proc, profile__stack(prof, s->out, n), 1);
		s->st.stacks++;
		added++;
	}
	return added;
}

/* ---- setup --------------------------------------------------------------- */

/* Reads _Py_DebugOffsets (3.13+); 0 and a layout, or -errno. */
static int layout_from_target(struct pysampler *s)
{
	uint8_t buf[PY_DEBUG_OFFSETS_SIZE];
	uint64_t version;
	int r;

	r = pymem_read_direct(s->pid, s->rt.runtime, buf, sizeof(buf));
	if (r)
		return r;
	return pylayout_from_debug_offsets(buf, sizeof(buf), &s->l, &version);
}

/* Checks the layout on the live process: the first thread state of the
 * main interpreter must point back to it. An interpreter that is not
 * initialized yet passes (there is nothing to contradict). */
static int validate(struct pysampler *s)
{
	uint64_t ts, back;
	int r;

	r = refresh_interps(s);
	if (r)
		return r;
	if (!s->ninterps)
		return 0;
	r = pymem__read_ptr(s->mem, s->interps[0].addr + s->l.is_tstate_head, &ts);
	if (r)
		return r;
	if (!ts)
		return 0;
	if (!ptr_ok(ts))
		return -EPROTO;
	r = pymem__read_ptr(s->mem, ts + s->l.ts_interp, &back);
	if (r)
		return r;
	return back == s->interps[0].addr ? 0 : -EPROTO;
}

struct pysampler *pysampler__new(int pid, const struct pyruntime *rt, enum pyline_mode mode,
				 const char **ret_reason)
{
	struct pysampler *s = xcalloc(1, sizeof(*s));
	const struct pylayout *l;
	int r;

	s->pid = pid;
	s->rt = *rt;
	s->mode = mode;
	s->mem = pymem__new(pid);
	s->codes = xcalloc(CODE_CACHE_CAP, sizeof(*s->codes));
	s->stack = xcalloc(PYSAMPLER_MAX_DEPTH, sizeof(*s->stack));
	s->out = xcalloc(PYSAMPLER_MAX_DEPTH, sizeof(*s->out));
	s->buf = xmalloc(FRAME_BUF);

	r = -ENOTSUP;
	if (rt->major == 3 && rt->minor >= 13)
		r = layout_from_target(s);
	if (r == -ESRCH) {
		*ret_reason = "process went down during profiling";
		goto fail;
	}
	if (r) {
		/* a 3.13 whose debug offsets are refused is free-threaded */
		if (r == -ENOTSUP && rt->minor >= 13) {
			*ret_reason = rt->minor == 13 ? "free-threaded CPython is not supported"
						      : "unsupported Python version";
			goto fail;
		}
		l = pylayout_for_version(rt->major, rt->minor);
		if (!l) {
			*ret_reason = "unsupported Python version";
			r = -ENOTSUP;
			goto fail;
		}
		s->l = *l;
	}
	r = validate(s);
	if (r == -ESRCH) {
		*ret_reason = "process went down during profiling";
		goto fail;
	}
	if (r) {
		*ret_reason = "the CPython runtime layout did not validate";
		r = -EPROTO;
		goto fail;
	}
	return s;
fail:
	pysampler__free(s);
	errno = -r;
	return NULL;
}

struct pysampler *pysampler__free(struct pysampler *s)
{
	if (!s)
		return NULL;
	if (s->codes)
		codes_clear(s);
	free(s->codes);
	free(s->stack);
	free(s->out);
	free(s->buf);
	pymem__free(s->mem);
	free(s);
	return NULL;
}

void pysampler__set_packages(struct pysampler *s, struct pypackages *pkgs)
{
	s->pkgs = pkgs;
}

const struct pylayout *pysampler__layout(const struct pysampler *s)
{
	return &s->l;
}

void pysampler__stats(const struct pysampler *s, struct pysampler_stats *ret)
{
	*ret = s->st;
	ret->syscalls = pymem__syscalls(s->mem);
	ret->pages = pymem__pages(s->mem);
}

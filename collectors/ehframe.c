// SPDX-License-Identifier: Apache-2.0
/*
 * .eh_frame_hdr parsing and search tables for files without one; see
 * ehframe.h. Everything here reads a file image with bounds checks: the
 * bytes come from binaries of other processes and may be truncated or
 * hostile.
 */
#include "ehframe.h"

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define SHT_X86_64_UNWIND_ 0x70000001

/* ---- primitive reads ---- */

static int rd(const uint8_t **pp, const uint8_t *end, void *out, size_t n)
{
	if ((size_t)(end - *pp) < n)
		return -EINVAL;
	memcpy(out, *pp, n);
	*pp += n;
	return 0;
}

static int rd_uleb(const uint8_t **pp, const uint8_t *end, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned int shift = 0;

	while (*pp < end) {
		uint8_t b = *(*pp)++;

		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			*ret = v;
			return 0;
		}
	}
	return -EINVAL;
}

static int rd_sleb(const uint8_t **pp, const uint8_t *end, int64_t *ret)
{
	uint64_t v = 0;
	unsigned int shift = 0;
	uint8_t b = 0;

	do {
		if (*pp >= end)
			return -EINVAL;
		b = *(*pp)++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= ~(uint64_t)0 << shift;
	*ret = (int64_t)v;
	return 0;
}

int ehframe_read_ptr(const uint8_t **pp, const uint8_t *end, uint8_t enc, uint64_t field_vaddr,
		     uint64_t data_vaddr, uint64_t *ret)
{
	uint64_t v = 0;
	int64_t sv;
	int r = 0;

	if (enc == EH_PE_OMIT)
		return -EINVAL;
	switch (enc & 0x0f) {
	case EH_PE_ABSPTR:
	case EH_PE_UDATA8:
	case EH_PE_SDATA8:
		r = rd(pp, end, &v, 8);
		break;
	case EH_PE_UDATA4: {
		uint32_t u = 0;

		r = rd(pp, end, &u, 4);
		v = u;
		break;
	}
	case EH_PE_SDATA4: {
		int32_t s = 0;

		r = rd(pp, end, &s, 4);
		v = (uint64_t)(int64_t)s;
		break;
	}
	case EH_PE_UDATA2: {
		uint16_t u = 0;

		r = rd(pp, end, &u, 2);
		v = u;
		break;
	}
	case EH_PE_SDATA2: {
		int16_t s = 0;

		r = rd(pp, end, &s, 2);
		v = (uint64_t)(int64_t)s;
		break;
	}
	case EH_PE_ULEB128:
		r = rd_uleb(pp, end, &v);
		break;
	case EH_PE_SLEB128:
		r = rd_sleb(pp, end, &sv);
		v = (uint64_t)sv;
		break;
	default:
		return -EINVAL;
	}
	if (r)
		return r;
	switch (enc & 0x70) {
	case 0:
		break;
	case EH_PE_PCREL:
		v += field_vaddr;
		break;
	case EH_PE_DATAREL:
		v += data_vaddr;
		break;
	default:
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

int ehframe_parse_hdr(const uint8_t *p, size_t len, uint64_t vaddr, struct eh_frame_hdr *ret)
{
	const uint8_t *q = p + 4, *end = p + len;
	uint64_t eh_frame, count;

	if (len < 4 || p[0] != 1)
		return -EINVAL;
	if (ehframe_read_ptr(&q, end, p[1], vaddr + 4, vaddr, &eh_frame))
		return -EINVAL;
	if (p[2] == EH_PE_OMIT || ehframe_read_ptr(&q, end, p[2], vaddr + (q - p), vaddr, &count))
		return -EINVAL;
	if (p[3] != (EH_PE_DATAREL | EH_PE_SDATA4) || !count)
		return -ENOENT;
	if (count > (uint64_t)(end - q) / 8)
		return -EINVAL;
	ret->table_off = (uint64_t)(q - p);
	ret->fde_count = count;
	return 0;
}

/* ---- sections ---- */

struct sect {
	uint64_t off, size, addr;
};

static bool find_section(const uint8_t *img, size_t len, const char *name, struct sect *ret)
{
	const Elf64_Ehdr *eh = (const void *)img;
	const Elf64_Shdr *sh, *strs;

	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !eh->e_shnum || eh->e_shstrndx >= eh->e_shnum || eh->e_shoff > len ||
	    (uint64_t)eh->e_shnum * sizeof(*sh) > len - eh->e_shoff)
		return false;
	sh = (const void *)(img + eh->e_shoff);
	strs = &sh[eh->e_shstrndx];
	if (strs->sh_offset > len || strs->sh_size > len - strs->sh_offset)
		return false;
	for (size_t i = 0; i < eh->e_shnum; i++) {
		const char *n = (const char *)img + strs->sh_offset + sh[i].sh_name;
		size_t nlen = strlen(name);

		if (sh[i].sh_name + nlen + 1 > strs->sh_size || memcmp(n, name, nlen + 1))
			continue;
		if (sh[i].sh_type == SHT_NOBITS || sh[i].sh_offset > len ||
		    sh[i].sh_size > len - sh[i].sh_offset || !sh[i].sh_size)
			return false;
		if (sh[i].sh_flags & SHF_COMPRESSED)
			return false;
		*ret = (struct sect){ sh[i].sh_offset, sh[i].sh_size, sh[i].sh_addr };
		return true;
	}
	return false;
}

static uint64_t image_end_vaddr(const uint8_t *img, size_t len)
{
	const Elf64_Ehdr *eh = (const void *)img;
	const Elf64_Phdr *ph;
	uint64_t hi = 0;

	if (len < sizeof(*eh) || eh->e_phentsize != sizeof(*ph) || eh->e_phoff > len ||
	    (uint64_t)eh->e_phnum * sizeof(*ph) > len - eh->e_phoff)
		return 0;
	ph = (const void *)(img + eh->e_phoff);
	for (size_t i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr + ph[i].p_memsz > hi)
			hi = ph[i].p_vaddr + ph[i].p_memsz;
	return hi;
}

int ehframe_has_section(const uint8_t *img, size_t len, const char *name)
{
	struct sect sec;

	return find_section(img, len, name, &sec);
}

size_t ehframe_build_id(const uint8_t *img, size_t len, uint8_t *buf)
{
	struct sect sec;
	const uint8_t *p, *end;

	if (!find_section(img, len, ".note.gnu.build-id", &sec))
		return 0;
	p = img + sec.off;
	end = p + sec.size;
	while (end - p >= 12) {
		uint32_t namesz, descsz, type;

		memcpy(&namesz, p, 4);
		memcpy(&descsz, p + 4, 4);
		memcpy(&type, p + 8, 4);
		p += 12;
		if (namesz > (size_t)(end - p) || ((namesz + 3) & ~3u) + (uint64_t)descsz >
							      (uint64_t)(end - p))
			return 0;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && !memcmp(p, "GNU", 4) && descsz &&
		    descsz <= 64) {
			memcpy(buf, p + 4, descsz);
			return descsz;
		}
		p += ((namesz + 3) & ~3u) + ((descsz + 3) & ~3u);
	}
	return 0;
}

const char *ehframe_debuglink(const uint8_t *img, size_t len, uint32_t *ret_crc)
{
	struct sect sec;
	const char *name;
	size_t n, crc_off;

	if (!find_section(img, len, ".gnu_debuglink", &sec) || sec.size < 8)
		return NULL;
	name = (const char *)img + sec.off;
	n = strnlen(name, sec.size);
	crc_off = (n + 4) & ~(size_t)3;
	if (!n || crc_off + 4 > sec.size)
		return NULL;
	memcpy(ret_crc, img + sec.off + crc_off, 4);
	return name;
}

/* ---- tables ---- */

struct entry {
	uint64_t pc, fde;	/* vaddrs */
};

struct ehtab {
	uint64_t base;		/* vaddr of mem[0] */
	uint8_t *mem;		/* [rewritten .debug_frame][int32 pairs] */
	size_t len;
	uint64_t segbase, table, count;
};

struct cie {
	uint64_t off;		/* in the source section */
	uint8_t fde_enc;
	bool ok;
	uint64_t new_off;	/* debug_frame rewrite: where it went */
};

static struct cie *cie_find(struct cie *cies, size_t n, uint64_t off)
{
	for (size_t i = n; i-- > 0;)	/* FDEs usually follow their CIE */
		if (cies[i].off == off)
			return &cies[i];
	return NULL;
}

/* Reads the CIE body b..end (after the id) of an .eh_frame; returns the
 * FDE pointer encoding. */
static bool eh_cie(const uint8_t *b, const uint8_t *end, uint64_t body_vaddr, uint8_t *ret_enc)
{
	const uint8_t *p = b, *aug;
	uint8_t version, enc = EH_PE_ABSPTR;
	uint64_t u;
	int64_t s;

	if (rd(&p, end, &version, 1))
		return false;
	aug = p;
	while (p < end && *p)
		p++;
	if (p++ >= end)
		return false;
	if (aug[0] == 'e' && aug[1] == 'h') {
		if (end - p < 8)
			return false;
		p += 8;
	}
	if (rd_uleb(&p, end, &u) || rd_sleb(&p, end, &s))
		return false;
	if (version == 1 ? rd(&p, end, &version, 1) : rd_uleb(&p, end, &u))
		return false;
	if (aug[0] == 'z') {
		uint64_t alen;

		if (rd_uleb(&p, end, &alen) || alen > (uint64_t)(end - p))
			return false;
		for (const uint8_t *a = aug + 1; *a; a++) {
			uint8_t e;
			uint64_t dummy;

			switch (*a) {
			case 'R':
				if (rd(&p, end, &enc, 1))
					return false;
				break;
			case 'P':
				if (rd(&p, end, &e, 1) ||
				    ehframe_read_ptr(&p, end, e & ~EH_PE_INDIRECT,
						     body_vaddr + (p - b), 0, &dummy))
					return false;
				break;
			case 'L':
				if (rd(&p, end, &e, 1))
					return false;
				break;
			case 'S':
			case 'B':
			case 'G':
				break;
			default:
				return true;	/* later data unknown; R came first if any */
			}
		}
	}
	*ret_enc = enc;
	return true;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return x->pc < y->pc ? -1 : x->pc > y->pc;
}

/* FDEs of an .eh_frame section at vaddr sec.addr. */
static size_t scan_eh_frame(const uint8_t *img, const struct sect *sec, struct entry **ret)
{
	const uint8_t *s = img + sec->off, *end = s + sec->size;
	struct cie *cies = NULL;
	struct entry *e = NULL;
	size_t ncies = 0, ccap = 0, n = 0, cap = 0;
	uint64_t off = 0;

	while (off + 8 <= sec->size) {
		uint32_t len32, id;
		const uint8_t *body = s + off + 4, *rend;

		memcpy(&len32, s + off, 4);
		if (len32 == 0 || len32 == 0xffffffff || len32 > sec->size - off - 4)
			break;	/* terminator, 64-bit records (unused on x86-64), truncation */
		rend = body + len32;
		memcpy(&id, body, 4);
		if (id == 0) {
			uint8_t enc = EH_PE_ABSPTR;
			bool ok = eh_cie(body + 4, rend, sec->addr + off + 8, &enc);

			xgrow((void **)&cies, &ccap, ncies + 1, sizeof(*cies));
			cies[ncies++] = (struct cie){ .off = off, .ok = ok, .fde_enc = enc };
		} else {
			uint64_t cie_off = off + 4 - id, pc, range;
			const uint8_t *p = body + 4;
			struct cie *c = id <= off + 4 ? cie_find(cies, ncies, cie_off) : NULL;

			if (c && c->ok &&
			    !ehframe_read_ptr(&p, rend, c->fde_enc, sec->addr + (p - s), 0, &pc) &&
			    !ehframe_read_ptr(&p, rend, c->fde_enc & 0x0f, 0, 0, &range) && range) {
				xgrow((void **)&e, &cap, n + 1, sizeof(*e));
				e[n++] = (struct entry){ pc, sec->addr + off };
			}
		}
		off += 4 + (uint64_t)len32;
	}
	(void)end;
	free(cies);
	*ret = e;
	return n;
}

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *src, size_t n)
{
	xgrow((void **)&b->p, &b->cap, b->len + n, 1);
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void put_u8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put_u32(struct buf *b, uint32_t v)
{
	put(b, &v, 4);
}

static void patch_u32(struct buf *b, size_t at, uint32_t v)
{
	memcpy(b->p + at, &v, 4);
}

/* Closes the record opened at start (its length field), padded to 8. */
static void close_record(struct buf *b, size_t start)
{
	while ((b->len - start) % 8)
		put_u8(b, 0);	/* DW_CFA_nop */
	patch_u32(b, start, (uint32_t)(b->len - start - 4));
}

static bool fits32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

/* Rewrites the .debug_frame CIE body p..end (after its id) as an
 * .eh_frame CIE appended to out. Only CIEs without augmentation and with
 * 8-byte addresses are taken (what compilers write). */
static bool rewrite_cie(const uint8_t *p, const uint8_t *end, struct buf *out)
{
	const uint8_t *ca, *da, *ra, *insns;
	uint8_t version, asz = 8, segsz = 0;
	uint64_t u, rareg = 0;
	int64_t sv;
	size_t start = out->len;

	if (rd(&p, end, &version, 1) || (version != 1 && version != 3 && version != 4))
		return false;
	if (p >= end || *p++ != 0)
		return false;
	if (version == 4 && (rd(&p, end, &asz, 1) || rd(&p, end, &segsz, 1)))
		return false;
	if (asz != 8 || segsz != 0)
		return false;
	ca = p;
	if (rd_uleb(&p, end, &u))
		return false;
	da = p;
	if (rd_sleb(&p, end, &sv))
		return false;
	ra = p;
	if (version == 1 ? rd(&p, end, &rareg, 1) : rd_uleb(&p, end, &rareg))
		return false;
	insns = p;
	put_u32(out, 0);
	put_u32(out, 0);	/* CIE id */
	put_u8(out, rareg < 256 ? 1 : 3);
	put(out, "zR", 3);
	put(out, ca, da - ca);
	put(out, da, ra - da);
	if (rareg < 256)
		put_u8(out, (uint8_t)rareg);
	else
		put(out, ra, insns - ra);
	put_u8(out, 1);		/* augmentation data: one byte */
	put_u8(out, EH_PE_PCREL | EH_PE_SDATA4);
	put(out, insns, end - insns);
	close_record(out, start);
	return true;
}

/*
 * Rewrites a .debug_frame as .eh_frame records in out, whose first byte
 * will be served at vaddr base: CIEs get id 0 and augmentation "zR" with
 * pc-relative sdata4 FDE addresses; FDEs get back-pointers to their CIE.
 */
static size_t rewrite_debug_frame(const uint8_t *img, const struct sect *sec, uint64_t base,
				  struct buf *out, struct entry **ret)
{
	const uint8_t *s = img + sec->off;
	struct cie *cies = NULL;
	struct entry *e = NULL;
	size_t ncies = 0, ccap = 0, n = 0, cap = 0;
	uint64_t off = 0;

	while (off + 8 <= sec->size) {
		uint32_t len32, id;
		const uint8_t *body = s + off + 4, *rend, *p;

		memcpy(&len32, s + off, 4);
		if (len32 == 0xffffffff || len32 > sec->size - off - 4)
			break;
		if (len32 < 4) {
			off += 4 + (uint64_t)len32;
			continue;
		}
		rend = body + len32;
		memcpy(&id, body, 4);
		p = body + 4;
		if (id == 0xffffffff) {
			struct cie c = { .off = off, .new_off = out->len };

			c.ok = rewrite_cie(p, rend, out);
			if (!c.ok)
				out->len = c.new_off;
			xgrow((void **)&cies, &ccap, ncies + 1, sizeof(*cies));
			cies[ncies++] = c;
		} else {
			struct cie *c = cie_find(cies, ncies, id);
			uint64_t pc, range;
			size_t start;

			if (c && c->ok && !rd(&p, rend, &pc, 8) && !rd(&p, rend, &range, 8) &&
			    range && range <= INT32_MAX) {
				int64_t rel;

				start = out->len;
				put_u32(out, 0);
				put_u32(out, (uint32_t)(out->len - c->new_off));
				rel = (int64_t)(pc - (base + out->len));
				if (fits32(rel)) {
					put_u32(out, (uint32_t)(int32_t)rel);
					put_u32(out, (uint32_t)range);
					put_u8(out, 0);	/* augmentation data length */
					put(out, p, rend - p);
					close_record(out, start);
					xgrow((void **)&e, &cap, n + 1, sizeof(*e));
					e[n++] = (struct entry){ pc, base + start };
				} else {
					out->len = start;
				}
			}
		}
		off += 4 + (uint64_t)len32;
	}
	put_u32(out, 0);	/* terminator */
	free(cies);
	*ret = e;
	return n;
}

/* Appends the sorted int32 pairs; fills t's table fields. */
static bool finish(struct ehtab *t, struct buf *out, struct entry *e, size_t n)
{
	size_t kept = 0;

	if (!n)
		return false;
	qsort(e, n, sizeof(*e), cmp_entry);
	while (out->len % 8)
		put_u8(out, 0);
	t->table = t->base + out->len;
	for (size_t i = 0; i < n; i++) {
		int64_t a = (int64_t)(e[i].pc - t->segbase), b = (int64_t)(e[i].fde - t->segbase);

		if (!fits32(a) || !fits32(b))
			continue;
		put_u32(out, (uint32_t)(int32_t)a);
		put_u32(out, (uint32_t)(int32_t)b);
		kept++;
	}
	t->count = kept;
	return kept > 0;
}

struct ehtab *ehtab__build(const uint8_t *img, size_t len, enum ehtab_src src,
			   const uint8_t *sec_img, size_t sec_len)
{
	struct ehtab *t = xcalloc(1, sizeof(*t));
	struct buf out = { 0 };
	struct entry *e = NULL;
	struct sect sec;
	size_t n = 0;
	bool ok = false;

	/* Served from one page past the last segment: near enough for the
	 * int32 offsets of the table, outside anything the file maps. */
	t->base = ((image_end_vaddr(img, len) + 0xfff) & ~0xfffULL) + 0x1000;
	if (src == EHTAB_EH_FRAME && find_section(sec_img, sec_len, ".eh_frame", &sec) &&
	    sec.addr) {
		/* the FDEs stay where the process maps them; only the table
		 * is ours */
		n = scan_eh_frame(sec_img, &sec, &e);
		t->segbase = sec.addr;
		ok = finish(t, &out, e, n);
	} else if (src == EHTAB_DEBUG_FRAME &&
		   find_section(sec_img, sec_len, ".debug_frame", &sec)) {
		n = rewrite_debug_frame(sec_img, &sec, t->base, &out, &e);
		t->segbase = t->base;
		ok = finish(t, &out, e, n);
	}
	free(e);
	if (!ok) {
		free(out.p);
		free(t);
		return NULL;
	}
	t->mem = out.p;
	t->len = out.len;
	return t;
}

struct ehtab *ehtab__free(struct ehtab *t)
{
	if (t) {
		free(t->mem);
		free(t);
	}
	return NULL;
}

void ehtab__info(const struct ehtab *t, struct ehtab_info *ret)
{
	*ret = (struct ehtab_info){ t->segbase, t->table, t->count, t->base, t->base + t->len };
}

int ehtab__contains(const struct ehtab *t, uint64_t vaddr)
{
	return vaddr >= t->base && vaddr - t->base < t->len;
}

int ehtab__read(const struct ehtab *t, uint64_t vaddr, uint64_t *ret)
{
	uint64_t at = vaddr - t->base, left;

	if (!ehtab__contains(t, vaddr))
		return -EFAULT;
	left = t->len - at;
	*ret = 0;
	memcpy(ret, t->mem + at, left < 8 ? left : 8);
	return 0;
}

size_t ehtab__bytes(const struct ehtab *t)
{
	return t ? sizeof(*t) + t->len : 0;
}

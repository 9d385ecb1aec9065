/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The unwind tables of one ELF file in the form libunwind's remote search
 * takes: the .eh_frame_hdr binary-search table when the linker wrote one,
 * otherwise a table built here over the file's .eh_frame, or over its
 * .debug_frame rewritten as .eh_frame records (the same CFA programs; only
 * the CIE ids, CIE pointers and address encodings differ). A built table
 * lives in memory we own and is served at a vaddr range just past the
 * file's last segment, so the pc-relative encodings work at any load bias.
 */
#ifndef GP_EHFRAME_H
#define GP_EHFRAME_H

#include <stddef.h>
#include <stdint.h>

/* DWARF pointer encodings (DW_EH_PE_*). */
#define EH_PE_OMIT 0xff
#define EH_PE_ABSPTR 0x00
#define EH_PE_ULEB128 0x01
#define EH_PE_UDATA2 0x02
#define EH_PE_UDATA4 0x03
#define EH_PE_UDATA8 0x04
#define EH_PE_SLEB128 0x09
#define EH_PE_SDATA2 0x0a
#define EH_PE_SDATA4 0x0b
#define EH_PE_SDATA8 0x0c
#define EH_PE_PCREL 0x10
#define EH_PE_DATAREL 0x30
#define EH_PE_INDIRECT 0x80

struct eh_frame_hdr {
	uint64_t table_off;	/* offset of the search table in the header */
	uint64_t fde_count;
};

/* Parses an .eh_frame_hdr of len bytes at vaddr. Returns 0 when it has a
 * binary-search table libunwind can use (datarel|sdata4 entries), else
 * -ENOENT or -EINVAL. */
int ehframe_parse_hdr(const uint8_t *p, size_t len, uint64_t vaddr, struct eh_frame_hdr *ret);

/* Reads an encoded pointer at *pp (advancing it; field_vaddr is the vaddr
 * of *pp for pc-relative forms, data_vaddr the base of datarel forms).
 * Returns 0 or -EINVAL (unknown form, or past end). */
int ehframe_read_ptr(const uint8_t **pp, const uint8_t *end, uint8_t enc, uint64_t field_vaddr,
		     uint64_t data_vaddr, uint64_t *ret);

struct ehtab;

struct ehtab_info {
	uint64_t segbase;	/* vaddr the table's offsets are relative to */
	uint64_t table;		/* vaddr of the table */
	uint64_t fde_count;
	uint64_t lo, hi;	/* vaddr range of the memory we serve */
};

enum ehtab_src {
	EHTAB_EH_FRAME,		/* .eh_frame without a usable .eh_frame_hdr */
	EHTAB_DEBUG_FRAME,	/* .debug_frame, rewritten as .eh_frame records */
};

/*
 * Builds a search table over the src section of sec_img, for the ELF image
 * img (a whole file; sec_img is img or its separate debug file, whose
 * vaddrs are the same). The table is served from just past img's last
 * segment. NULL when the section is absent or has no usable FDEs. Caller
 * frees with ehtab__free().
 */
struct ehtab *ehtab__build(const uint8_t *img, size_t len, enum ehtab_src src,
			   const uint8_t *sec_img, size_t sec_len);

/* Whether the ELF image has section name with contents. */
int ehframe_has_section(const uint8_t *img, size_t len, const char *name);
/* The GNU build-id of the ELF image into buf (>= 64 bytes); its length, or
 * 0 when none. */
size_t ehframe_build_id(const uint8_t *img, size_t len, uint8_t *buf);
/* The .gnu_debuglink name (borrowed from img, NUL-terminated) and CRC;
 * NULL when none. */
const char *ehframe_debuglink(const uint8_t *img, size_t len, uint32_t *ret_crc);
struct ehtab *ehtab__free(struct ehtab *t);
void ehtab__info(const struct ehtab *t, struct ehtab_info *ret);
/* Whether vaddr is in the memory served for t, and its 8 bytes there
 * (zero past the end). */
int ehtab__contains(const struct ehtab *t, uint64_t vaddr);
int ehtab__read(const struct ehtab *t, uint64_t vaddr, uint64_t *ret);
size_t ehtab__bytes(const struct ehtab *t);

#endif

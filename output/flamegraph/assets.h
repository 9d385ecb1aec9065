/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The flamegraph page around its data: page.html with flamegraph.css and
 * flamegraph.js inlined, cut at the data placeholder. Generated at build
 * time by embed.cmake into flamegraph_assets.c; read-only.
 */
#ifndef GP_FLAMEGRAPH_ASSETS_H
#define GP_FLAMEGRAPH_ASSETS_H

#include <stddef.h>

extern const unsigned char flamegraph_page_head[];
extern const size_t flamegraph_page_head_len;
extern const unsigned char flamegraph_page_tail[];
extern const size_t flamegraph_page_tail_len;

#endif

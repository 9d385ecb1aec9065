// SPDX-License-Identifier: Apache-2.0
/*
 * gprofiler-c flamegraph page.
 *
 * The data (written by output/flamegraph.c) is JSON in #gp-data:
 *   { v: 1, meta: {hostname, service, start, end, total, maxDepth},
 *     strings: [names, sorted; [0] is the root "all"],
 *     nodes: [name, samples, children, name, samples, children, ...] }
 * the call tree in pre-order, root first, siblings sorted by name, samples
 * inclusive. It is unpacked into typed arrays (x offset, depth, parent,
 * end of subtree) and drawn on one canvas: a frame narrower than MIN_PX is
 * skipped with its whole subtree (its samples still count in its parent's
 * width), and only the rows in view are drawn, so tens of thousands of
 * stacks and stacks thousands of frames deep stay smooth. The canvas is
 * sticky inside a scrolling box as tall as the whole graph.
 *
 * Frame names come from any process on the host: they are only ever drawn
 * with fillText or set as textContent, never parsed as HTML.
 *
 * Debugging hook (read-only, for tests and the bench): window.__flamegraph
 *   .ready          true once the first frame has been painted
 *   .firstRenderMs  performance.now() at that moment (ms since navigation)
 *   .timings        {parseMs, buildMs, drawMs} of the first render
 *   .total .nodes .maxDepth
 *   .state()        {zoom, icicle, search, matchedSamples, matchedText, scrollTop}
 *   .frames()       the frames drawn now: {index, name, depth, samples, kind,
 *                   x, y, w, h (CSS px in the canvas), left, top (viewport
 *                   px of the rectangle's corner), rgb, matched, ancestor}
 *   .find(name)     frames() with that exact name
 *   .node(name)     tree nodes with that name, drawn or not: {index, depth,
 *                   samples, self, parent}
 *   .kinds()        the legend: {kind, label, rgb, selfSamples}
 * Each call returns fresh copies; nothing in the hook changes the page.
 */
(function () {
	'use strict';

	const ROW = 18;		/* px per frame row, as gProfiler's page */
	const MIN_PX = 0.5;	/* narrower frames are skipped with their subtree */
	const PAD = 3;		/* text padding in a frame */
	const FONT = '12px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace';
	const MATCH_RGB = [230, 0, 230];
	const TOOLTIP_NAME_MAX = 2000;

	const $ = (id) => document.getElementById(id);
	const t0 = performance.now();

	/* ---- data ---- */

	let raw;
	try {
		raw = JSON.parse($('gp-data').textContent);
	} catch (e) {
		raw = null;
	}
	if (!raw || raw.v !== 1 || !Array.isArray(raw.strings) || !Array.isArray(raw.nodes))
		raw = { v: 1, meta: {}, strings: ['all'], nodes: [0, 0, 0] };
	const meta = raw.meta || {};
	const strings = raw.strings;
	const flat = raw.nodes;
	const tParsed = performance.now();

	const n = Math.max(1, Math.floor(flat.length / 3));
	const nameOf = new Uint32Array(n);
	const val = new Float64Array(n);	/* inclusive samples */
	const x0 = new Float64Array(n);		/* offset in samples from the left */
	const depth = new Uint32Array(n);
	const parent = new Int32Array(n);
	const end = new Uint32Array(n);		/* one past the last descendant */
	let maxDepth = 0;
	{
		const stk = [], rem = [], next = [];

		parent[0] = -1;
		for (let i = 0; i < n; i++) {
			const nm = flat[3 * i] >>> 0, nc = flat[3 * i + 2] | 0;

			nameOf[i] = nm < strings.length ? nm : 0;
			val[i] = +flat[3 * i + 1] || 0;
			if (i > 0) {
				const sp = stk.length - 1;

				if (sp < 0) {	/* malformed: a second root; stop here */
					end.fill(i, i);
					break;
				}
				const p = stk[sp];

				parent[i] = p;
				depth[i] = depth[p] + 1;
				x0[i] = next[sp];
				next[sp] += val[i];
				rem[sp]--;
				if (depth[i] > maxDepth)
					maxDepth = depth[i];
			}
			if (nc > 0) {
				stk.push(i);
				rem.push(nc);
				next.push(x0[i]);
			} else {
				end[i] = i + 1;
				while (stk.length && rem[rem.length - 1] <= 0) {
					end[stk.pop()] = i + 1;
					rem.pop();
					next.pop();
				}
			}
		}
		while (stk.length) {
			end[stk.pop()] = n;
		}
	}
	const total = val[0];

	/* self samples, for the tooltip and the legend */
	const self = Float64Array.from(val);
	for (let i = 1; i < n; i++)
		self[parent[i]] -= val[i];

	/* ---- kinds and colours ---- */

	const KINDS = [
		/* id, legend label, hue range, saturation, lightness range */
		['native', 'Native', 8, 32, 0.80, 0.58, 0.66],
		['kernel', 'Kernel', 198, 214, 0.60, 0.62, 0.70],
		['python', 'Python', 46, 58, 0.85, 0.55, 0.63],
		['java', 'Java', 95, 125, 0.55, 0.52, 0.60],
		['ruby', 'Ruby', 338, 352, 0.65, 0.62, 0.70],
		['php', 'PHP', 232, 252, 0.45, 0.68, 0.74],
		['dotnet', '.NET', 168, 182, 0.55, 0.50, 0.58],
		['jit', 'JIT (perf map)', 272, 290, 0.45, 0.70, 0.76],
		['process', 'Process / appid', 0, 0, 0, 0.78, 0.84],
	];
	const K = {};
	KINDS.forEach((k, i) => { K[k[0]] = i; });
	const SUFFIX = { k: K.kernel, p: K.python, pn: K.native, j: K.java, i: K.java,
		rb: K.ruby, php: K.php, net: K.dotnet, jit: K.jit };
	const JIT_RE = /^(LazyCompile|Function|Builtin|BytecodeHandler|Bytecode|Stub|Script|RegExp|JS|Eval|Handler|InterpretedFunction|Code|Baseline|Maglev|Turbofan|Sparkplug|(Keyed)?(Load|Store|Call|LoadGlobal|StoreGlobal)IC):|perf-\d+\.map|\[jit\]$/;

	function kindOfString(s) {
		const m = /_\[([a-z]+)\]$/.exec(s);

		if (m && SUFFIX[m[1]] !== undefined)
			return SUFFIX[m[1]];
		return JIT_RE.test(s) ? K.jit : K.native;
	}
	const strKind = new Uint8Array(strings.length);
	for (let i = 0; i < strings.length; i++)
		strKind[i] = kindOfString(String(strings[i]));

	/* per name: 1 = an appid frame, 2 = a profiling error or skip */
	const strMeta = new Uint8Array(strings.length);
	for (let i = 0; i < strings.length; i++) {
		const s = strings[i];

		if (s.startsWith('appid: '))
			strMeta[i] = 1;
		else if (s.startsWith('[Profiling error: ') || s.startsWith('[Profiling skipped: '))
			strMeta[i] = 2;
	}

	/* the root, the comm frames and what gProfiler inserts are "process" */
	const nodeKind = new Uint8Array(n);
	for (let i = 0; i < n; i++) {
		const m = strMeta[nameOf[i]];

		nodeKind[i] = depth[i] <= 1 || m === 2 || (m === 1 && depth[i] === 2) ?
			K.process : strKind[nameOf[i]];
	}
	const kindOf = (i) => nodeKind[i];

	function hslToRgb(h, s, l) {
		const a = s * Math.min(l, 1 - l);
		const f = (k) => {
			const t = (k + h / 30) % 12;
			return Math.round(255 * (l - a * Math.max(-1, Math.min(t - 3, 9 - t, 1))));
		};
		return [f(0), f(8), f(4)];
	}

	function hash(s) {
		let h = 2166136261;
		const m = Math.min(s.length, 96);

		for (let i = 0; i < m; i++) {
			h ^= s.charCodeAt(i);
			h = Math.imul(h, 16777619);
		}
		return h >>> 0;
	}

	/* one colour per (kind, name), the shade derived from the name */
	const colourCache = new Map();
	function rgbOf(i) {
		const k = kindOf(i), key = k * 4294967296 + nameOf[i];
		let c = colourCache.get(key);

		if (!c) {
			const [, , h0, h1, s, l0, l1] = KINDS[k];
			const hv = hash(strings[nameOf[i]]);
			const a = (hv & 0xffff) / 0xffff, b = (hv >>> 16) / 0xffff;

			c = hslToRgb(h0 + a * (h1 - h0), s, l0 + b * (l1 - l0));
			c = { rgb: c, css: 'rgb(' + c.join(',') + ')' };
			colourCache.set(key, c);
		}
		return c;
	}
	const MATCH = { rgb: MATCH_RGB, css: 'rgb(' + MATCH_RGB.join(',') + ')' };

	/* ---- formatting ---- */

	const fmt = (v) => String(Math.round(v)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
	const pct = (v, of) => (of > 0 ? (100 * v / of).toFixed(2) : '0.00') + '%';
	const cut = (s, max) => (s.length > max ? s.slice(0, max - 1) + '\u2026' : s);

	/* ---- page furniture (all text via textContent) ---- */

	const chart = $('chart'), content = $('content'), canvas = $('canvas');
	const tip = $('tooltip'), details = $('details'), search = $('search');
	const matched = $('matched'), icicleBox = $('icicle');
	const ctx = canvas.getContext('2d', { alpha: false });

	{
		const host = meta.hostname, svc = meta.service;
		const parts = [];

		if (svc)
			$('title').textContent = 'gProfiler flamegraph \u2014 ' + svc;
		if (host)
			parts.push('host ' + host);
		if (meta.start && meta.end)
			parts.push(meta.start + ' \u2013 ' + meta.end + ' UTC');
		else if (meta.end)
			parts.push('until ' + meta.end + ' UTC');
		parts.push(fmt(total) + ' samples');
		$('subtitle').textContent = parts.join(' \u00b7 ');
		document.title = [svc || host || 'gProfiler', 'flamegraph', meta.end || '']
			.filter(Boolean).join(' ');
	}

	const kindSelf = new Float64Array(KINDS.length);
	const kindSeen = new Uint8Array(KINDS.length);
	for (let i = total > 0 ? 0 : n; i < n; i++) {
		kindSelf[nodeKind[i]] += self[i];
		kindSeen[nodeKind[i]] = 1;
	}
	{
		const legend = $('legend');

		KINDS.forEach((k, idx) => {
			const item = document.createElement('span');
			const sw = document.createElement('span');
			const label = document.createElement('span');
			const mid = hslToRgb((k[2] + k[3]) / 2, k[4], (k[5] + k[6]) / 2);

			item.className = 'item' + (kindSeen[idx] ? '' : ' absent');
			item.title = kindSeen[idx] ? 'share of the samples whose leaf frame is of this kind' :
				'no frame of this kind in this profile';
			sw.className = 'sw';
			sw.style.background = 'rgb(' + mid.join(',') + ')';
			label.textContent = k[1] + (kindSelf[idx] > 0 ? ' ' + pct(kindSelf[idx], total) : '');
			item.append(sw, label);
			legend.append(item);
		});
		const item = document.createElement('span');
		const sw = document.createElement('span');
		const label = document.createElement('span');

		item.className = 'item';
		sw.className = 'sw';
		sw.style.background = MATCH.css;
		label.textContent = 'Search match';
		item.append(sw, label);
		legend.append(item);
	}

	/* ---- state ---- */

	let zoom = 0;
	let icicle = false;
	let query = '';
	let matchStr = null;		/* Uint8Array over strings, or null */
	let matchedSamples = 0;
	let hover = -1;
	let W = 0, H = 0, contentH = 0, dpr = 1;
	let dirty = true, drawnKey = '', rafPending = false;
	let rows = new Map();		/* depth -> [index, x, w, ancestor, ...] of drawn frames */
	let charW = 7;
	let firstRenderMs = null, firstDrawn = false, drawMs = null;

	const isMatch = (i) => matchStr !== null && i > 0 && matchStr[nameOf[i]] === 1;

	function rowY(d) {	/* top of row d in content px */
		return icicle ? d * ROW : contentH - (d + 1) * ROW;
	}

	function layout() {
		const w = chart.clientWidth, h = chart.clientHeight;

		dpr = window.devicePixelRatio || 1;
		contentH = Math.max((maxDepth + 1) * ROW, h);
		content.style.height = contentH + 'px';
		canvas.style.width = w + 'px';
		canvas.style.height = h + 'px';
		canvas.width = Math.max(1, Math.round(w * dpr));
		canvas.height = Math.max(1, Math.round(h * dpr));
		W = w;
		H = h;
		dirty = true;
	}

	function schedule() {
		dirty = true;
		if (rafPending)
			return;
		rafPending = true;
		requestAnimationFrame(() => {
			rafPending = false;
			ensureDrawn();
		});
	}

	function ensureDrawn() {
		const key = chart.scrollTop + ':' + W + ':' + H;

		if (dirty || key !== drawnKey)
			draw();
	}

	function paintFrame(i, x, w, y, ancestor) {
		const c = isMatch(i) ? MATCH : rgbOf(i);

		ctx.globalAlpha = ancestor ? 0.6 : 1;
		ctx.fillStyle = c.css;
		ctx.fillRect(x, y, w > 2 ? w - 1 : w, ROW - 1);
		ctx.globalAlpha = 1;
		if (i === hover) {
			ctx.strokeStyle = '#111';
			ctx.lineWidth = 1.5;
			ctx.strokeRect(x + 0.75, y + 0.75, Math.max(0, w - 2.5), ROW - 2.5);
		}
		const fit = Math.floor((w - 2 * PAD) / charW);

		if (fit >= 3) {
			const s = strings[nameOf[i]];

			ctx.fillStyle = '#000';
			ctx.fillText(s.length > fit ? s.slice(0, fit - 1) + '\u2026' : s, x + PAD,
				     y + ROW / 2);
		}
	}

	function drawFrame(i, x, w, top, ancestor) {
		const d = depth[i];
		let r = rows.get(d);

		if (!r) {
			r = [];
			rows.set(d, r);
		}
		r.push(i, x, w, ancestor ? 1 : 0);
		paintFrame(i, x, w, rowY(d) - top, ancestor);
	}

	/* Repaints one drawn frame in place (a hover change), without a full draw. */
	function repaint(i) {
		const r = i >= 0 ? rows.get(depth[i]) : null;

		for (let k = 0; r && k < r.length; k += 4) {
			if (r[k] !== i)
				continue;
			const x = r[k + 1], w = r[k + 2], y = rowY(depth[i]) - chart.scrollTop;

			ctx.fillStyle = '#fff';
			ctx.fillRect(x, y, w > 2 ? w - 1 : w, ROW - 1);
			paintFrame(i, x, w, y, r[k + 3] === 1);
			return;
		}
	}

	function draw() {
		const t = performance.now();
		const top = chart.scrollTop;

		dirty = false;
		drawnKey = top + ':' + W + ':' + H;
		rows = new Map();
		ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
		ctx.fillStyle = '#fff';
		ctx.fillRect(0, 0, W, H);
		ctx.font = FONT;
		ctx.textBaseline = 'middle';
		charW = ctx.measureText('MMMMMMMMMM').width / 10 || 7;
		$('empty').hidden = total > 0;
		if (!(total > 0) || W <= 0)
			return;

		/* rows in view: content y in [top, top + H) */
		let dmin, dmax;
		if (icicle) {
			dmin = Math.floor(top / ROW);
			dmax = Math.floor((top + H) / ROW);
		} else {
			dmin = Math.floor((contentH - top - H) / ROW);
			dmax = Math.floor((contentH - top) / ROW);
		}
		dmin = Math.max(0, dmin);

		for (let a = parent[zoom]; a >= 0; a = parent[a])
			if (depth[a] >= dmin && depth[a] <= dmax)
				drawFrame(a, 0, W, top, true);

		const scale = W / val[zoom], base = x0[zoom], stop = end[zoom];
		for (let i = zoom; i < stop;) {
			const w = val[i] * scale, d = depth[i];

			if (w < MIN_PX || d > dmax) {
				i = end[i];
				continue;
			}
			if (d >= dmin)
				drawFrame(i, (x0[i] - base) * scale, w, top, false);
			i++;
		}
		drawMs = performance.now() - t;
		if (!firstDrawn) {
			firstDrawn = true;
			timings.drawMs = drawMs;
			requestAnimationFrame(() => { firstRenderMs = performance.now(); });
		}
	}

	/* frame under a point in canvas CSS px, or -1 */
	function hit(px, py) {
		const cy = py + chart.scrollTop;
		const d = icicle ? Math.floor(cy / ROW) : Math.floor((contentH - cy) / ROW);
		const r = rows.get(d);

		if (!r || cy < 0 || cy >= contentH)
			return -1;
		for (let k = 0; k < r.length; k += 4)
			if (px >= r[k + 1] && px < r[k + 1] + r[k + 2])
				return r[k];
		return -1;
	}

	/* ---- interaction ---- */

	function describe(i) {
		const p = parent[i];
		const lines = [
			fmt(val[i]) + ' samples \u00b7 ' + pct(val[i], total) + ' of total' +
				(p >= 0 ? ' \u00b7 ' + pct(val[i], val[p]) + ' of parent' : ''),
			KINDS[kindOf(i)][1] + (self[i] > 0 ? ' \u00b7 self ' + fmt(self[i]) + ' (' +
				pct(self[i], total) + ')' : '') + ' \u00b7 depth ' + depth[i],
		];
		return lines;
	}

	function showTip(i, ev) {
		if (i < 0) {
			tip.hidden = true;
			return;
		}
		const name = document.createElement('div');
		const stats = describe(i).map((s) => {
			const el = document.createElement('div');
			el.className = 'kind';
			el.textContent = s;
			return el;
		});

		name.className = 'name';
		name.textContent = cut(strings[nameOf[i]], TOOLTIP_NAME_MAX);
		tip.replaceChildren(name, ...stats);
		tip.hidden = false;
		const tw = tip.offsetWidth, th = tip.offsetHeight;
		let lx = ev.clientX + 14, ly = ev.clientY + 16;

		if (lx + tw > window.innerWidth - 4)
			lx = Math.max(4, ev.clientX - tw - 14);
		if (ly + th > window.innerHeight - 4)
			ly = Math.max(4, ev.clientY - th - 12);
		tip.style.left = lx + 'px';
		tip.style.top = ly + 'px';
	}

	function setHover(i, ev) {
		if (i !== hover) {
			const old = hover;

			hover = i;
			if (dirty || rafPending) {
				schedule();
			} else {
				repaint(old);
				repaint(i);
			}
			details.textContent = i >= 0 ?
				cut(strings[nameOf[i]], 400) + '  \u2014  ' + describe(i)[0] :
				'Hover over a frame for details; click to zoom.';
		}
		if (ev)
			showTip(i, ev);
	}

	function zoomTo(i) {
		zoom = i >= 0 && i < n ? i : 0;
		$('reset').disabled = zoom === 0;
		updateMatched();
		schedule();
	}

	function updateMatched() {
		if (matchStr === null) {
			matchedSamples = 0;
			matched.textContent = '';
			return;
		}
		let sum = 0, inZoom = 0;
		const zs = zoom, ze = end[zoom];

		for (let i = 1; i < n;) {
			if (matchStr[nameOf[i]] === 1) {
				sum += val[i];
				if (i >= zs && i < ze)
					inZoom += val[i];
				else if (i < zs && end[i] > zs)	/* a matching ancestor covers the zoom */
					inZoom += val[zoom];
				i = end[i];
			} else {
				i++;
			}
		}
		matchedSamples = sum;
		let text = 'Matched: ' + pct(sum, total) + ' (' + fmt(sum) + ' of ' + fmt(total) + ' samples)';

		if (zoom !== 0)
			text += ' \u00b7 ' + pct(inZoom, val[zoom]) + ' of the zoomed frame';
		matched.textContent = text;
	}

	let lower = null;
	function setSearch(q) {
		query = q;
		search.classList.remove('bad');
		if (!q) {
			matchStr = null;
		} else {
			let re = null;

			if (q.length > 2 && q[0] === '/' && q[q.length - 1] === '/') {
				try {
					re = new RegExp(q.slice(1, -1));
				} catch (e) {
					search.classList.add('bad');
				}
			}
			matchStr = new Uint8Array(strings.length);
			if (re) {
				for (let k = 1; k < strings.length; k++)
					matchStr[k] = re.test(strings[k]) ? 1 : 0;
			} else {
				const needle = q.toLowerCase();

				if (!lower)
					lower = strings.map((s) => s.toLowerCase());
				for (let k = 1; k < strings.length; k++)
					matchStr[k] = lower[k].includes(needle) ? 1 : 0;
			}
		}
		updateMatched();
		schedule();
	}

	function setIcicle(on) {
		icicle = !!on;
		icicleBox.checked = icicle;
		chart.scrollTop = icicle ? 0 : chart.scrollHeight;
		schedule();
	}

	canvas.addEventListener('mousemove', (ev) => {
		const r = canvas.getBoundingClientRect();

		ensureDrawn();
		setHover(hit(ev.clientX - r.left, ev.clientY - r.top), ev);
	});
	canvas.addEventListener('mouseleave', () => {
		tip.hidden = true;
		setHover(-1, null);
	});
	canvas.addEventListener('click', (ev) => {
		const r = canvas.getBoundingClientRect();

		ensureDrawn();
		const i = hit(ev.clientX - r.left, ev.clientY - r.top);

		if (i >= 0)
			zoomTo(i);
	});
	$('reset').addEventListener('click', () => zoomTo(0));
	icicleBox.addEventListener('change', () => setIcicle(icicleBox.checked));
	search.addEventListener('input', () => setSearch(search.value));
	chart.addEventListener('scroll', schedule, { passive: true });
	document.addEventListener('keydown', (ev) => {
		const inSearch = document.activeElement === search;

		if ((ev.key === 'f' || ev.key === 'F') && (ev.ctrlKey || ev.metaKey) && !ev.altKey) {
			ev.preventDefault();
			search.focus();
			search.select();
		} else if (ev.key === '/' && !inSearch && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
			ev.preventDefault();
			search.focus();
			search.select();
		} else if (ev.key === 'Escape') {
			ev.preventDefault();
			search.value = '';
			setSearch('');
			zoomTo(0);
			search.blur();
			tip.hidden = true;
		}
	});
	new ResizeObserver(() => {
		layout();
		schedule();
	}).observe(chart);

	/* ---- debugging hook (read-only) ---- */

	const timings = { parseMs: tParsed - t0, buildMs: performance.now() - tParsed, drawMs: null };

	function frames() {
		ensureDrawn();
		const cr = canvas.getBoundingClientRect(), top = chart.scrollTop, out = [];

		for (const [d, r] of rows) {
			for (let k = 0; k < r.length; k += 4) {
				const i = r[k], x = r[k + 1], w = r[k + 2], y = rowY(d) - top;

				out.push({
					index: i, name: strings[nameOf[i]], depth: d, samples: val[i],
					kind: KINDS[kindOf(i)][0], x, y, w, h: ROW,
					left: cr.left + x, top: cr.top + y,
					rgb: (isMatch(i) ? MATCH : rgbOf(i)).rgb.slice(),
					matched: isMatch(i), ancestor: r[k + 3] === 1,
				});
			}
		}
		return out.sort((a, b) => a.index - b.index);
	}

	const hook = {
		get ready() { return firstRenderMs !== null; },
		get firstRenderMs() { return firstRenderMs; },
		get timings() { return Object.assign({}, timings); },
		total, nodes: n, maxDepth,
		state() {
			return {
				zoom: strings[nameOf[zoom]], zoomIndex: zoom, icicle, search: query,
				matchedSamples, matchedText: matched.textContent, scrollTop: chart.scrollTop,
				width: W, height: H,
			};
		},
		frames,
		find(name) { return frames().filter((f) => f.name === name); },
		node(name) {
			const out = [];

			for (let i = 0; i < n; i++)
				if (strings[nameOf[i]] === name)
					out.push({ index: i, depth: depth[i], samples: val[i], self: self[i],
						   parent: parent[i] >= 0 ? strings[nameOf[parent[i]]] : null });
			return out;
		},
		kinds() {
			return KINDS.map((k, i) => ({ kind: k[0], label: k[1], selfSamples: kindSelf[i],
				rgb: hslToRgb((k[2] + k[3]) / 2, k[4], (k[5] + k[6]) / 2) }));
		},
	};
	Object.defineProperty(window, '__flamegraph', {
		value: Object.freeze(hook), writable: false, configurable: false, enumerable: false,
	});

	/* ---- first render ---- */

	$('reset').disabled = true;
	layout();
	chart.scrollTop = chart.scrollHeight;	/* flame: the root row is at the bottom */
	draw();
})();

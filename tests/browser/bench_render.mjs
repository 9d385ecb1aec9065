// SPDX-License-Identifier: Apache-2.0
/*
 * Time to first render of a flamegraph page in headless Chromium, for
 * scripts/bench.d/flamegraph (not a test):  node bench_render.mjs PAGE.html [LOADS]
 * Loads the page LOADS times (default 3), each in a fresh tab, and prints
 * JSON: the median of the page's own firstRenderMs (performance.now() in
 * the frame after the first draw, i.e. since navigation started) and of its
 * parse/build/draw split.
 */
import { launch } from './browser.mjs';

const [, , html, loadsArg] = process.argv;
const loads = Number(loadsArg || 3);
const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];

const b = await launch();
try {
	const res = [];
	for (let i = 0; i < loads; i++) {
		const page = await b.context.newPage();
		await page.goto('file://' + html);
		await page.waitForFunction(() => window.__flamegraph && window.__flamegraph.ready, null,
					   { timeout: 0 });
		res.push(await page.evaluate(() => ({ first: __flamegraph.firstRenderMs,
						       t: __flamegraph.timings })));
		await page.close();
	}
	console.log(JSON.stringify({
		loads,
		first_render_ms: median(res.map((r) => r.first)),
		parse_ms: median(res.map((r) => r.t.parseMs)),
		build_ms: median(res.map((r) => r.t.buildMs)),
		draw_ms: median(res.map((r) => r.t.drawMs)),
	}));
} finally {
	await b.close();
}

// SPDX-License-Identifier: Apache-2.0
/*
 * The flamegraph page in headless Chromium (Debian's chromium driven by
 * playwright-core), on pages made by `gprofiler flamegraph` from .col text
 * written here in the exact format: sibling widths follow the samples
 * (3:1), click zooms a frame to the full width, reset, search highlights
 * and counts the right frames, keyboard shortcuts, hostile and ill-formed
 * names show as text and run nothing, a 200-frame stack is reachable by
 * scrolling, tiny frames are skipped yet counted in their parent, and the
 * page loads nothing and logs no error. Geometry comes from the page's
 * read-only hook window.__flamegraph and is checked against the canvas
 * pixels. Screenshots go to tests/browser/artifacts/.
 * Exit 77 (skipped) when node_modules or chromium is missing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { launch, skipReason } from './browser.mjs';

const reason = skipReason();
if (reason) {
	console.error('skipped: ' + reason);
	process.exit(77);
}

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.GPROFILER_BIN || path.join(here, '..', '..', 'build', 'gprofiler');
const ARTIFACTS = path.join(here, 'artifacts');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-fg-test-'));

const HOSTILE = `<img src=x onerror=alert(1)></script><script>alert(2)</script>&"'`;
const HOSTILE2 = '<b onmouseover=window.__pwned=1>bold</b><!-- x';
const DEEP = 200;

const header = (extra = {}) => '# ' + JSON.stringify({
	containers: ['web'], container_names_enabled: true,
	metadata: { hostname: 'test-host', current_time: '2024-10-20T15:03:47',
		    run_arguments: { service_name: 'browser-test', duration: 60 }, ...extra },
	metrics: { cpu_avg: 1.5, mem_avg: 2.5 },
	application_metadata: [null, { exe: '/usr/bin/python3' }],
	application_metadata_enabled: true, profiling_mode: 'cpu',
}).replace(/":/g, '": ').replace(/,"/g, ', "') + '\n';

/* The main test profile: frames root first, as gProfiler writes them. */
function mainCol() {
	const deep = Array.from({ length: DEEP }, (_, i) => 'd' + i).join(';');
	const lines = [
		'0;;myapp;_start;main;work_a;compute_[k] 300',
		'0;;myapp;_start;main;work_b 100',
		`0;web;evil;${HOSTILE};${HOSTILE2} 60`,
		'1;;python3;appid: myservice;<module> (/app/main.py:1)_[p];run (/app/main.py:5)_[p] 50',
		'0;;java;java.lang.Thread.run_[j];com.example.Worker.process_[j] 30',
		'0;;node;LazyCompile:*handle /app/server.js:10 25',
		`0;;deep;${deep} 40`,
	];
	/* invalid UTF-8 in a frame: raw bytes 0xff 0xfe */
	return Buffer.concat([
		Buffer.from(header() + lines.join('\n') + '\n0;;evil;bad'),
		Buffer.from([0xff, 0xfe]),
		Buffer.from('name 20\n'),
	]);
}
const TOTAL = 300 + 100 + 60 + 50 + 30 + 25 + 40 + 20;

function render(colBytes, name, args = []) {
	const col = path.join(tmp, name + '.col');
	const html = path.join(tmp, name + '.html');

	fs.writeFileSync(col, colBytes);
	const r = spawnSync(BIN, ['flamegraph', '--file-path', col, '--output', html, ...args],
			    { encoding: 'utf8' });
	assert.equal(r.status, 0, `gprofiler flamegraph failed: ${r.stderr}`);
	return html;
}

let browser;
const problems = [];		/* console errors, page errors, dialogs */
const requests = [];

async function open(html) {
	const page = await browser.context.newPage();

	page.on('console', (m) => {
		/* the one warning our own getImageData readbacks cause is not the page's */
		if (m.type() === 'error' || (m.type() === 'warning' &&
					     !m.text().startsWith('Canvas2D: Multiple readback')))
			problems.push(`console ${m.type()}: ${m.text()}`);
	});
	page.on('pageerror', (e) => problems.push('page error: ' + e.message));
	page.on('dialog', async (d) => {
		problems.push('dialog: ' + d.message());
		await d.dismiss();
	});
	page.on('request', (r) => requests.push(r.url()));
	await page.goto('file://' + html);
	await page.waitForFunction(() => window.__flamegraph && window.__flamegraph.ready);
	return page;
}

const frames = (page) => page.evaluate(() => window.__flamegraph.frames());
const find = async (page, name) => (await frames(page)).filter((f) => f.name === name);
const state = (page) => page.evaluate(() => window.__flamegraph.state());

async function one(page, name) {
	const f = await find(page, name);

	assert.equal(f.length, 1, `expected one drawn frame named ${JSON.stringify(name)}`);
	return f[0];
}

/* The canvas pixel at (x, y) CSS px. */
function pixel(page, x, y) {
	return page.evaluate(([px, py]) => {
		window.__flamegraph.frames();	/* draws what is pending */
		const c = document.getElementById('canvas');
		const r = window.devicePixelRatio || 1;
		const d = c.getContext('2d').getImageData(Math.floor(px * r), Math.floor(py * r), 1, 1).data;
		return [d[0], d[1], d[2]];
	}, [x, y]);
}

/* The frame's fill is at both inner ends of its rectangle (above the text),
 * with the mouse moved off the chart so no hover outline is drawn. */
async function assertPainted(page, f) {
	await page.mouse.move(1, 1);
	for (const x of [f.x + 1, f.x + f.w - 2]) {
		const got = await pixel(page, x, f.y + 2);

		assert.ok(got.every((v, i) => Math.abs(v - f.rgb[i]) <= 2),
			  `${f.name} at x=${x}: pixel ${got} is not its colour ${f.rgb}`);
	}
}

const center = (f) => [f.left + f.w / 2, f.top + f.h / 2];

before(async () => {
	fs.mkdirSync(ARTIFACTS, { recursive: true });
	browser = await launch();
});

after(async () => {
	if (browser)
		await browser.close();
	fs.rmSync(tmp, { recursive: true, force: true });
});

test('the flamegraph subcommand: default output name and errors', () => {
	const col = path.join(tmp, 'cli.col');

	fs.writeFileSync(col, mainCol());
	let r = spawnSync(BIN, ['flamegraph', '--file-path', col], { encoding: 'utf8' });
	assert.equal(r.status, 0, r.stderr);
	assert.ok(fs.statSync(path.join(tmp, 'cli.html')).size > 1000);

	r = spawnSync(BIN, ['flamegraph', '--file-path', path.join(tmp, 'missing.col')], { encoding: 'utf8' });
	assert.equal(r.status, 1);
	assert.match(r.stderr, /^gprofiler flamegraph: error: cannot read .*missing\.col: No such file or directory\n$/);

	const bad = path.join(tmp, 'bad.col');
	fs.writeFileSync(bad, 'hello\n');
	r = spawnSync(BIN, ['flamegraph', '--file-path', bad], { encoding: 'utf8' });
	assert.equal(r.status, 1);
	assert.match(r.stderr, /^gprofiler flamegraph: error: .*bad\.col is not a \.col file: line 1: .*\n$/);
	assert.ok(!fs.existsSync(path.join(tmp, 'bad.html')));

	r = spawnSync(BIN, ['flamegraph'], { encoding: 'utf8' });
	assert.equal(r.status, 2);
	assert.match(r.stderr, /--file-path is required/);
	r = spawnSync(BIN, ['flamegraph', '--file-path', col, '--bogus'], { encoding: 'utf8' });
	assert.equal(r.status, 2);
});

test('the page: proportions, zoom, search, keys, hostile names, deep stacks', async () => {
	const page = await open(render(mainCol(), 'main'));
	const fg = await page.evaluate(() => ({ total: __flamegraph.total, maxDepth: __flamegraph.maxDepth }));

	assert.equal(fg.total, TOTAL);
	assert.equal(fg.maxDepth, DEEP + 1);

	/* title: service, host, time range (start = end - duration) */
	assert.match(await page.textContent('#title'), /browser-test/);
	const sub = await page.textContent('#subtitle');
	assert.match(sub, /host test-host/);
	assert.match(sub, /2024-10-20T15:02:47 \u2013 2024-10-20T15:03:47 UTC/);
	assert.match(sub, new RegExp(`${TOTAL} samples`));

	/* 3:1 siblings, side by side, painted where the hook says */
	const a = await one(page, 'work_a'), b = await one(page, 'work_b');
	assert.equal(a.depth, b.depth);
	assert.ok(Math.abs(a.w - 3 * b.w) <= 1, `work_a ${a.w}px vs work_b ${b.w}px is not 3:1`);
	assert.ok(Math.abs(a.x + a.w - b.x) <= 0.5, 'siblings are not adjacent');
	assert.ok(Math.abs(a.w - 300 / TOTAL * (await state(page)).width) <= 0.5);
	await assertPainted(page, a);
	await assertPainted(page, b);
	const main = await one(page, 'main');
	assert.ok(Math.abs(main.w - (a.w + b.w)) <= 0.5, 'parent width is not the sum of its children');

	/* hover details */
	await page.mouse.move(...center(a));
	await page.waitForSelector('#tooltip:not([hidden])');
	const tip = await page.textContent('#tooltip');
	assert.match(tip, /^work_a/);
	assert.match(tip, /300 samples/);
	assert.match(tip, new RegExp((300 / TOTAL * 100).toFixed(2).replace('.', '\\.') + '% of total'));
	assert.match(tip, /75\.00% of parent/);
	const outline = await pixel(page, a.x + 1, a.y + a.h / 2);
	assert.ok(outline.every((v, i) => v < a.rgb[i] / 2), `no hover outline on work_a: ${outline}`);

	/* click: work_b spans the width; its ancestors stay, full width */
	await page.mouse.click(...center(b));
	let st = await state(page);
	assert.equal(st.zoom, 'work_b');
	const bz = await one(page, 'work_b');
	assert.ok(Math.abs(bz.x) <= 0.5 && Math.abs(bz.w - st.width) <= 1,
		  `zoomed work_b spans ${bz.x}..${bz.x + bz.w}, not 0..${st.width}`);
	await assertPainted(page, bz);
	assert.equal((await find(page, 'work_a')).length, 0);
	const mz = await one(page, 'main');
	assert.ok(mz.ancestor && Math.abs(mz.w - st.width) <= 1);
	await page.screenshot({ path: path.join(ARTIFACTS, 'flamegraph-zoomed.png') });

	/* reset */
	await page.click('#reset');
	st = await state(page);
	assert.equal(st.zoom, 'all');
	assert.ok(Math.abs((await one(page, 'work_b')).w - b.w) <= 0.01);

	/* search with '/', highlight and share */
	await page.mouse.move(2, 2);
	await page.keyboard.press('/');
	assert.equal(await page.evaluate(() => document.activeElement.id), 'search');
	await page.keyboard.type('WORK_');
	await page.waitForFunction(() => window.__flamegraph.state().search === 'WORK_');
	let hits = (await frames(page)).filter((f) => f.matched).map((f) => f.name).sort();
	assert.deepEqual(hits, ['work_a', 'work_b']);
	st = await state(page);
	assert.equal(st.matchedSamples, 400);
	const share = (400 / TOTAL * 100).toFixed(2) + '%';
	assert.ok((await page.textContent('#matched')).includes(`Matched: ${share}`), await page.textContent('#matched'));
	const am = await one(page, 'work_a');
	assert.deepEqual(am.rgb, [230, 0, 230]);
	await assertPainted(page, am);
	await page.screenshot({ path: path.join(ARTIFACTS, 'flamegraph-search.png') });

	/* Esc clears the search and the zoom */
	await page.mouse.click(...center(await one(page, 'main')));
	assert.equal((await state(page)).zoom, 'main');
	await page.keyboard.press('Escape');
	st = await state(page);
	assert.equal(st.search, '');
	assert.equal(st.zoom, 'all');
	assert.equal(await page.textContent('#matched'), '');
	assert.equal((await frames(page)).filter((f) => f.matched).length, 0);

	/* Ctrl-F focuses the search too; a /regex/ matches */
	await page.keyboard.press('Control+f');
	assert.equal(await page.evaluate(() => document.activeElement.id), 'search');
	await page.keyboard.type('/^work_[ab]$/');
	await page.waitForFunction(() => window.__flamegraph.state().search === '/^work_[ab]$/');
	hits = (await frames(page)).filter((f) => f.matched).map((f) => f.name).sort();
	assert.deepEqual(hits, ['work_a', 'work_b']);
	await page.keyboard.press('Escape');

	/* hostile names: text in the canvas and the tooltip, never markup */
	const h1 = await one(page, HOSTILE), h2 = await one(page, HOSTILE2);
	await page.mouse.move(...center(h1));
	await page.waitForSelector('#tooltip:not([hidden])');
	assert.equal(await page.textContent('#tooltip .name'), HOSTILE);
	assert.ok((await page.textContent('#details')).startsWith(HOSTILE));
	await page.mouse.move(...center(h2));
	await page.waitForFunction((n) => document.querySelector('#tooltip .name').textContent === n, HOSTILE2);
	await one(page, 'bad\ufffd\ufffdname');
	const dom = await page.evaluate(() => ({
		pwned: window.__pwned,
		scripts: document.scripts.length,
		injected: document.querySelectorAll('img, b, iframe, object, embed, svg').length,
	}));
	assert.deepEqual(dom, { pwned: undefined, scripts: 2, injected: 0 });

	/* kinds and legend */
	const kinds = Object.fromEntries((await frames(page)).map((f) => [f.name, f.kind]));
	assert.equal(kinds['compute_[k]'], 'kernel');
	assert.equal(kinds['run (/app/main.py:5)_[p]'], 'python');
	assert.equal(kinds['com.example.Worker.process_[j]'], 'java');
	assert.equal(kinds['LazyCompile:*handle /app/server.js:10'], 'jit');
	assert.equal(kinds['work_a'], 'native');
	assert.equal(kinds['appid: myservice'], 'process');
	assert.equal(kinds['myapp'], 'process');
	const legend = await page.textContent('#legend');
	for (const label of ['Native', 'Kernel', 'Python', 'Java', 'Ruby', 'PHP', '.NET', 'JIT'])
		assert.ok(legend.includes(label), `legend lacks ${label}`);
	await page.mouse.move(2, 2);
	await page.screenshot({ path: path.join(ARTIFACTS, 'flamegraph.png') });

	/* the 200-frame stack: its top is out of view, then scrolled into it */
	const node = await page.evaluate(() => window.__flamegraph.node('d199'));
	assert.equal(node.length, 1);
	assert.equal(node[0].depth, DEEP + 1);
	assert.equal((await find(page, 'd199')).length, 0, 'the deep frame should start out of view');
	await page.evaluate(() => { document.getElementById('chart').scrollTop = 0; });
	const top = await one(page, 'd199');
	st = await state(page);
	assert.ok(top.y >= 0 && top.y + top.h <= st.height, `d199 at y=${top.y} is not in view`);
	await assertPainted(page, top);
	await page.mouse.click(...center(top));
	assert.equal((await state(page)).zoom, 'd199');
	await page.keyboard.press('Escape');

	/* icicle: root row at the top */
	await page.click('#icicle');
	st = await state(page);
	assert.equal(st.icicle, true);
	assert.equal(st.scrollTop, 0);
	const root = await one(page, 'all');
	assert.equal(root.y, 0);
	assert.ok((await one(page, 'myapp')).y === 18);
	await page.screenshot({ path: path.join(ARTIFACTS, 'flamegraph-icicle.png') });
	await page.click('#icicle');
	assert.equal((await state(page)).icicle, false);
	await page.close();
});

test('tiny frames are skipped but still counted in their parent', async () => {
	const lines = ['0;;app;main;big 1000000'];
	for (let i = 0; i < 2000; i++)
		lines.push(`0;;app;main;tiny_${i} 1`);
	const page = await open(render(Buffer.from(header() + lines.join('\n') + '\n'), 'tiny'));
	const total = 1002000;
	const width = (await state(page)).width;

	assert.equal((await page.evaluate(() => window.__flamegraph.node('tiny_7')))[0].samples, 1);
	const all = await frames(page);
	assert.equal(all.filter((f) => f.name.startsWith('tiny_')).length, 0);
	assert.ok(all.every((f) => f.w >= 0.5));
	const main = await one(page, 'main'), big = await one(page, 'big');
	assert.ok(Math.abs(main.w - width) <= 0.01, 'main holds every sample');
	assert.ok(Math.abs(big.w - 1000000 / total * width) <= 0.01);
	assert.ok(main.w - big.w > 2, 'the tiny frames\' samples are missing from main');
	await page.close();
});

test('no console errors, dialogs or network requests', () => {
	assert.deepEqual(problems, []);
	const foreign = requests.filter((u) => !u.startsWith('file://' + tmp));
	assert.deepEqual(foreign, []);
});

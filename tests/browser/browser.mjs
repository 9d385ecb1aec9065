// SPDX-License-Identifier: Apache-2.0
/*
 * Starts Debian's chromium for the browser tests and the bench: headless,
 * offline, with a fresh profile folder removed on close. playwright-core
 * only drives it (it downloads nothing). skipReason() says why the browser
 * layer cannot run here, or null.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CHROMIUM = process.env.GPROFILER_CHROMIUM || '/usr/bin/chromium';
const here = path.dirname(fileURLToPath(import.meta.url));

export function skipReason() {
	if (!fs.existsSync(path.join(here, 'node_modules', 'playwright-core')))
		return 'tests/browser/node_modules is missing: run `npm ci` in tests/browser';
	if (!fs.existsSync(CHROMIUM))
		return `${CHROMIUM} is missing: apt-get install chromium`;
	return null;
}

export async function launch() {
	const { chromium } = await import('playwright-core');
	const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-chromium-'));
	const context = await chromium.launchPersistentContext(userDataDir, {
		executablePath: CHROMIUM,
		headless: true,
		viewport: { width: 1280, height: 800 },
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		       '--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	return {
		context,
		async close() {
			await context.close();
			fs.rmSync(userDataDir, { recursive: true, force: true });
		},
	};
}

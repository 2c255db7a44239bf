// A province's published map in a real browser: the page (AGRIMAP_URL) opened
// with `?pmtiles=` pointing at the province's archive (`agrimap pack
// --province`) on another origin, a plain static server (nginx, at
// AGRIMAP_ARCHIVE_URL). The map must come from the archive by range requests
// alone, never from the server's /tiles, and show the known parcel
// PS-0009422 (rice) of Mỹ Xương. Every test fails on a console error, an
// uncaught exception, a failed request or an HTTP error answer.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const BASE = (process.env.AGRIMAP_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const ARCHIVE = process.env.AGRIMAP_ARCHIVE_URL;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = resolve(process.env.AGRIMAP_ARTIFACTS || join(dirname(fileURLToPath(import.meta.url)), '../../target/browser'));
const PHONE = { width: 390, height: 844 };
const PARCEL = { id: 'PS-0009422', lon: 105.88688, lat: 10.17029, crop: 'Lúa' };

let browser;
before(async () => {
  assert.ok(ARCHIVE, 'AGRIMAP_ARCHIVE_URL names the published archive');
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});
after(async () => {
  await browser?.close();
});

// Until MapLibre has drawn everything in view.
async function idle(page) {
  await page.waitForFunction(() => {
    const a = window.agrimap;
    return a && a.map.loaded() && a.map.areTilesLoaded() && document.getElementById('map').dataset.state === 'idle';
  }, null, { timeout: 120000, polling: 100 });
}

async function jump(page, zoom, lon, lat) {
  await page.evaluate(([z, x, y]) => window.agrimap.map.jumpTo({ zoom: z, center: [x, y] }), [zoom, lon, lat]);
  await page.waitForTimeout(50);
  await idle(page);
}

test('the page draws a province from its archive on a static server', async () => {
  const context = await browser.newContext({ viewport: PHONE, locale: 'vi-VN' });
  context.setDefaultTimeout(90000);
  const page = await context.newPage();
  const problems = [];
  const tilesFromServer = [];
  const archiveAnswers = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('requestfailed', (r) => {
    if (!r.failure()?.errorText.includes('ERR_ABORTED')) problems.push('request failed: ' + r.url() + ' ' + r.failure()?.errorText);
  });
  // (The page's head preloads the server's TileJSON, a few hundred bytes; tiles, never.)
  page.on('request', (r) => { if (r.url().startsWith(BASE + '/tiles/') && /\.mvt$/.test(r.url())) tilesFromServer.push(r.url()); });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push('HTTP ' + r.status() + ': ' + r.url());
    if (r.url() === ARCHIVE && r.request().method() === 'GET') archiveAnswers.push(r.status());
  });

  await page.goto(`${BASE}/?pmtiles=${encodeURIComponent(ARCHIVE)}#14/${PARCEL.lat}/${PARCEL.lon}`);
  await page.waitForFunction(() => document.getElementById('map').dataset.source === 'archive');
  await idle(page);
  // The position in the address is kept (the archive does not move the map).
  const centre = await page.evaluate(() => window.agrimap.map.getCenter());
  assert.ok(Math.abs(centre.lng - PARCEL.lon) < 1e-3 && Math.abs(centre.lat - PARCEL.lat) < 1e-3, JSON.stringify(centre));

  // The parcel is drawn, and tapping it shows its public fields.
  await jump(page, 16, PARCEL.lon, PARCEL.lat);
  const parcels = await page.evaluate(() => window.agrimap.map.queryRenderedFeatures()
    .filter((f) => f.source === 'agrimap' && f.sourceLayer === 'crop').map((f) => f.properties.parcel_id));
  assert.ok(parcels.includes(PARCEL.id), JSON.stringify(parcels.slice(0, 20)));
  await page.mouse.click(PHONE.width / 2, PHONE.height / 2);
  await page.locator('#sheet').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#sheet [data-field="parcel_id"] dd').first().textContent(), PARCEL.id);
  assert.equal(await page.locator('#sheet [data-field="crop_type"] dd').first().textContent(), PARCEL.crop);
  await page.screenshot({ path: join(ARTIFACTS, 'phone-published-archive.png') });

  // The whole province in view, from the archive's low zooms.
  await jump(page, 9, 105.81, 9.94);
  const layers = await page.evaluate(() => [...new Set(window.agrimap.map.queryRenderedFeatures()
    .filter((f) => f.source === 'agrimap').map((f) => f.sourceLayer))]);
  assert.ok(layers.includes('admin_province') && layers.includes('admin_commune'), JSON.stringify(layers));

  assert.deepEqual(tilesFromServer, [], 'tiles were asked of the agrimap server');
  assert.ok(archiveAnswers.length >= 2, `the archive was read ${archiveAnswers.length} times`);
  assert.ok(archiveAnswers.every((s) => s === 206), `answers other than 206: ${archiveAnswers}`);
  assert.deepEqual(problems, [], 'the page reported problems');
  await context.close();
});

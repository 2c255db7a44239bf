// Communes side by side and the printable report in a real browser:
// Debian's Chromium, headless, driven by Playwright, against a real agrimap
// server over the demo province (AGRIMAP_URL). Every test fails on a console
// error, an uncaught exception or an HTTP error answer.
//
// Known places of the demo province (seed 2025): An Lộc (33100) and Mỹ Quới
// (33011), both pre-2025 communes of province 99.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const BASE = (process.env.AGRIMAP_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = resolve(process.env.AGRIMAP_ARTIFACTS || join(dirname(fileURLToPath(import.meta.url)), '../../target/browser'));
const LAPTOP = { width: 1366, height: 900 };
const AN_LOC = { code: '33100', name: 'An Lộc' };
const MY_QUOI = { code: '33011', name: 'Mỹ Quới' };

let browser;
before(async () => {
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

async function api(path) {
  const r = await fetch(BASE + path);
  assert.equal(r.status, 200, path);
  return r.json();
}

async function open(path) {
  const context = await browser.newContext({ viewport: LAPTOP, locale: 'vi-VN' });
  context.setDefaultTimeout(90000);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('response', (r) => { if (r.status() >= 400) problems.push('HTTP ' + r.status() + ': ' + r.url()); });
  await page.goto(BASE + path);
  return { context, page, problems };
}

// Until every small map has drawn everything in view.
async function comparedMapsIdle(page, count) {
  await page.waitForFunction((n) => {
    const maps = window.agrimap && window.agrimap.compareMaps;
    return maps && maps.length === n && maps.every((m) => m.loaded() && m.areTilesLoaded() &&
      m.getContainer().dataset.state === 'idle');
  }, count, { timeout: 120000, polling: 100 });
}

// Each small map's centre and zoom.
const views = (page) => page.evaluate(() => window.agrimap.compareMaps.map((m) => {
  const c = m.getCenter();
  return { lng: c.lng, lat: c.lat, zoom: m.getZoom() };
}));

test('#compare=A,B puts two communes side by side, and their maps move together', async () => {
  const { context, page, problems } = await open(`/#compare=${AN_LOC.code},${MY_QUOI.code}`);
  await page.waitForSelector('#compare:not([hidden])');
  await comparedMapsIdle(page, 2);

  // Both maps are drawn, each with its commune outlined.
  const drawn = await page.evaluate(() => window.agrimap.compareMaps.map((m) => ({
    outline: m.queryRenderedFeatures({ layers: ['compare-focus'] }).map((f) => f.properties.code),
    width: m.getCanvas().width,
  })));
  assert.equal(drawn.length, 2);
  assert.ok(drawn[0].outline.includes(AN_LOC.code), JSON.stringify(drawn[0].outline));
  assert.ok(drawn[1].outline.includes(MY_QUOI.code), JSON.stringify(drawn[1].outline));
  assert.ok(drawn.every((d) => d.width > 100));
  await page.screenshot({ path: join(ARTIFACTS, 'compare.png') });

  // The tables: one column per commune, the areas the API gives.
  const heads = await page.$$eval('.compare-table thead th[data-code]', (ths) => ths.map((th) => th.dataset.code));
  assert.deepEqual(heads, [AN_LOC.code, MY_QUOI.code]);
  const answer = await api(`/api/compare?communes=${AN_LOC.code},${MY_QUOI.code}`);
  // Written the Vietnamese way (1.234,56).
  const totals = await page.$$eval('tr[data-row="crop:total"] td',
    (tds) => tds.map((td) => Number(td.textContent.replace(/\./g, '').replace(',', '.'))));
  assert.equal(totals.length, 2);
  totals.forEach((v, i) => assert.ok(Math.abs(v - answer.communes[i].layers.crop.total) < 0.006,
    `${v} against ${answer.communes[i].layers.crop.total}`));
  const ntm = await page.$$eval('tr[data-row="ntm"] td', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(ntm, ['Đạt chuẩn NTM (2016)', 'NTM nâng cao (2018)']);
  const reports = await page.$$eval('.compare-table a[data-report="xlsx"]', (as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(reports, [
    `/api/reports/commune/${AN_LOC.code}.xlsx?boundary_set=pre-2025`,
    `/api/reports/commune/${MY_QUOI.code}.xlsx?boundary_set=pre-2025`,
  ]);

  // The URL still names the communes (with their sets) after the page settled.
  await page.waitForTimeout(800);
  assert.equal(new URL(page.url()).hash, `#compare=${AN_LOC.code}@pre-2025,${MY_QUOI.code}@pre-2025`);

  // Dragging the first map moves the second by the same offset, at the same zoom.
  const before = await views(page);
  assert.equal(before[0].zoom, before[1].zoom, 'one scale for both');
  const box = await page.locator('#compare-map-0').boundingBox();
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let i = 1; i <= 8; i++) await page.mouse.move(x - 10 * i, y - 6 * i);
  await page.mouse.up();
  await page.waitForTimeout(300);
  const dragged = await views(page);
  const moved = [dragged[0].lng - before[0].lng, dragged[0].lat - before[0].lat];
  assert.ok(Math.abs(moved[0]) > 1e-4 && Math.abs(moved[1]) > 1e-4, 'the first map moved: ' + moved);
  assert.ok(Math.abs(dragged[1].lng - before[1].lng - moved[0]) < 1e-9, 'the second map moved as far east');
  assert.ok(Math.abs(dragged[1].lat - before[1].lat - moved[1]) < 1e-9, 'the second map moved as far north');
  // Zooming the second zooms the first.
  await page.evaluate(() => window.agrimap.compareMaps[1].zoomTo(window.agrimap.compareMaps[1].getZoom() + 1, { duration: 0 }));
  const zoomed = await views(page);
  assert.ok(Math.abs(zoomed[0].zoom - (before[0].zoom + 1)) < 1e-9, `zoom ${zoomed[0].zoom}`);
  await comparedMapsIdle(page, 2);

  // English by the page's switch.
  await page.click('#lang');
  assert.equal(await page.textContent('tr[data-group="overview"] th'), 'Overview');
  assert.deepEqual(await page.$$eval('tr[data-row="ntm"] td', (tds) => tds.map((td) => td.textContent)),
    ['Standard (2016)', 'Advanced (2018)']);

  // Closing the view gives the map its hash back.
  await page.click('#compare-close');
  assert.equal(await page.isHidden('#compare'), true);
  assert.ok(!new URL(page.url()).hash.startsWith('#compare='));
  assert.deepEqual(problems, []);
  await context.close();
});

test('a day to count from shows each figure with its change since then, and travels in the URL', async () => {
  const since = '2025-01-01';
  const { context, page, problems } = await open(`/#compare=${AN_LOC.code},${MY_QUOI.code}&since=${since}`);
  await page.waitForSelector('#compare:not([hidden])');
  await page.waitForSelector('tr[data-row="crop:total"] td');
  assert.equal(await page.inputValue('#compare-since'), since);
  const answer = await api(`/api/compare?communes=${AN_LOC.code},${MY_QUOI.code}&since=${since}`);
  // "12,34 (+1,20)": the figure today, then its change since the day (Vietnamese numbers).
  const cells = await page.$$eval('tr[data-row="crop:total"] td', (tds) => tds.map((td) => td.textContent));
  const vn = (t) => Number(t.replace(/\./g, '').replace(',', '.'));
  cells.forEach((text, i) => {
    const m = /^([\d.,]+) \(([+−])([\d.,]+)\)$/.exec(text);
    assert.ok(m, text);
    const change = (m[2] === '−' ? -1 : 1) * vn(m[3]);
    assert.ok(Math.abs(change - answer.communes[i].change.crop.total) < 0.006,
      `${text} against ${answer.communes[i].change.crop.total}`);
  });
  // Another day asks again, and the URL keeps it.
  await page.fill('#compare-since', '2024-06-30');
  await page.dispatchEvent('#compare-since', 'change');
  await page.waitForFunction(() => window.location.hash.includes('since=2024-06-30'));
  assert.deepEqual(problems, []);
  await context.close();
});

test('the compare button of the commune bar adds communes, in planner mode', async () => {
  const { context, page, problems } = await open('/?style=planner');
  await page.waitForFunction(() => window.agrimap && window.agrimap.map.loaded(), null, { timeout: 120000 });
  for (const [i, c] of [AN_LOC, MY_QUOI].entries()) {
    await page.fill('#q', c.name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace('đ', 'd').toLowerCase());
    await page.click(`#results li[data-code="${c.code}"]`);
    await page.click('#sheet-close');
    assert.equal(await page.isVisible('#compare-add'), true);
    await page.click('#compare-add');
    if (i === 0) assert.equal(await page.isHidden('#compare'), true, 'one commune is not a comparison');
  }
  await page.waitForSelector('#compare:not([hidden])');
  await comparedMapsIdle(page, 2);
  assert.equal(new URL(page.url()).hash, `#compare=${AN_LOC.code}@pre-2025,${MY_QUOI.code}@pre-2025`);
  assert.deepEqual(problems, []);
  await context.close();
});

test('the commune sheet links the reports of the commune and its province, and the printable report draws its map', async () => {
  const { context, page, problems } = await open('/?style=planner');
  await page.waitForFunction(() => window.agrimap && window.agrimap.map.loaded(), null, { timeout: 120000 });
  await page.fill('#q', 'an loc');
  await page.click(`#results li[data-code="${AN_LOC.code}"]`);
  await page.waitForSelector('.summary [data-report="html"]');
  const links = await page.$$eval('.summary [data-report]', (as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(links, [
    `/api/reports/commune/${AN_LOC.code}.xlsx?boundary_set=pre-2025`,
    `/api/reports/commune/${AN_LOC.code}.html?boundary_set=pre-2025`,
    '/api/reports/province/99.xlsx?boundary_set=pre-2025',
    '/api/reports/province/99.html?boundary_set=pre-2025',
  ]);
  // The workbook the link gives is a workbook.
  const xlsx = await fetch(BASE + links[0]);
  assert.equal(xlsx.status, 200);
  assert.equal(xlsx.headers.get('content-type'), 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
  const report = await context.newPage();
  report.on('pageerror', (e) => problems.push('report page error: ' + e.message));
  await report.goto(BASE + links[1]);
  await report.waitForFunction(() => document.body.dataset.map !== 'loading', null, { timeout: 120000 });
  assert.equal(await report.evaluate(() => document.body.dataset.map), 'ready');
  assert.equal(await report.locator('#map canvas').count(), 1);
  await report.emulateMedia({ media: 'print' });
  assert.equal(await report.isHidden('.noprint'), true, 'the print button is not printed');
  const breaks = await report.$$eval('section.theme', (ss) => ss.map((s) => getComputedStyle(s).breakBefore));
  assert.deepEqual(breaks, Array(6).fill('page'));
  await report.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await context.close();
});

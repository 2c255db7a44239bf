// The map page in a real browser: Debian's Chromium, headless, driven by
// Playwright through `executablePath` (no browser download), against a real
// agrimap server over the demo province (AGRIMAP_URL). Every test fails on a
// console error, an uncaught exception, a failed request or an HTTP error
// answer. Screenshots go to AGRIMAP_ARTIFACTS (target/browser by default).
//
// The demo province is deterministic (seed 2025), so known places make the
// assertions: parcel PS-0009422 (rice, winter–spring) in Mỹ Xương (33030),
// found by typing "my xuong" without diacritics.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { chromium } from 'playwright-core';

const BASE = (process.env.AGRIMAP_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
// A server over real provinces of both boundary sets (no demo layers), if given.
const PROVINCES = (process.env.AGRIMAP_PROVINCES_URL || '').replace(/\/$/, '');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = resolve(process.env.AGRIMAP_ARTIFACTS || join(dirname(fileURLToPath(import.meta.url)), '../../target/browser'));
const PHONE = { width: 390, height: 844 };
const LAPTOP = { width: 1366, height: 800 };

// A parcel of Mỹ Xương and the point inside it.
const PARCEL = { id: 'PS-0009422', lon: 105.88688, lat: 10.17029, crop: 'Lúa', season: 'Đông Xuân' };
const MY_XUONG = { code: '33030', name: 'Mỹ Xương' };
const THEMES = ['crop', 'aquaculture', 'monitoring', 'growing_area', 'ocop'];

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

// A new page at `path`, with every console error, page error, failed request
// and error answer collected in `problems`.
async function open(path, viewport = PHONE, options = {}) {
  const context = await browser.newContext({ viewport, locale: 'vi-VN', ...options });
  // Generous: the suite may share two cores with other tests and software rendering.
  context.setDefaultTimeout(90000);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('requestfailed', (r) => {
    // Cancelled by the page itself (MapLibre drops tiles it no longer needs
    // when the map moves on; a download leaves the page): not a failure.
    if (!r.failure()?.errorText.includes('ERR_ABORTED')) {
      problems.push('request failed: ' + r.url() + ' ' + r.failure()?.errorText);
    }
  });
  page.on('response', (r) => { if (r.status() >= 400) problems.push('HTTP ' + r.status() + ': ' + r.url()); });
  if (path !== null) {
    await page.goto(path.startsWith('http') ? path : BASE + path);
    await idle(page);
  }
  return { context, page, problems };
}

// Until MapLibre has drawn everything in view (its `idle` event).
async function idle(page, timeout = 120000) {
  await page.waitForFunction(() => {
    const a = window.agrimap;
    return a && a.map.loaded() && a.map.areTilesLoaded() && document.getElementById('map').dataset.state === 'idle';
  }, null, { timeout, polling: 100 });
}

// Moves the map and waits until the new view is drawn.
async function jump(page, zoom, lon, lat) {
  await page.evaluate(([z, x, y]) => {
    window.agrimap.map.jumpTo({ zoom: z, center: [x, y] });
  }, [zoom, lon, lat]);
  await page.waitForTimeout(50);
  await idle(page);
}

// The tile of zoom z holding a point.
function tileOf(z, lon, lat) {
  const n = 2 ** z;
  const x = Math.floor(((lon + 180) / 360) * n);
  const rad = (lat * Math.PI) / 180;
  const y = Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n);
  return [x, y];
}

// The body size of a GET asked for with gzip, as it travels (204: empty tile, 0).
function gzippedSize(url) {
  return new Promise((done, fail) => {
    http.get(url, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk) => { bytes += chunk.length; });
      res.on('end', () => (res.statusCode === 200 || res.statusCode === 204 ? done(bytes) : fail(new Error(url + ' ' + res.statusCode))));
    }).on('error', fail);
  });
}

// The middle of a GeoJSON geometry's bounding box.
function centreOf(geometry) {
  const xs = [];
  const ys = [];
  const walk = (c) => (typeof c[0] === 'number' ? (xs.push(c[0]), ys.push(c[1])) : c.forEach(walk));
  walk(geometry.coordinates);
  return [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
}

// The colours of the pixels around (x, y) of the page as it is shown, decoded by the browser.
async function pixelsAround(page, x, y, r = 3) {
  const png = await page.screenshot({ clip: { x: x - r, y: y - r, width: 2 * r + 1, height: 2 * r + 1 } });
  return page.evaluate(async (b64) => {
    const image = await createImageBitmap(await (await fetch('data:image/png;base64,' + b64)).blob());
    const canvas = new OffscreenCanvas(image.width, image.height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(image, 0, 0);
    const data = ctx.getImageData(0, 0, image.width, image.height).data;
    const out = [];
    for (let i = 0; i < data.length; i += 4) out.push([data[i], data[i + 1], data[i + 2]]);
    return out;
  }, png.toString('base64'));
}

function field(page, name) {
  return page.locator(`#sheet [data-field="${name}"] dd`).first();
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, name + '.png') });
}

function noProblems(problems) {
  assert.deepEqual(problems, [], 'the page reported problems');
}

test('the page loads the map of the demo province in Vietnamese, with labels', async () => {
  const { context, page, problems } = await open('/');
  assert.equal(await page.getAttribute('html', 'lang'), 'vi');
  assert.equal(await page.locator('#offline').isHidden(), true);
  assert.equal(await page.locator('#q').getAttribute('placeholder'), 'Tìm xã, ví dụ: my xuong');
  // The first view draws the province and labels its towns.
  const drawn = await page.evaluate(() => {
    const m = window.agrimap.map;
    const layers = new Set(m.queryRenderedFeatures().map((f) => f.sourceLayer));
    const labels = m.queryRenderedFeatures({ layers: ['place-label-town'] }).map((f) => f.properties.name);
    return { layers: [...layers], labels };
  });
  assert.ok(drawn.layers.includes('admin_province'), JSON.stringify(drawn.layers));
  assert.ok(drawn.labels.length > 0, 'no town labelled');
  // The demo province (code 99) is synthetic, and the credits say so.
  await page.locator('#synthetic').waitFor({ state: 'attached' });
  await page.waitForFunction(() => !document.getElementById('synthetic').hidden);
  await shot(page, 'phone-province');
  await page.setViewportSize(LAPTOP);
  await idle(page);
  await shot(page, 'laptop-province');
  noProblems(problems);
  await context.close();
});

test('with several provinces held, the switch names them and moves the map and the title between them', { skip: !PROVINCES }, async () => {
  const held = await (await fetch(PROVINCES + '/api/provinces')).json();
  const { context, page, problems } = await open(PROVINCES + '/', LAPTOP);
  // The newest set is drawn first: the two 2025 provinces, named in the title.
  await page.waitForFunction(() => document.title.endsWith('Tỉnh Đồng Tháp, Thành phố Cần Thơ'), null, { timeout: 60000 });
  const options = await page.locator('#province option').allTextContents();
  assert.deepEqual(options, held.provinces.map((p) => p.name + ' · ' + (p.boundary_set === '2025' ? '2025' : 'trước 2025')));
  assert.deepEqual(options, ['Tỉnh Đồng Tháp · 2025', 'Thành phố Cần Thơ · 2025', 'Tỉnh Sóc Trăng · trước 2025']);
  assert.equal(await page.locator('#province').isVisible(), true);
  // Sóc Trăng before the reform: the other set is drawn and the map lands on it.
  await page.selectOption('#province', '2');
  await page.waitForFunction(() => document.title.endsWith('Tỉnh Sóc Trăng'), null, { timeout: 60000 });
  await idle(page);
  const view = await page.evaluate(() => {
    const m = window.agrimap.map;
    const c = m.getCenter();
    return { lon: c.lng, lat: c.lat, set: (m.getStyle().metadata || {})['agrimap:boundary_set'] };
  });
  const [w, s, e, n] = held.provinces[2].bbox;
  assert.ok(view.lon > w && view.lon < e && view.lat > s && view.lat < n, JSON.stringify({ view, bbox: held.provinces[2].bbox }));
  assert.equal(view.set, 'pre-2025');
  // The legend's heading names it too, and in English once switched.
  await page.click('#lang');
  await page.waitForFunction(() => document.title.startsWith('agrimap — Agricultural map'));
  assert.deepEqual(await page.locator('#province option').nth(2).textContent(), 'Tỉnh Sóc Trăng · before 2025');
  await shot(page, 'laptop-provinces');
  noProblems(problems);
  await context.close();
});

test('tapping a known parcel opens its details in the bottom sheet', async () => {
  const { context, page, problems } = await open(`/#16/${PARCEL.lat}/${PARCEL.lon}`);
  await page.mouse.click(PHONE.width / 2, PHONE.height / 2);
  await page.locator('#sheet').waitFor({ state: 'visible' });
  assert.equal(await page.getAttribute('#sheet', 'data-layer'), 'crop');
  assert.equal(await page.textContent('#sheet-title'), 'Trồng trọt');
  assert.equal(await field(page, 'parcel_id').textContent(), PARCEL.id);
  assert.equal(await field(page, 'crop_type').textContent(), PARCEL.crop);
  assert.equal(await field(page, 'season').textContent(), PARCEL.season);
  // Restricted fields never reach an anonymous reader.
  for (const restricted of ['owner_name', 'owner_phone', 'household_id']) {
    assert.equal(await page.locator(`#sheet [data-field="${restricted}"]`).count(), 0, restricted);
  }
  // The tap put the parcel's commune in focus.
  assert.equal(await page.textContent('#commune-name'), MY_XUONG.name);
  await shot(page, 'phone-parcel-sheet');
  // In English, the same sheet in English words.
  await page.click('#lang');
  assert.equal(await field(page, 'crop_type').textContent(), 'Rice');
  assert.equal(await page.textContent('#sheet-title'), 'Crops');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  // Escape closes the sheet.
  await page.keyboard.press('Escape');
  await page.locator('#sheet').waitFor({ state: 'hidden' });
  noProblems(problems);
  await context.close();
});

test('a commune searched by its name before the reform is found as the commune it went into', { skip: !PROVINCES }, async () => {
  const { context, page, problems } = await open(PROVINCES + '/');
  await page.waitForFunction(() => document.title.endsWith('Tỉnh Đồng Tháp, Thành phố Cần Thơ'), null, { timeout: 60000 });
  // Phường 5 of the old Sóc Trăng went whole into Phường Sóc Trăng (31507).
  await page.fill('#q', 'phuong 5');
  const option = page.locator('#results [role=option][data-code="31507"]');
  await option.waitFor();
  assert.match(await option.textContent(), /^Phường Sóc Trăngtrước đây Phường 5 · Thành phố Cần Thơ · 2025$/);
  await option.click();
  await page.waitForFunction(() => !window.agrimap.map.isMoving());
  assert.equal(await page.textContent('#commune-name'), 'Phường Sóc Trăng');
  // The province switch follows the map from Đồng Tháp to Cần Thơ.
  assert.equal(await page.locator('#province option:checked').textContent(), 'Thành phố Cần Thơ · 2025');
  await shot(page, 'phone-search-former-name');
  noProblems(problems);
  await context.close();
});

test('a tap inside a commune, away from any feature, opens that commune', async () => {
  const { context, page, problems } = await open('/');
  const { center } = (await api('/api/communes?q=' + MY_XUONG.code)).communes[0];
  await jump(page, 12, center[0], center[1]);
  await page.evaluate((themes) => {
    for (const t of themes) {
      const box = document.getElementById('theme-' + t);
      if (box.checked) box.click();
    }
    // Nothing but the commune under the finger: no village label either.
    const m = window.agrimap.map;
    for (const l of m.getStyle().layers) if (l['source-layer'] === 'places') m.setLayoutProperty(l.id, 'visibility', 'none');
  }, THEMES);
  await idle(page);
  await page.mouse.click(PHONE.width / 2, PHONE.height / 2);
  await page.locator('#sheet').waitFor({ state: 'visible' });
  assert.equal(await page.getAttribute('#sheet', 'data-layer'), 'admin_commune');
  assert.equal(await page.textContent('#commune-name'), MY_XUONG.name);
  noProblems(problems);
  await context.close();
});

test('a commune typed without diacritics is found and the map lands on it', async () => {
  const { context, page, problems } = await open('/');
  await page.fill('#q', 'my xuong');
  const first = page.locator('#results [role=option]').first();
  await first.waitFor();
  assert.equal(await first.getAttribute('data-code'), MY_XUONG.code);
  assert.match(await first.textContent(), /Mỹ Xương/);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => !window.agrimap.map.isMoving());
  await idle(page);
  const { bbox } = await api('/api/communes/' + MY_XUONG.code);
  const center = await page.evaluate(() => window.agrimap.map.getCenter().toArray());
  assert.ok(center[0] > bbox[0] && center[0] < bbox[2] && center[1] > bbox[1] && center[1] < bbox[3],
    `centre ${center} is not inside ${bbox}`);
  assert.equal(await page.textContent('#commune-name'), MY_XUONG.name);
  // The commune's boundary is drawn as the focus.
  const focus = await page.evaluate(() => window.agrimap.map.queryRenderedFeatures({ layers: ['commune-focus'] }).length);
  assert.ok(focus > 0, 'the commune in focus is not outlined');
  await shot(page, 'phone-search-my-xuong');
  noProblems(problems);
  await context.close();
});

test('each theme toggles on and off, and the legend names its classes', async () => {
  // Dense enough that every theme has something in view.
  const { context, page, problems } = await open(`/#12/${PARCEL.lat}/${PARCEL.lon}`, LAPTOP);
  if (await page.locator('#layers').isHidden()) await page.click('#layers-button');
  const rendered = (theme) => page.evaluate((id) => window.agrimap.map.queryRenderedFeatures()
    .filter((f) => f.sourceLayer === id).length, theme);
  const legend = await page.locator('[data-theme="crop"] .legend li').allTextContents();
  assert.ok(legend.includes('Lúa') && legend.includes('Sầu riêng'), JSON.stringify(legend));
  const stationLegend = await page.locator('[data-theme="monitoring"] .legend li').allTextContents();
  assert.deepEqual(stationLegend, ['Bình thường', 'Cần theo dõi', 'Báo động', 'Mất tín hiệu']);
  for (const theme of THEMES) {
    // Where the server says a feature of the theme lies.
    const [feature] = (await api(`/ogc/collections/${theme}/items?limit=1&f=json`)).features;
    const [lon, lat] = centreOf(feature.geometry);
    await jump(page, 14, lon, lat);
    assert.ok(await rendered(theme) > 0, `${theme} is not drawn before the toggle`);
    await page.uncheck(`#theme-${theme}`);
    await idle(page);
    assert.equal(await rendered(theme), 0, `${theme} is still drawn when off`);
    await page.check(`#theme-${theme}`);
    await idle(page);
    assert.ok(await rendered(theme) > 0, `${theme} is not drawn again when on`);
  }
  await shot(page, 'laptop-layers');
  noProblems(problems);
  await context.close();
});

test('a station in alarm is red, and its sheet shows readings with units and a 7-day chart', async () => {
  const { alerts } = await api('/api/alerts');
  const alarm = alerts.find((a) => a.alert_state === 'alarm');
  assert.ok(alarm, 'the demo province has a station in alarm');
  const [lon, lat] = alarm.location;
  const { context, page, problems } = await open(`/#15/${lat}/${lon}`);
  // The station's circle is drawn, in the alarm colour.
  const state = await page.evaluate(([x, y]) => {
    const m = window.agrimap.map;
    const f = m.queryRenderedFeatures(m.project([x, y]), { layers: ['monitoring'] })[0];
    return f && f.properties.alert_state;
  }, [lon, lat]);
  assert.equal(state, 'alarm', 'no station in alarm drawn at its location');
  // And on screen: the alarm red (#e00000) at the station's place, the map's centre.
  const pixels = await pixelsAround(page, PHONE.width / 2, PHONE.height / 2);
  assert.ok(pixels.some(([r, g, b]) => r > 200 && g < 40 && b < 40), `no alarm red at the station: ${JSON.stringify(pixels)}`);

  await page.mouse.click(PHONE.width / 2, PHONE.height / 2);
  await page.locator('#sheet').waitFor({ state: 'visible' });
  assert.equal(await page.getAttribute('#sheet', 'data-layer'), 'monitoring');
  assert.equal(await field(page, 'name').textContent(), alarm.name);
  assert.equal(await field(page, 'alert_state').textContent(), 'Báo động');
  assert.equal(await field(page, 'kind').textContent(), 'Chất lượng nước');
  const salinity = await field(page, 'latest_salinity').textContent();
  assert.match(salinity, /^\d+(,\d+)? ‰$/);
  await page.locator('#sheet .alert-cause').waitFor();
  assert.match(await page.textContent('#sheet .alert-cause'), /Độ mặn .* ngưỡng 4 ‰/);
  const charts = page.locator('#sheet figure.chart');
  await charts.first().waitFor();
  const parameters = await charts.evaluateAll((fs) => fs.map((f) => f.dataset.parameter));
  assert.ok(parameters.includes('salinity'), JSON.stringify(parameters));
  // A line with a point per hour of the last 7 days (up to 168), not an empty frame.
  const points = await page.locator('#sheet figure[data-parameter="salinity"] path')
    .evaluate((p) => p.getAttribute('d').split(/[ML]/).filter((s) => s.trim()).length);
  assert.ok(points > 24 && points <= 169, `${points} points`);
  await shot(page, 'phone-station-sheet');
  noProblems(problems);
  await context.close();
});

test('planner mode colours communes, and a commune tap opens its summary and its GeoJSON', async () => {
  const { context, page, problems } = await open(`/#12/${PARCEL.lat}/${PARCEL.lon}`, LAPTOP);
  await page.click('#mode');
  assert.equal(await page.getAttribute('#mode', 'aria-pressed'), 'true');
  await page.waitForFunction(() => window.agrimap.map.getLayer('commune-choropleth'));
  await idle(page);
  if (await page.locator('#layers').isHidden()) await page.click('#layers-button');
  assert.equal(await page.locator('#metric').inputValue(), 'crop-area');
  assert.match(await page.textContent('#choropleth-legend'), /ha$/);
  // Rice only: the style is asked again with the class.
  await page.selectOption('#metric', 'rice-area');
  await page.waitForFunction(() => {
    const l = window.agrimap.map.getLayer('commune-choropleth');
    return l && window.agrimap.map.getStyle().layers.find((x) => x.id === 'commune-choropleth')
      .metadata['agrimap:choropleth'].value === 'rice';
  });
  await idle(page);
  // Pest pressure: the light traps' newest week (the demo's flight), a swatch per state.
  await page.selectOption('#metric', 'pest-pressure');
  await page.waitForFunction(() => {
    const l = window.agrimap.map.getLayer('commune-choropleth')
      && window.agrimap.map.getStyle().layers.find((x) => x.id === 'commune-choropleth');
    return l && l.metadata['agrimap:choropleth'].layer === 'pests';
  });
  assert.match(await page.textContent('#choropleth-legend'), /Bình thường.*Theo dõi.*Báo động.*2026-W47/);
  assert.equal(await page.getAttribute('#choropleth-legend a.bulletin', 'href'),
    '/api/bulletins/pests?province=99&week=2026-W47&f=html');
  await idle(page);
  const summary = await api(`/api/communes/${MY_XUONG.code}/summary`);
  // Tap the middle of Mỹ Xương, away from points.
  const { center } = (await api('/api/communes?q=' + MY_XUONG.code)).communes[0];
  await jump(page, 12, center[0], center[1]);
  await page.evaluate(() => { for (const t of ['crop', 'aquaculture', 'monitoring', 'growing_area', 'ocop']) {
    const box = document.getElementById('theme-' + t);
    if (box.checked) box.click();
  } });
  await idle(page);
  await page.mouse.click(LAPTOP.width / 2, LAPTOP.height / 2);
  await page.locator(`#sheet .summary[data-code="${MY_XUONG.code}"]`).waitFor();
  assert.equal(await page.textContent('#sheet-title'), MY_XUONG.name);
  const cropTotal = await page.textContent('#sheet [data-section="crop"] .total');
  const expected = summary.crop.total_ha.toLocaleString('vi-VN', { maximumFractionDigits: 1 }) + ' ha';
  assert.equal(cropTotal, expected);
  await shot(page, 'laptop-planner-summary');

  // The commune's crop parcels as GeoJSON, with public fields only.
  await page.click('#export-button');
  const link = page.locator('#export-menu a[data-layer="crop"]');
  const href = await link.getAttribute('href');
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.equal(download.suggestedFilename(), `crop-${MY_XUONG.code}.geojson`);
  const saved = join(ARTIFACTS, download.suggestedFilename());
  await download.saveAs(saved);
  const geojson = JSON.parse(readFileSync(saved, 'utf8'));
  assert.equal(geojson.type, 'FeatureCollection');
  // The commune by its code and its boundary set: a code alone may name two communes.
  assert.match(href, /^\/api\/export\/crop\.geojson\?commune=33030&boundary_set=pre-2025$/);
  assert.equal(geojson.features.length, summary.crop.by_crop_type.reduce((n, c) => n + c.features, 0));
  for (const f of geojson.features) {
    assert.equal(f.properties.commune_code, MY_XUONG.code);
    assert.ok(!('owner_name' in f.properties) && !('owner_phone' in f.properties));
  }
  noProblems(problems);
  await context.close();
});

test("planner mode: the statistics panel asks a filtered cross-tabulation, shows its table and its choropleth, and downloads it as Excel", async () => {
  const { context, page, problems } = await open(`/?style=planner#11/${PARCEL.lat}/${PARCEL.lon}`, LAPTOP, { acceptDownloads: true });
  await page.locator('#stats-button').waitFor();
  await page.click('#stats-button');
  await page.locator('#stats-form').waitFor();
  await page.selectOption('#stats-layer', 'crop');
  // The season's pick-list comes from the code list, in Vietnamese.
  assert.equal(await page.locator('#stats-filter-season option[value="dong_xuan"]').textContent(), 'Đông Xuân');
  await page.selectOption('#stats-filter-season', 'dong_xuan');
  await page.selectOption('#stats-class-1', 'crop_type');
  await page.selectOption('#stats-class-2', 'practice');
  await page.check('#stats-form input[value="count"]');
  await page.selectOption('#stats-per', 'commune_area');
  await page.click('#stats-run');
  await page.locator('#stats-table').waitFor();
  const query = "layer=crop&by=commune&filter=season%3D%27dong_xuan%27&class=crop_type%2Cpractice&metric=area%2Ccount&per=commune_area";
  const expected = await api('/api/stats?' + query);
  const shown = await page.evaluate(() => window.agrimap.stats);
  assert.deepEqual(shown, expected);
  // The table: a row per cell (the first 300), the known cell's figures as the answer has them.
  const rows = await page.locator('#stats-table tbody tr:not(.total)').count();
  assert.equal(rows, Math.min(300, expected.rows.length));
  const cell = expected.rows.find((r) => r.code === MY_XUONG.code && r.classes[0] === 'rice' && r.classes[1] === 'vietgap');
  assert.ok(cell, 'Mỹ Xương grows VietGAP rice in winter–spring');
  const line = page.locator(`#stats-table tr[data-code="${MY_XUONG.code}"]`, { hasText: 'VietGAP' }).filter({ hasText: 'Lúa' });
  const texts = await line.locator('td').allTextContents();
  assert.equal(texts[4], cell.values[0].toLocaleString('vi-VN', { maximumFractionDigits: 2 }));
  assert.equal(texts[5], cell.values[1].toLocaleString('vi-VN', { maximumFractionDigits: 2 }));
  // The choropleth is made of the same answer: the commune's ratios, added over its cells.
  const colour = await page.evaluate(() => window.agrimap.map.getPaintProperty('commune-choropleth', 'fill-color'));
  assert.equal(colour[0], 'interpolate');
  const figure = colour[2];
  const at = figure.indexOf(MY_XUONG.code);
  const sum = expected.rows.filter((r) => r.code === MY_XUONG.code).reduce((n, r) => n + r.ratios[0], 0);
  assert.ok(Math.abs(figure[at + 1] - sum) < 1e-12, `${figure[at + 1]} vs ${sum}`);
  await idle(page);
  await shot(page, 'laptop-planner-statistics');
  // One click: the same table as a workbook.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#stats-excel')]);
  assert.equal(download.suggestedFilename(), 'thong-ke-crop-commune.xlsx');
  const saved = join(ARTIFACTS, download.suggestedFilename());
  await download.saveAs(saved);
  assert.equal(readFileSync(saved).subarray(0, 2).toString(), 'PK');
  // In English by the page's switch.
  await page.click('#lang');
  await page.locator('#stats-title', { hasText: 'Statistics by commune' }).waitFor();
  noProblems(problems);
  await context.close();
});

test('every control is thumb-sized and the search works from the keyboard alone', async () => {
  const { context, page, problems } = await open('/');
  await page.click('#layers-button');
  // A checkbox is tapped through its label, which is measured instead.
  const small = await page.evaluate(() => [...document.querySelectorAll('button, input:not([type=checkbox]), select, label[for], a')]
    .filter((e) => e.offsetParent !== null && !e.closest('.maplibregl-ctrl-attrib, .credits, .visually-hidden'))
    .map((e) => ({ id: e.id || e.textContent.trim().slice(0, 20), box: e.getBoundingClientRect() }))
    .filter(({ box }) => box.width < 44 || box.height < 44)
    .map(({ id, box }) => `${id} ${Math.round(box.width)}×${Math.round(box.height)}`));
  assert.deepEqual(small, []);
  // Text against its background: WCAG AA (4.5:1) for every visible control and the panel text.
  const poor = await page.evaluate(() => {
    const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
    const luminance = ([r, g, b]) => {
      const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    const background = (e) => {
      for (let n = e; n; n = n.parentElement) {
        const c = rgb(getComputedStyle(n).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const out = [];
    for (const e of document.querySelectorAll('button, label, .legend li, .credits, .hint, input, select, h2')) {
      if (e.offsetParent === null || !e.textContent.trim() && e.tagName !== 'INPUT') continue;
      const fg = luminance(rgb(getComputedStyle(e).color));
      const bg = luminance(background(e));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      if (ratio < 4.5) out.push(`${e.id || e.textContent.trim().slice(0, 24)}: ${ratio.toFixed(2)}`);
    }
    return out;
  });
  assert.deepEqual(poor, [], 'text below 4.5:1 contrast');
  // The map itself from the keyboard: focus it, Enter asks about its centre.
  await page.goto(BASE + `/#16/${PARCEL.lat}/${PARCEL.lon}`);
  await page.reload();
  await idle(page);
  await page.focus('.maplibregl-canvas');
  await page.keyboard.press('Enter');
  await page.locator('#sheet').waitFor({ state: 'visible' });
  assert.equal(await field(page, 'parcel_id').textContent(), PARCEL.id);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'sheet-close', 'focus moves to the sheet');
  await page.keyboard.press('Escape');
  await page.locator('#sheet').waitFor({ state: 'hidden' });
  assert.ok(await page.evaluate(() => document.activeElement.classList.contains('maplibregl-canvas')), 'focus returns to the map');

  // On a fresh page, Tab order starts at the search box; typing, arrows and Enter choose a commune.
  await page.reload();
  await idle(page);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'q');
  await page.keyboard.type('tan thuan tay');
  await page.locator('#results [role=option]').first().waitFor();
  assert.match(await page.locator('#results [role=option]').first().textContent(), /Tân Thuận Tây/);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.locator('#commune').waitFor();
  assert.equal(await page.textContent('#commune-name'), 'Tân Thuận Tây');
  noProblems(problems);
  await context.close();
});

test('when the server cannot be reached the page says so, and recovers', async () => {
  const { context, page, problems } = await open('/');
  await context.setOffline(true);
  await page.fill('#q', 'my xuong');
  await page.locator('#offline').waitFor();
  assert.match(await page.textContent('#offline'), /Mất kết nối mạng|Không kết nối được máy chủ/);
  await shot(page, 'phone-offline');
  // Back online, the page checks the server again by itself.
  await context.setOffline(false);
  await page.locator('#offline').waitFor({ state: 'hidden' });
  // The requests cut off by the test are the only failures allowed.
  noProblems(problems.filter((p) => !p.includes('ERR_INTERNET_DISCONNECTED')));
  await context.close();

  // The page itself from a server that has gone: the browser cannot even load it.
  const gone = await open(null);
  await gone.page.goto(BASE + '/');
  await idle(gone.page);
  await gone.page.route('**/*', (route) => route.abort('connectionrefused'));
  await gone.page.evaluate(() => window.dispatchEvent(new Event('online')));
  await gone.page.locator('#offline').waitFor();
  assert.match(await gone.page.textContent('#offline-text'), /Không kết nối được máy chủ bản đồ/);
  await shot(gone.page, 'phone-server-gone');
  // The server is back: "Thử lại" (try again) clears the message and redraws.
  await gone.page.unroute('**/*');
  await gone.page.click('#retry');
  await gone.page.locator('#offline').waitFor({ state: 'hidden' });
  await idle(gone.page);
  await gone.context.close();

  // The map library itself never arrives: a message, not a blank page.
  const broken = await open(null);
  await broken.page.route('**/static/maplibre-gl.js', (route) => route.abort('connectionreset'));
  await broken.page.goto(BASE + '/');
  await broken.page.locator('#offline').waitFor();
  assert.match(await broken.page.textContent('#offline-text'), /[Kk]hông kết nối được máy chủ/);
  await broken.context.close();
});

test('a downloaded commune pack shows the commune with the network cut', async () => {
  const { context, page, problems } = await open('/');
  // The service worker has kept the page.
  await page.waitForFunction(async () => {
    const registration = await navigator.serviceWorker.getRegistration();
    return registration && registration.active && (await caches.match('/static/pmtiles.js')) !== undefined;
  }, null, { timeout: 60000, polling: 250 });
  // Find the commune and download its pack from the page.
  await page.fill('#q', 'my xuong');
  await page.locator(`#results [data-code="${MY_XUONG.code}"]`).click();
  await page.locator('#commune').waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#pack-link')]);
  assert.equal(download.suggestedFilename(), `agrimap-${MY_XUONG.code}.pmtiles`);
  const packPath = join(ARTIFACTS, download.suggestedFilename());
  await download.saveAs(packPath);
  noProblems(problems);

  // No network at all from here on.
  await context.setOffline(true);
  const online = [];
  page.on('request', (r) => { if (/\.mvt$/.test(new URL(r.url()).pathname)) online.push(r.url()); });
  // A new load of the page (a query, not only a hash, so the browser really navigates):
  // with the network cut, only the service worker can answer it.
  const reload = await page.goto(BASE + `/?from=offline#15/${PARCEL.lat}/${PARCEL.lon}`);
  assert.equal(reload.fromServiceWorker(), true, 'the page did not come from the service worker');
  await page.waitForFunction(() => window.agrimap && window.agrimap.map);
  assert.equal(await page.textContent('#commune-name'), '', 'the page was not loaded anew');
  // The page says the network is gone, and offers the pack.
  await page.locator('#offline').waitFor();
  await shot(page, 'phone-offline-before-pack');
  // Before the pack, MapLibre may have asked the (cut) network for tiles; from it, never.
  online.length = 0;
  await page.setInputFiles('#pack-file', packPath);
  await page.waitForFunction(() => document.getElementById('map').dataset.source === 'pack');
  await page.waitForFunction(() => window.agrimap.map.getSource('agrimap')?.url?.startsWith('pmtiles://'));
  assert.equal(await page.locator('#offline').isHidden(), true);
  await jump(page, 16, PARCEL.lon, PARCEL.lat);
  await page.mouse.click(PHONE.width / 2, PHONE.height / 2);
  await page.locator('#sheet').waitFor({ state: 'visible' });
  assert.equal(await field(page, 'parcel_id').textContent(), PARCEL.id);
  assert.equal(await field(page, 'crop_type').textContent(), PARCEL.crop);
  // The labels came with the page: the commune's name is drawn.
  await jump(page, 13, PARCEL.lon, PARCEL.lat);
  const names = await page.evaluate(() => window.agrimap.map.queryRenderedFeatures({ layers: ['place-label-commune'] })
    .map((f) => f.properties.name));
  assert.ok(names.includes(MY_XUONG.name), JSON.stringify(names));
  // The value lists' names came with the page too: the legend says Đê bao, not dyke.
  const works = await page.locator('.theme[data-theme="irrigation_works"] .legend').textContent();
  assert.match(works, /Đê bao/);
  assert.doesNotMatch(works, /dyke/);
  await shot(page, 'phone-offline-pack');
  assert.deepEqual(online, [], 'tiles were asked of the network once the pack was open');
  // Only what the cut network refused: the server's API and tile source, never the pack.
  const unexpected = problems.filter((p) => !/ERR_INTERNET_DISCONNECTED|Failed to fetch|Failed to load resource/.test(p));
  assert.deepEqual(unexpected, []);
  await context.close();
});

// Item "light on the wire": the first view on a phone over Fast 3G, and z14
// tiles over the densest parcels. Figures are printed and saved; only the byte
// budgets (deterministic) are asserted, never a time.
test('first view over Fast 3G: bytes on the wire, render time, z14 tile sizes', async () => {
  // The same first view without throttling: what the phone's CPU (here, software rendering) costs.
  const fast = await open('/', PHONE);
  const unthrottled = await fast.page.evaluate(() => window.agrimap.firstIdleAt);
  noProblems(fast.problems);
  await fast.context.close();

  const { context, page, problems } = await open(null, PHONE);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  // Chrome DevTools' "Fast 3G" preset.
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 562.5,
    downloadThroughput: (1.6 * 1024 * 1024 / 8) * 0.9,
    uploadThroughput: (750 * 1024 / 8) * 0.9,
  });
  // Bytes as they came over the wire (compressed bodies and headers), for
  // every request of the page and of MapLibre's workers.
  let requests = [];
  page.on('requestfinished', (request) => {
    requests.push((async () => {
      const response = await request.response();
      const sizes = await request.sizes();
      return {
        url: request.url(),
        encoding: (await response?.headerValue('content-encoding')) || '',
        bytes: Math.max(0, sizes.responseBodySize) + Math.max(0, sizes.responseHeadersSize),
        body: sizes.responseBodySize,
      };
    })());
  });
  const settled = async () => {
    const all = await Promise.all(requests);
    requests = [];
    return all;
  };
  await page.goto(BASE + '/');
  await idle(page, 120000);
  const firstIdle = await page.evaluate(() => window.agrimap.firstIdleAt);
  const firstLoad = await page.evaluate(() => window.agrimap.loadedAt);
  const kind = (url) => {
    const p = new URL(url).pathname;
    if (p === '/') return 'html';
    if (p.endsWith('.js')) return 'js';
    if (p.endsWith('.css')) return 'css';
    if (p.startsWith('/styles/') || p.endsWith('.json') || p.startsWith('/api/') || p === '/health' || p === '/catalog') return 'json';
    if (p.startsWith('/fonts/')) return 'glyphs';
    if (p.startsWith('/tiles/')) return 'tiles';
    return 'other';
  };
  const first = await settled();
  const byKind = {};
  for (const r of first) byKind[kind(r.url)] = (byKind[kind(r.url)] || 0) + r.bytes;
  const total = first.reduce((n, r) => n + r.bytes, 0);
  const uncompressed = first.filter((r) => r.body > 2000 && !/gzip|br|deflate|zstd/.test(r.encoding));

  // z14 over the densest parcels: the commune with the most cropped area.
  const stats = await api('/api/stats?layer=crop&by=commune&metric=area');
  const densest = stats.rows.reduce((a, b) => (b.value > a.value ? b : a));
  const { center } = (await api('/api/communes?q=' + densest.code)).communes[0];
  await page.evaluate(([x, y]) => window.agrimap.map.jumpTo({ zoom: 14.2, center: [x, y] }), center);
  await page.waitForTimeout(50);
  await idle(page, 120000);
  await page.setViewportSize(LAPTOP);
  await page.waitForTimeout(50);
  await idle(page, 120000);
  const z14 = (await settled()).filter((r) => /\/tiles\/[^/]+\/14\//.test(r.url)).map((r) => r.body).sort((a, b) => a - b);
  const median = z14.length ? (z14.length % 2 ? z14[(z14.length - 1) / 2] : (z14[z14.length / 2 - 1] + z14[z14.length / 2]) / 2) : NaN;

  // And every z14 tile over that commune, as the server sends them gzipped.
  const commune = await api('/api/communes/' + densest.code);
  const tileUrl = (await api(new URL(await page.evaluate(() => window.agrimap.map.getStyle().sources.agrimap.url)).pathname)).tiles[0];
  const [x0, y0] = tileOf(14, commune.bbox[0], commune.bbox[3]);
  const [x1, y1] = tileOf(14, commune.bbox[2], commune.bbox[1]);
  const communeTiles = [];
  for (let x = x0; x <= x1; x++) {
    for (let y = y0; y <= y1; y++) {
      communeTiles.push(await gzippedSize(tileUrl.replace('{z}', 14).replace('{x}', x).replace('{y}', y)));
    }
  }
  communeTiles.sort((a, b) => a - b);
  const communeMedian = communeTiles[Math.floor((communeTiles.length - 1) / 2)];

  const figures = {
    viewport: PHONE, network: 'Fast 3G (562.5 ms, 1.44 Mbit/s down)',
    first_map_load_ms: Math.round(firstLoad), first_map_idle_ms: Math.round(firstIdle),
    unthrottled_first_map_idle_ms: Math.round(unthrottled), first_view_bytes: total, first_view_by_kind: byKind,
    first_view_requests: first.length,
    z14_dense_in_view: { commune: densest.code, name: densest.name, tiles: z14.length, median_bytes: median, max_bytes: z14.at(-1) },
    z14_dense_whole_commune: { tiles: communeTiles.length, median_bytes: communeMedian, max_bytes: communeTiles.at(-1) },
  };
  writeFileSync(join(ARTIFACTS, 'wire.json'), JSON.stringify(figures, null, 2) + '\n');
  console.log('light on the wire: ' + JSON.stringify(figures));
  assert.deepEqual(uncompressed.map((r) => r.url), [], 'static files travel compressed');
  assert.ok(total < 1024 * 1024, `the first view moved ${total} bytes`);
  assert.ok(z14.length > 0, 'no z14 tile was loaded');
  assert.ok(median < 50 * 1024, `median z14 tile ${median} bytes`);
  assert.ok(communeMedian < 50 * 1024, `median z14 tile over ${densest.name}: ${communeMedian} bytes`);
  noProblems(problems);
  await context.close();
});

test("planner mode: a commune's NTM scorecard, its evidence on the map, and its dossier moved by each role", async () => {
  const tokens = JSON.parse(process.env.AGRIMAP_TOKENS || 'null');
  assert.ok(tokens, 'AGRIMAP_TOKENS is not set (tests/browser.rs sets it)');
  const { context, page, problems } = await open('/?style=planner', LAPTOP);
  let answers = [];
  page.on('dialog', (d) => d.accept(answers.shift() ?? ''));
  const state = () => page.evaluate(() => document.querySelector('#sheet .ntm-head')?.dataset.state);
  const waitState = (s) => page.waitForFunction((want) => document.querySelector('#sheet .ntm-head')?.dataset.state === want, s);
  const expand = (criterion) => page.evaluate((c) => { document.querySelector(`#sheet details[data-criterion="${c}"]`).open = true; }, criterion);

  // The commune's sheet asks for a token first, and then shows its scorecard.
  await page.fill('#q', 'my xuong');
  await page.locator('#results [role=option]').first().waitFor();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.locator('#sheet [data-section="ntm"] #ntm-token').waitFor();
  await page.fill('#ntm-token', tokens.editor);
  await page.click('#ntm-token-use');
  await waitState('draft');
  const card = await (await fetch(`${BASE}/api/ntm/scorecards/${MY_XUONG.code}?year=2025&boundary_set=pre-2025`,
    { headers: { authorization: 'Bearer ' + tokens.planner } })).json();
  assert.equal(await page.textContent('#sheet .ntm-head'),
    `${card.criteria_met}/19 tiêu chí đạt · 2025 · Hồ sơ: Đang lập`);
  assert.equal(await page.locator('#sheet details[data-criterion]').count(), 19);

  // An evidence item zooms the map to its features.
  await expand('13');
  const ocop = card.criteria[12].indicators.find((i) => i.id === '13.2').computed.evidence[0];
  await page.locator('#sheet [data-indicator="13.2"] .ntm-evidence').first().click();
  await page.waitForFunction(() => !window.agrimap.map.isMoving());
  const bounds = await page.evaluate(() => window.agrimap.map.getBounds().toArray());
  assert.ok(bounds[0][0] <= ocop.bbox[0] && bounds[0][1] <= ocop.bbox[1] && bounds[1][0] >= ocop.bbox[2]
    && bounds[1][1] >= ocop.bbox[3], `the map ${bounds} does not show ${ocop.bbox}`);

  // The editor enters a value and submits the dossier.
  await expand('1');
  answers = ['có'];
  await page.click('#sheet [data-indicator="1.1"] .ntm-enter');
  await page.waitForFunction(() => document.querySelector('#sheet [data-indicator="1.1"]')?.dataset.verdict === 'met');
  await page.click('#sheet .ntm-actions [data-to="submitted"]');
  await waitState('submitted');
  assert.equal(await page.locator('#sheet .ntm-enter').count(), 0);

  // A planner of the province returns it, with reasons; in English the states read in English.
  await page.evaluate((t) => sessionStorage.setItem('agrimap.token', t), tokens.planner);
  await page.click('#commune-summary');
  await waitState('submitted');
  assert.deepEqual(await page.$$eval('#sheet .ntm-actions button', (bs) => bs.map((b) => b.dataset.to)), ['appraised', 'returned']);
  answers = ['Thiếu biên bản tiêu chí 3'];
  await page.click('#sheet .ntm-actions [data-to="returned"]');
  await waitState('returned');
  await shot(page, 'laptop-ntm-scorecard');
  await page.click('#lang');
  await page.waitForFunction(() => /criteria met/.test(document.querySelector('#sheet .ntm-head')?.textContent || ''));
  assert.match(await page.textContent('#sheet .ntm-head'), /Dossier: Returned$/);
  const history = await (await fetch(`${BASE}/api/ntm/dossiers/${MY_XUONG.code}/2025/history?boundary_set=pre-2025`,
    { headers: { authorization: 'Bearer ' + tokens.planner } })).json();
  assert.deepEqual(history.changes.map((c) => c.kind === 'move' ? c.what.to : 'entry ' + c.what.indicator),
    ['entry 1.1', 'submitted', 'returned']);
  assert.equal(await state(), 'returned');
  noProblems(problems);
  await context.close();
});

test('a new alarm reaches the open map live, as a count on a badge', async () => {
  const tokens = JSON.parse(process.env.AGRIMAP_TOKENS || 'null');
  assert.ok(tokens, 'AGRIMAP_TOKENS is not set (tests/browser.rs sets it)');
  const { context, page, problems } = await open('/', PHONE, {});
  // The feed is open: from here on the server sends every new event.
  await page.waitForFunction(() => window.agrimap.alertFeed && window.agrimap.alertFeed.readyState === 1);
  assert.equal(await page.isHidden('#alerts-badge'), true, 'no badge before any alert');
  // WQ-02 is normal in the demo; 6 ppt of salt a minute ago is an alarm.
  const time = new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const sent = await fetch(`${BASE}/api/stations/WQ-02/readings`, {
    method: 'POST',
    headers: { authorization: 'Bearer ' + tokens.editor, 'content-type': 'application/json' },
    body: JSON.stringify([{ parameter: 'salinity', value: 6.0, unit: 'ppt', time }]),
  });
  const answer = await sent.text();
  assert.equal(sent.status, 200, answer);
  assert.equal(JSON.parse(answer).alert_state, 'alarm');
  await page.locator('#alerts-badge[data-count="1"]').waitFor();
  const title = await page.getAttribute('#alerts-badge', 'title');
  assert.match(title, /WQ-02 — Báo động/);
  await page.click('#alerts-badge');
  await page.locator('#alerts-badge').waitFor({ state: 'hidden' });
  noProblems(problems);
  await context.close();
});

// The public product page (/t/{id}) as a consumer's phone opens it after
// scanning a QR code: Debian's Chromium, headless, a phone viewport, the
// Chrome DevTools "Fast 3G" preset, cache disabled. Asserted: one request,
// its bytes on the wire under 60 kB, no script, the page's facts in
// Vietnamese and (after the switch) in English, and no console error.
// The load time is printed and saved (product-wire.json), never asserted.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const BASE = (process.env.AGRIMAP_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = resolve(process.env.AGRIMAP_ARTIFACTS || join(dirname(fileURLToPath(import.meta.url)), '../../target/browser'));
const PHONE = { width: 390, height: 844 };
const PRODUCT = process.env.AGRIMAP_PRODUCT || 'SP-99-0001';

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

test('the product page on a phone over Fast 3G', async () => {
  const context = await browser.newContext({ viewport: PHONE, locale: 'vi-VN', isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 562.5,
    downloadThroughput: (1.6 * 1024 * 1024 / 8) * 0.9,
    uploadThroughput: (750 * 1024 / 8) * 0.9,
  });
  const requests = [];
  page.on('requestfinished', (request) => {
    requests.push((async () => {
      const sizes = await request.sizes();
      return { url: request.url(), bytes: Math.max(0, sizes.responseBodySize) + Math.max(0, sizes.responseHeadersSize) };
    })());
  });
  const started = Date.now();
  const response = await page.goto(`${BASE}/t/${PRODUCT}`, { waitUntil: 'load' });
  const loaded = Date.now() - started;
  assert.equal(response.status(), 200);
  const timing = await page.evaluate(() => {
    const [nav] = performance.getEntriesByType('navigation');
    return { response_end_ms: Math.round(nav.responseEnd), dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd), load_ms: Math.round(nav.loadEventEnd) };
  });
  const all = await Promise.all(requests);
  const bytes = all.reduce((n, r) => n + r.bytes, 0);
  const text = await page.textContent('main');
  await page.screenshot({ path: join(ARTIFACTS, 'product-phone.png'), fullPage: true });
  assert.equal(all.length, 1, `one request: ${all.map((r) => r.url).join(', ')}`);
  assert.ok(bytes < 60 * 1024, `${bytes} bytes on the wire`);
  assert.equal(await page.locator('script').count(), 0);
  assert.match(text, /Mã số vùng trồng/);
  assert.match(text, /VN-PS[A-Z]{2}-\d{4}/);
  assert.ok(await page.locator('main svg').count() >= 1, 'a map of the growing area');

  await page.click('nav a');
  await page.waitForLoadState('load');
  assert.match(await page.textContent('main'), /Growing-area codes/);
  assert.deepEqual(problems, []);
  const figures = { product: PRODUCT, viewport: PHONE, network: 'Fast 3G (562.5 ms, 1.44 Mbit/s down)', bytes, requests: all.length, wall_ms: loaded, ...timing };
  writeFileSync(join(ARTIFACTS, 'product-wire.json'), JSON.stringify(figures, null, 2) + '\n');
  console.log('product page: ' + JSON.stringify(figures));
  await context.close();
});

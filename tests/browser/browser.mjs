// What every browser test file shares: headless Debian Chromium, pages whose script errors fail
// the test, and screenshots at a desktop and a phone width saved to target/screenshots/.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { ROOT } from './stack.mjs';

export const SHOTS = path.join(ROOT, 'target', 'screenshots');
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

export async function launch() {
  await mkdir(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/// A page in a browser context of its own (its own cookies); a script error fails the test.
export async function newPage(browser) {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (error) => assert.fail(`script error on ${page.url()}: ${error}`));
  return page;
}

/// Goes to `base + where` and waits until the page script has loaded what it loads.
export async function open(page, base, where) {
  await page.goto(base + where);
  await page.waitForSelector('body[data-ready=true]');
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/// Screenshots of the page now open: `<name>.png` at a desktop width and `<name>-phone.png` at
/// a phone's (390 px, which the page must fit without scrolling sideways); the viewport is
/// restored afterwards.
export async function shots(page, name) {
  const before = page.viewportSize();
  for (const [size, file] of [[DESKTOP, name], [PHONE, `${name}-phone`]]) {
    await page.setViewportSize(size);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= size.width, `${name} fits ${size.width}px: ${width}px wide`);
    await shot(page, file);
  }
  if (before) await page.setViewportSize(before);
}

// The discovery pages in a real browser: the home page's sections and covers, /books filters and
// sorts, /rank/{kind} tabs, a category page, and adding a book to the shelf from its page.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { launch, newPage, open as openAt, shots } from './browser.mjs';
import { startStack } from './stack.mjs';

const READER = { username: `shelver_${Date.now().toString(36)}`, password: 'shelver-password-1' };

let stack;
let browser;
let page;

async function open(where) {
  await openAt(page, stack.base, where);
}

/// Every cover on the page has loaded an image (lazy ones once scrolled to); returns how many.
async function coversLoaded() {
  const covers = page.locator('img.cover');
  const count = await covers.count();
  for (let i = 0; i < count; i += 1) {
    const cover = covers.nth(i);
    await cover.scrollIntoViewIfNeeded();
    const width = await cover.evaluate(async (img) => {
      await img.decode().catch(() => {});
      return img.naturalWidth;
    });
    assert.ok(width > 0, `cover ${await cover.getAttribute('src')} loaded`);
  }
  return count;
}

/// The word counts of the cards listed, in order.
async function wordCounts() {
  const texts = await page.locator('#found ~ ul.cards .card-tags .small').allTextContents();
  return texts.map((t) => Number(t.replace(/\D/g, '')));
}

async function found() {
  return Number((await page.textContent('#found')).replace(/\D/g, ''));
}

before(async () => {
  stack = await startStack();
  browser = await launch();
  page = await newPage(browser);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('discovery pages', () => {
  it('the home page shows every section, with covers that load', async () => {
    await open('/');
    for (const section of ['visits', 'sales', 'new', 'updated']) {
      const books = page.locator(`#section-${section} [data-book-id]`);
      assert.equal(await books.count(), 10, `${section}: ten books`);
    }
    const categories = page.locator('#section-categories li');
    assert.equal(await categories.count(), 7, 'the seven categories');
    assert.match(await categories.first().textContent(), /\d+ books/);
    assert.ok(await coversLoaded() >= 40);
    await shots(page, 'home');
  });

  it('the home search goes to /books with the query', async () => {
    await open('/');
    await page.fill('form.search [name=q]', 'Jade');
    await page.click('form.search [type=submit]');
    await page.waitForURL(`${stack.base}/books?q=Jade`);
    await page.locator('ul.cards').getByRole('link', { name: 'The Jade Pavilion', exact: true }).waitFor();
  });

  it('/books filters narrow the list and the sort changes the order', async () => {
    await open('/books');
    const all = await found();
    assert.ok(all >= 30, `the demo's books: ${all}`);
    await page.selectOption('form.filters [name=book_status]', 'finished');
    await page.click('form.filters [type=submit]');
    await page.waitForURL(/book_status=finished/);
    const finished = await found();
    assert.ok(finished > 0 && finished < all, `${finished} of ${all} finished`);
    const statuses = await page.locator('#found ~ ul.cards .tag[class*=status-]').allTextContents();
    assert.ok(statuses.every((s) => s === 'finished'), statuses.join());
    assert.equal(await page.inputValue('form.filters [name=book_status]'), 'finished', 'the form keeps its choice');

    await page.selectOption('form.filters [name=sort]', 'words');
    await page.click('form.filters [type=submit]');
    await page.waitForURL(/sort=words/);
    const words = await wordCounts();
    assert.deepEqual(words, [...words].sort((a, b) => b - a), 'most words first');
    await page.selectOption('form.filters [name=sort]', 'new');
    await page.click('form.filters [type=submit]');
    await page.waitForURL(/sort=new/);
    assert.notDeepEqual(await wordCounts(), words, 'another order');
    await shots(page, 'books');

    await page.fill('form.filters [name=min_words]', '9');
    await page.fill('form.filters [name=max_words]', '1');
    await page.click('form.filters [type=submit]');
    await page.getByRole('heading', { name: 'Bad request' }).waitFor();
    await page.getByText('max_words: not below min_words').waitFor();
  });

  it('/rank/{kind} tabs switch the ranking and the category', async () => {
    await open('/rank/visits');
    await page.getByRole('heading', { name: 'Most read' }).waitFor();
    const tabs = page.getByRole('navigation', { name: 'Rankings' });
    await tabs.getByRole('link', { name: 'Best selling' }).click();
    await page.waitForURL(`${stack.base}/rank/sales`);
    assert.equal(await tabs.locator('[aria-current=page]').textContent(), 'Best selling');
    const sold = await page.locator('.ranking .figure').allTextContents();
    const counts = sold.map((s) => Number(s.replace(/\D/g, '')));
    assert.deepEqual(counts, [...counts].sort((a, b) => b - a), 'best selling first');
    const scopes = page.getByRole('navigation', { name: 'Categories' });
    const name = await scopes.locator('a').nth(1).textContent();
    await scopes.locator('a').nth(1).click();
    await page.waitForURL(/\/rank\/sales\?category_id=\d+$/);
    await page.getByRole('heading', { name: `Best selling in ${name}` }).waitFor();
    const rows = await page.locator('.ranking .rank-text .small').allTextContents();
    assert.ok(rows.length > 0 && rows.every((r) => r.endsWith(`· ${name}`)), rows.join('|'));
    await tabs.getByRole('link', { name: 'Newest' }).click();
    await page.waitForURL(/\/rank\/new\?category_id=\d+$/);
    await coversLoaded();
    await shots(page, 'rank');
  });

  it('a category page lists its books with a sort and its ranking', async () => {
    await open('/');
    const link = page.locator('#section-categories li a').first();
    const name = await link.locator('.category-name').textContent();
    await link.click();
    await page.waitForURL(/\/category\/\d+$/);
    await page.locator('h1', { hasText: name }).waitFor();
    const tags = await page.locator('ul.cards .tag.category').allTextContents();
    assert.ok(tags.length > 0 && tags.every((t) => t === name), tags.join('|'));
    await page.getByRole('navigation', { name: 'Sort' }).getByRole('link', { name: 'Most words' }).click();
    await page.waitForURL(/\?sort=words$/);
    const words = (await page.locator('ul.cards .card-tags .small').allTextContents()).map((t) => Number(t.replace(/\D/g, '')));
    assert.deepEqual(words, [...words].sort((a, b) => b - a));
    assert.ok(await page.locator('aside .ranking li').count() > 0, 'its ranking');
    await coversLoaded();
    await shots(page, 'category');
  });

  it('a signed-in reader adds a book to the shelf from its page', async () => {
    await open('/books?q=Jade');
    await page.locator('ul.cards').getByRole('link', { name: 'The Jade Pavilion', exact: true }).click();
    await page.waitForSelector('body[data-ready=true]');
    await page.getByRole('link', { name: 'Sign in to add it to your shelf' }).waitFor();
    await page.getByRole('link', { name: 'Start reading' }).waitFor();
    assert.ok(await page.locator('.description p').count() > 0, 'the description');
    const bookPath = new URL(page.url()).pathname;

    await open(`/register?next=${bookPath}`);
    await page.fill('form[data-action=register] [name=username]', READER.username);
    await page.fill('form[data-action=register] [name=password]', READER.password);
    await page.click('form[data-action=register] [type=submit]');
    await page.waitForURL(`${stack.base}${bookPath}`);
    await page.waitForSelector('body[data-ready=true]');
    await page.getByRole('button', { name: 'Add to shelf' }).click();
    await page.getByRole('link', { name: 'On your shelf ✓' }).waitFor();
    await page.getByText('Added to your shelf.').waitFor();
    const shelf = await page.evaluate(async () => (await fetch('/api/me/shelf')).json());
    assert.deepEqual(shelf.items.map((b) => b.book_name), ['The Jade Pavilion']);
    await page.reload();
    await page.waitForSelector('body[data-ready=true]');
    await page.getByRole('link', { name: 'On your shelf ✓' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Add to shelf' }).count(), 0);
    await coversLoaded();
    await shots(page, 'book-details');
  });
});

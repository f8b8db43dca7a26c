// The reader's own pages (shelf, history, the reading page's shelf button) and the author's desk
// (book details, cover, chapter editing) in a real browser, against the web tier and a worker.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync, crc32 } from 'node:zlib';

import { launch, newPage, shots } from './browser.mjs';
import { startStack } from './stack.mjs';

const BOOK = '星河剑主';
const DESCRIPTION = 'A jade pavilion, a river, and a guest who never leaves: edited in the browser.';

let stack;
let browser;

/// Goes to `where` and waits until the page script has loaded what it loads.
async function open(page, where) {
  await page.goto(stack.base + where);
  await page.waitForSelector('body[data-ready=true]');
}

/// A `width`×`height` opaque RGB PNG with a gradient, made here so the test needs no file.
function png(width, height) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const framed = Buffer.alloc(body.length + 8);
    framed.writeUInt32BE(data.length, 0);
    body.copy(framed, 4);
    framed.writeUInt32BE(crc32(body), body.length + 4);
    return framed;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per channel
  header[9] = 2; // RGB
  const rows = [];
  for (let y = 0; y < height; y += 1) {
    rows.push(0); // no filter
    for (let x = 0; x < width; x += 1) rows.push(40 + ((x * 3) % 200), 90, 120 + (y % 120));
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header), chunk('IDAT', deflateSync(Buffer.from(rows))), chunk('IEND', Buffer.alloc(0))]);
}

/// Opens `/shelf` again every 250 ms until its first book says `text` (at most 5 s).
async function shelfShows(page, text) {
  const deadline = Date.now() + 5000;
  for (;;) {
    await open(page, '/shelf');
    const item = (await page.locator('.shelf-item').first().textContent()) ?? '';
    if (item.includes(text)) return;
    assert.ok(Date.now() < deadline, `the shelf shows "${text}" within 5 s: ${item}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

before(async () => {
  stack = await startStack();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('my shelf, my history and the author desk', () => {
  it('a reader shelves a book from the reading page; the shelf follows their reading, /me lists it, Remove takes it off', async () => {
    const reader = await newPage(browser);
    await open(reader, '/register');
    await reader.fill('form[data-action=register] [name=username]', `shelver_${Date.now().toString(36)}`);
    await reader.fill('form[data-action=register] [name=password]', 'shelver-password-1');
    await reader.click('form[data-action=register] [type=submit]');
    await reader.waitForURL(`${stack.base}/`);
    await reader.getByRole('link', { name: 'Shelf', exact: true }).waitFor();

    // The home page shows a book in several sections: find it through the search.
    await open(reader, `/books?q=${encodeURIComponent(BOOK)}`);
    await reader.locator('.book-card').getByRole('link', { name: BOOK, exact: true }).first().click();
    await reader.waitForSelector('ol.chapters');
    const total = await reader.locator('li.chapter-row').count();
    const [first, second] = await reader.$$eval('li.chapter-row:not(.locked) a',
      (links) => links.map((a) => ({ href: a.getAttribute('href'), name: a.textContent.trim() })));

    await open(reader, first.href);
    await reader.getByRole('button', { name: 'Add to shelf' }).click();
    await reader.getByRole('link', { name: 'On your shelf' }).waitFor();
    await shots(reader, 'chapter-shelf');
    await open(reader, first.href);
    await reader.getByRole('link', { name: 'On your shelf' }).waitFor();

    await open(reader, second.href);
    await shelfShows(reader, `Continue: ${second.name}`);
    const item = reader.locator('.shelf-item').first();
    assert.equal(await item.locator('.book-title').textContent(), BOOK);
    assert.equal(await item.locator('.tag.unread').textContent(), `${total - 2} unread`);
    assert.equal(await item.locator('a.continue').getAttribute('href'), second.href);
    assert.match(await item.locator('img').getAttribute('src'), /^\/covers\//);
    await shots(reader, 'shelf');

    await open(reader, '/me');
    const row = reader.locator('#history-list tbody tr').first();
    assert.equal(await row.locator('td').first().textContent(), BOOK);
    assert.equal(await row.getByRole('link', { name: second.name }).getAttribute('href'), second.href);
    await shots(reader, 'me-history');

    await open(reader, '/shelf');
    await reader.getByRole('button', { name: 'Remove' }).click();
    await reader.locator('#flash', { hasText: `${BOOK} is off your shelf.` }).waitFor();
    assert.equal(await reader.locator('.shelf-item').count(), 0);
    await open(reader, '/shelf');
    await reader.getByText('Your shelf is empty').waitFor();
    await reader.context().close();
  });

  it("an author edits a book's details, uploads a cover and rewrites a VIP chapter, which gets a new price", async () => {
    const author = await newPage(browser);
    await open(author, '/login?next=/author');
    await author.fill('[name=username]', 'ink_river');
    await author.fill('[name=password]', 'demo-password');
    await author.click('form[data-action=login] [type=submit]');
    await author.waitForURL(`${stack.base}/author`);
    await author.locator('#my-books tr', { hasText: 'The Jade Pavilion' }).getByRole('link', { name: 'Edit' }).click();
    await author.waitForURL(/\/author\?book=\d+#edit-book$/);
    await author.waitForSelector('body[data-ready=true]');
    const bookId = new URL(author.url()).searchParams.get('book');
    const book = async () => (await author.request.get(`${stack.base}/api/books/${bookId}`)).json();

    const details = author.locator('form[data-action=edit-book]');
    const category = details.locator('[name=category_id]');
    const was = await category.inputValue();
    const other = (await category.locator('option').evaluateAll((options) => options.map((o) => o.value)))
      .find((value) => value && value !== was);
    await details.locator('[name=description]').fill(DESCRIPTION);
    await category.selectOption(other);
    await details.locator('[name=book_status]').selectOption('finished');
    await details.getByRole('button', { name: 'Save details' }).click();
    await author.locator('#flash', { hasText: 'Book details saved.' }).waitFor();
    assert.equal(await details.locator('[name=description]').inputValue(), DESCRIPTION, 'rendered again');
    assert.equal(await category.inputValue(), other);
    const saved = await book();
    assert.deepEqual([saved.description, saved.category_id, saved.book_status], [DESCRIPTION, other, 'finished']);

    const cover = author.locator('form[data-action=upload-cover]');
    await cover.locator('[name=cover]').setInputFiles({ name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('not an image') });
    await cover.getByRole('button', { name: 'Upload cover' }).click();
    await author.locator('#cover-status.error').waitFor();
    await cover.locator('[name=cover]').setInputFiles({ name: 'cover.png', mimeType: 'image/png', buffer: png(90, 120) });
    await cover.getByRole('button', { name: 'Upload cover' }).click();
    await author.locator('#cover-status', { hasText: 'Cover saved.' }).waitFor();
    const src = await author.getAttribute('#cover-preview', 'src');
    assert.match(src, /^\/covers\/[^/]+\.(png|jpg)$/);
    await author.waitForFunction(() => document.getElementById('cover-preview').naturalWidth === 90);
    assert.equal((await book()).cover_url, src, "the book's cover is the uploaded one");
    const desk = author.url();
    await open(author, `/book/${bookId}`);
    await author.locator('section.description', { hasText: DESCRIPTION.split('\n')[0] }).waitFor();
    assert.equal(await author.getAttribute('.book-head img.cover', 'src'), src, 'the book page shows it');
    await author.goto(desk);

    const vip = author.locator('li.chapter-edit', { has: author.locator('.tag.vip') }).first();
    const indexId = await vip.getAttribute('data-index-id');
    const chapter = author.locator(`li.chapter-edit[data-index-id="${indexId}"]`);
    const price = async () => Number((await chapter.locator('.price').textContent()).match(/(\d+) coins/)[1]);
    const before = await price();
    assert.equal(await chapter.locator('form').isVisible(), false, 'closed until Edit');
    await chapter.getByRole('button', { name: 'Edit' }).click();
    const text = chapter.locator('[name=content]');
    await author.waitForFunction((area) => area.value.length > 0, await text.elementHandle());
    await text.fill(`${await text.inputValue()}\n\n${'The guest stayed another night, and another. '.repeat(150)}`);
    await shots(author, 'author-desk');
    await chapter.getByRole('button', { name: 'Save chapter' }).click();
    const flash = author.locator('#flash', { hasText: /^Chapter saved: VIP, priced \d+ coins\.$/ });
    await flash.waitFor();
    const after = await price();
    assert.ok(after > before, `the price follows the longer text: ${before} → ${after}`);
    assert.equal(await flash.textContent(), `Chapter saved: VIP, priced ${after} coins.`);
    await author.context().close();
  });
});

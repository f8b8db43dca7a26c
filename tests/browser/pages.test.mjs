// The pages in a real browser: headless Debian Chromium against the real web tier and a worker.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { PHONE, launch, newPage as pageIn, open as openAt, shot, shots } from './browser.mjs';
import { ADMIN, startStack } from './stack.mjs';

const READER = { username: `reader_${Date.now().toString(36)}`, password: 'reader-password-1' };
const PAYER = { username: `payer_${Date.now().toString(36)}`, password: 'payer-password-1' };
const WATCHER = { username: `watcher_${Date.now().toString(36)}`, password: 'watcher-password-1' };
const AUTHOR = { username: 'ink_river', password: 'demo-password' };
const EVIL = '<script>window.__pwned = 1</script> Evil Title';

let stack;
let browser;
let reader; // the reader's page, signed in through the register form
let admin; // the admin's page, in a browser context of its own

/// Goes to `path` and waits until the page script has loaded what it loads.
async function open(page, where) {
  await openAt(page, stack.base, where);
}

/// The book page of the demo book `title`, found through the search.
async function openBook(page, title) {
  await open(page, `/books?q=${encodeURIComponent(title)}`);
  await page.locator('ul.cards').getByRole('link', { name: title, exact: true }).click();
  await page.waitForSelector('ol.chapters');
}

/// Signs the admin in through the login form, opened as `/login?next=<next>`.
async function signInAdmin(page, next) {
  await open(page, `/login?next=${next}`);
  await page.fill('[name=username]', ADMIN.username);
  await page.fill('[name=password]', ADMIN.password);
  await page.click('form[data-action=login] [type=submit]');
}

/// The first VIP chapter of the demo book `title`, as `/book/{id}/{index}` paths in order.
async function vipChapters(page, title) {
  await openBook(page, title);
  return page.$$eval('li.chapter-row.locked a', (links) => links.map((a) => a.getAttribute('href')));
}

before(async () => {
  stack = await startStack();
  browser = await launch();
  reader = await newPage();
  admin = await newPage();
});

function newPage() {
  return pageIn(browser);
}

/// Signs `who` in through the API; their bearer token.
async function token(who) {
  const response = await fetch(`${stack.base}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(who),
  });
  assert.equal(response.status, 200);
  return (await response.json()).token;
}

/// A JSON API call with a bearer token; the answer's body.
async function call(bearer, method, path, body) {
  const response = await fetch(stack.base + path, {
    method,
    headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, `${method} ${path}: ${await response.clone().text()}`);
  return response.json();
}

after(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('reader, author and admin pages', () => {
  it('the catalog lists the published demo books', async () => {
    await open(reader, '/books');
    await reader.getByRole('link', { name: 'The Jade Pavilion', exact: true }).waitFor();
  });

  it('the demo site shows Chinese books, and their chapters read in Chinese', async () => {
    const page = await newPage();
    await openBook(page, '星河剑主');
    await page.locator('h1', { hasText: '星河剑主' }).waitFor();
    await shots(page, 'book');
    await page.locator('li.chapter-row:not(.locked) a').first().click();
    await page.waitForSelector('body[data-ready=true]');
    const text = await page.textContent('#content');
    assert.match(text, /[\u4e00-\u9fff]{12}/, 'a run of Chinese characters');
    assert.match(await page.textContent('h1'), /^第1章 /);
    await shots(page, 'chapter-zh');
    await page.context().close();
  });

  it('the reader settings (text size, theme) persist across a reload and a navigation, applied before paint', async () => {
    const page = await newPage();
    await openBook(page, '星河剑主');
    const [first, second] = await page.$$eval('li.chapter-row:not(.locked) a', (links) => links.map((a) => a.getAttribute('href')));
    await open(page, first);
    const fontSize = () => page.$eval('#content', (c) => getComputedStyle(c).fontSize);
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(await fontSize(), '18px');
    const light = await background();
    await page.getByRole('button', { name: 'Larger text' }).click();
    await page.getByRole('button', { name: 'Larger text' }).click();
    await page.getByRole('button', { name: 'Dark' }).click();
    assert.equal(await fontSize(), '22px');
    assert.equal(await page.textContent('#font-size'), '22px');
    const dark = await background();
    assert.notEqual(dark, light);
    assert.equal(await page.getAttribute('button[data-theme=dark]', 'aria-pressed'), 'true');

    await page.reload();
    await page.waitForSelector('body[data-ready=true]');
    assert.deepEqual([await fontSize(), await background()], ['22px', dark], 'kept across a reload');
    assert.equal(await page.getAttribute('button[data-theme=dark]', 'aria-pressed'), 'true');

    // With app.js held back, the next chapter is already dark and large when its text is parsed.
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await page.route('**/static/app.js', async (route) => { await held; await route.continue(); });
    await page.goto(stack.base + second, { waitUntil: 'commit' });
    await page.waitForSelector('#content');
    assert.deepEqual([await fontSize(), await background()], ['22px', dark], 'applied before the page script');
    release();
    await page.waitForSelector('body[data-ready=true]');
    await page.unroute('**/static/app.js');
    await shots(page, 'chapter-dark');

    await page.getByRole('button', { name: 'Smaller text' }).click();
    await page.getByRole('button', { name: 'Sepia' }).click();
    await open(page, first);
    assert.equal(await fontSize(), '20px');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'sepia');
    await shots(page, 'chapter-sepia');
    await page.getByRole('button', { name: 'Light' }).click();
    assert.equal(await background(), light);
    await page.context().close();
  });

  it('a visitor signs up through the register page and is signed in', async () => {
    await open(reader, '/register');
    await reader.fill('form[data-action=register] [name=username]', READER.username);
    await reader.fill('form[data-action=register] [name=password]', READER.password);
    await reader.click('form[data-action=register] [type=submit]');
    await reader.waitForURL(`${stack.base}/`);
    await reader.getByRole('link', { name: READER.username }).waitFor();
  });

  it('buying without coins says so in words', async () => {
    const [first] = await vipChapters(reader, 'The Jade Pavilion');
    await open(reader, first);
    await reader.click('button[data-action=buy]');
    await reader.getByText('Not enough coins').waitFor();
  });

  it('an admin credits the reader from the admin page', async () => {
    await signInAdmin(admin, '/admin');
    await admin.waitForURL(`${stack.base}/admin`);
    await admin.waitForSelector('body[data-ready=true]');
    await admin.fill('form[data-action=find-users] [name=q]', READER.username);
    await admin.click('form[data-action=find-users] [type=submit]');
    // The search's answer replaces the first list, in which the reader's row already is.
    await admin.waitForFunction(() => document.querySelectorAll('#users tbody tr').length === 1);
    const row = admin.locator(`#users tr[data-username="${READER.username}"]`);
    await row.locator('[name=amount]').fill('100');
    await row.locator('[name=note]').fill('welcome coins');
    await row.getByRole('button', { name: 'Credit' }).click();
    await row.locator('.balance-cell', { hasText: '100' }).waitFor();
    await admin.locator(`#sessions tr[data-account="${READER.username}"]`).waitFor();
    await shot(admin, 'admin');
  });

  it('the reader buys a VIP chapter and its text appears', async () => {
    const [first] = await vipChapters(reader, 'The Jade Pavilion');
    await open(reader, first);
    await reader.click('button[data-action=buy]');
    await reader.locator('#content').waitFor();
    assert.match(await reader.textContent('#content'), /lamps of the city/);
    await reader.getByText('Chapter bought').waitFor();
    await shots(reader, 'chapter');
  });

  it('the reader buys the next chapters as a batch', async () => {
    const locked = await vipChapters(reader, 'The Jade Pavilion');
    assert.equal(locked.length, 2, 'chapters 5 and 6 are still for sale');
    await open(reader, locked[0]);
    await reader.fill('form[data-action=buy-batch] [name=count]', '2');
    await reader.click('form[data-action=buy-batch] [type=submit]');
    await reader.locator('#content').waitFor();
    await reader.getByText('Bought 2 chapters').waitFor();
    assert.deepEqual(await vipChapters(reader, 'The Jade Pavilion'), []);
    assert.equal(await reader.locator('.tag.owned').count(), 3);
  });

  it('the reader follows an author and sees the author on my account page', async () => {
    await vipChapters(reader, 'Nine Moons Over Lanzhou');
    await reader.waitForSelector('body[data-ready=true]');
    await reader.getByRole('button', { name: 'Follow author' }).click();
    await reader.getByRole('button', { name: /Following/ }).waitFor();
    await open(reader, '/me');
    await reader.locator('#follows', { hasText: 'Ink River' }).waitFor();
    await reader.locator('.balance', { hasText: '85' }).waitFor();
  });

  it('a new reader buys coins in the sandbox, lands on my account with them and buys a chapter', async () => {
    const payer = await newPage();
    await payer.goto(`${stack.base}/recharge`);
    await payer.waitForURL(`${stack.base}/login?next=/recharge`);
    await payer.click('main a[href^="/register"]');
    await payer.waitForURL((url) => url.pathname === '/register' && url.searchParams.get('next') === '/recharge');
    await payer.fill('form[data-action=register] [name=username]', PAYER.username);
    await payer.fill('form[data-action=register] [name=password]', PAYER.password);
    await payer.click('form[data-action=register] [type=submit]');
    await payer.waitForURL(`${stack.base}/recharge`);
    await payer.waitForSelector('body[data-ready=true]');
    await shot(payer, 'recharge');
    // 3000 coins + 100 bonus for CNY 30.00; a double click opens one order.
    await payer.locator('li.package', { hasText: 'CNY 30.00' }).getByRole('button', { name: 'Buy' }).dblclick();
    await payer.waitForURL(new RegExp(`^${stack.base}/pay/sandbox/\\d+$`));
    await payer.getByText('Test payment page').waitFor();
    await shot(payer, 'sandbox-checkout');
    const checkout = payer.url();
    await payer.getByRole('button', { name: 'Pay CNY 30.00' }).click();
    await payer.waitForURL(`${stack.base}/me`);
    await payer.locator('#balance', { hasText: /^3100$/ }).waitFor();
    const orders = payer.locator('#order-list tbody tr');
    assert.equal(await orders.count(), 1, 'one order');
    assert.equal(await orders.first().getAttribute('data-status'), 'paid');
    assert.match(await orders.first().textContent(), /3000 \+ 100 bonus[\s\S]*CNY 30\.00/);
    await shot(payer, 'me-orders');

    const [first] = await vipChapters(payer, 'Coins of the Western Market');
    await open(payer, first);
    await payer.click('button[data-action=buy]');
    await payer.locator('#content').waitFor();
    assert.match(await payer.textContent('#content'), /lamps of the city/);

    await payer.setViewportSize(PHONE);
    for (const [where, name] of [['/recharge', 'recharge-phone'], [new URL(checkout).pathname, 'sandbox-phone'], ['/me', 'me-phone']]) {
      await open(payer, where);
      const width = await payer.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= PHONE.width, `${where} fits a phone: ${width}px wide`);
      await shot(payer, name);
    }
    await payer.context().close();
  });

  it('the admin folds the income and the author sees the sales on the income chart', async () => {
    await open(admin, '/admin');
    await admin.getByRole('button', { name: "Fold today's income now" }).click();
    await admin.getByText("Today's income folded.").waitFor();
    const spent = admin.locator('#coins rect.spent title', { hasText: /spent: [1-9]/ });
    assert.equal(await spent.count(), 1, 'today has a bar of coins spent');
    const recharged = admin.locator('#coins rect.recharged title', { hasText: /recharged: 3100/ });
    assert.equal(await recharged.count(), 1, "today's bar of coins recharged holds the paid order");
    await admin.fill('form[data-action=find-orders] [name=q]', PAYER.username);
    await admin.selectOption('form[data-action=find-orders] [name=status]', 'paid');
    await admin.click('form[data-action=find-orders] [type=submit]');
    const order = admin.locator(`#orders tr[data-username="${PAYER.username}"]`);
    await order.locator('td', { hasText: 'CNY 30.00' }).waitFor();
    assert.equal(await admin.locator('#orders tbody tr').count(), 1, "the payer's one paid order");
    await shot(admin, 'admin-coins');
    const author = await newPage();
    await open(author, '/login?next=/author');
    await author.fill('[name=username]', 'ink_river');
    await author.fill('[name=password]', 'demo-password');
    await author.click('form[data-action=login] [type=submit]');
    await author.waitForURL(`${stack.base}/author`);
    const row = author.locator('#income-books tbody tr', { hasText: 'The Jade Pavilion' });
    assert.equal(await row.locator('td').nth(1).textContent(), '3', 'three chapters sold');
    assert.equal(await author.locator('#income rect.earned title', { hasText: /net coins: [1-9]/ }).count(), 1);
    await shot(author, 'author-income');
    await author.context().close();
  });

  it('a book titled with a script tag is shown as text, and no script runs', async () => {
    await open(reader, '/author');
    await reader.fill('[name=pen_name]', 'Careful Writer');
    await reader.click('form[data-action=become-author] [type=submit]');
    await reader.waitForSelector('#my-books');
    await reader.waitForSelector('body[data-ready=true]');
    await createBookThroughTheAuthorPage(reader);
    await open(reader, '/books?q=Evil');
    await reader.getByText(EVIL, { exact: true }).waitFor();
    assert.equal(await reader.evaluate(() => window.__pwned), undefined);
    assert.equal(await reader.locator('.book-title script').count(), 0);
  });

  it('after an admin freezes the reader, the next click shows the frozen message', async () => {
    await open(reader, '/');
    await open(admin, '/admin');
    const row = admin.locator(`#sessions tr[data-account="${READER.username}"]`);
    await row.getByRole('button', { name: 'Freeze' }).click();
    await row.getByRole('button', { name: 'Unfreeze' }).waitFor();
    await reader.click('button[data-action=logout]');
    await reader.locator('#flash', { hasText: 'frozen by an administrator' }).waitFor();
    const response = await reader.goto(`${stack.base}/me`);
    assert.equal(response.status(), 403);
    await reader.getByRole('heading', { name: 'Session frozen' }).waitFor();
  });

  it('unknown pages get the HTML 404 page', async () => {
    const response = await admin.goto(`${stack.base}/no/such/page`);
    assert.equal(response.status(), 404);
    await admin.getByRole('heading', { name: 'Page not found' }).waitFor();
  });

  it('signing in with a next that leaves the site lands on the home page', async () => {
    await signInAdmin(admin, '/%5Cevil.invalid');
    await admin.waitForURL(`${stack.base}/`);
  });
  it('a price raised after the reading page opened is not charged; after a reload the reader buys at the new price', async () => {
    const watcher = await newPage();
    await open(watcher, '/register');
    await watcher.fill('form[data-action=register] [name=username]', WATCHER.username);
    await watcher.fill('form[data-action=register] [name=password]', WATCHER.password);
    await watcher.click('form[data-action=register] [type=submit]');
    await watcher.waitForURL(`${stack.base}/`);
    const me = async () => (await watcher.request.get(`${stack.base}/api/me`)).json();
    await call(await token(ADMIN), 'POST', `/api/admin/users/${(await me()).id}/credit`, { amount: 1000 });
    assert.equal((await me()).balance, 1000);

    const [chapter] = await vipChapters(watcher, 'Nine Moons Over Lanzhou');
    const [, bookId, indexId] = chapter.match(/^\/book\/(\d+)\/(\d+)$/);
    await open(watcher, chapter);
    const buy = watcher.locator('button[data-action=buy]');
    const shown = Number(await buy.getAttribute('data-price'));
    assert.match(await watcher.textContent('#buy'), new RegExp(`${shown} coins`));

    // The author makes the chapter longer while the reader looks at its price.
    const { price } = await call(await token(AUTHOR), 'PATCH', `/api/author/books/${bookId}/chapters/${indexId}`,
      { content: 'The guest stayed another night, and another. '.repeat(300) });
    assert.ok(price > shown, `the longer text costs more: ${shown} → ${price}`);

    await buy.click();
    await watcher.locator('#buy-status.error', { hasText: 'The price changed' }).waitFor();
    assert.match(await watcher.textContent('#buy-status'), /nothing was charged\. Reload/);
    assert.equal((await me()).balance, 1000, 'nothing charged');
    assert.equal(await watcher.locator('#content').count(), 0, 'still locked');

    await watcher.reload();
    await watcher.waitForSelector('body[data-ready=true]');
    assert.equal(Number(await buy.getAttribute('data-price')), price, 'the new price is shown');
    await buy.click();
    await watcher.locator('#content').waitFor();
    await watcher.getByText(`Chapter bought: ${price} coins spent, ${1000 - price} left.`).waitFor();
    assert.equal((await me()).balance, 1000 - price);
    await watcher.context().close();
  });
});

/// New book, a chapter, publish: all through the author page.
async function createBookThroughTheAuthorPage(page) {
  await page.fill('form[data-action=new-book] [name=book_name]', EVIL);
  await page.click('form[data-action=new-book] [type=submit]');
  await page.locator('#my-books td', { hasText: EVIL }).waitFor();
  await page.fill('form[data-action=add-chapter] [name=index_name]', 'Chapter 1');
  await page.fill('form[data-action=add-chapter] [name=content]', 'The first words.');
  await page.click('form[data-action=add-chapter] [type=submit]');
  await page.getByText('Chapter added').waitFor();
  await page.click('#my-books button[data-action=publish]');
  await page.locator('#my-books td', { hasText: 'published' }).waitFor();
}

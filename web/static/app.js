// novel's one page script. Every API call goes through api(): it sends the CSRF token on writes,
// keeps the newest token from the X-CSRF-Token response header, and turns errors into words.
'use strict';

let csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const MESSAGES = {
  session_frozen: 'This session is frozen by an administrator: nothing can be done until it is unfrozen.',
  unauthenticated: 'Please sign in first.',
  bad_credentials: 'Wrong username or password.',
  csrf_mismatch: 'This page is out of date: reload it and try again.',
  insufficient_balance: 'Not enough coins.',
  already_bought: 'You already own this chapter.',
  chapter_not_found: 'That chapter no longer exists.',
  not_for_sale: 'That chapter is free: no need to buy it.',
  price_changed: 'The price changed since this page was opened: nothing was charged. Reload the page to see the new price.',
  rate_limited: 'Too many requests: wait a moment and try again.',
  unavailable: 'The service is busy: try again shortly.',
};

function describe(error) {
  return MESSAGES[error.code] || error.message || 'Something went wrong.';
}

/// `body` is sent as JSON, or as it is with its own type when it is a Blob (a chosen file).
async function api(method, path, body, extraHeaders = {}) {
  const headers = { Accept: 'application/json', ...extraHeaders };
  const raw = body instanceof Blob;
  if (raw) headers['Content-Type'] = body.type || 'application/octet-stream';
  else if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined || raw ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'The server could not be reached.');
  }
  const fresh = response.headers.get('X-CSRF-Token');
  if (fresh) csrf = fresh;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data?.error || `http_${response.status}`,
      data?.message || response.statusText);
    if (error.code === 'session_frozen') flash(describe(error));
    throw error;
  }
  return data;
}

/// Polls a job (long-poll) until it ends; a failed job throws its error code.
async function finished(job) {
  const deadline = Date.now() + 60_000;
  let current = job;
  while (current.status === 'queued' || current.status === 'running') {
    if (Date.now() > deadline) {
      throw new ApiError(0, 'timeout', 'The purchase is taking long: check My account shortly.');
    }
    current = await api('GET', `/api/jobs/${encodeURIComponent(job.job_id)}?wait_ms=5000`);
  }
  if (current.status === 'failed') {
    throw new ApiError(200, current.error?.code || 'internal', current.error?.message || 'The purchase failed.');
  }
  return current;
}

function flash(message, ok = false) {
  const box = document.getElementById('flash');
  if (!box) return;
  box.textContent = message;
  box.classList.toggle('ok', ok);
  box.hidden = false;
}

/// A message to show after the reload that follows a change.
function flashAfterReload(message) {
  sessionStorage.setItem('novel.flash', message);
  location.reload();
}

/// Builds an element; string children become text nodes, so nothing is parsed as HTML.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name.startsWith('data-') || name === 'type' || name === 'href' || name === 'name'
      || name === 'placeholder' || name === 'min' || name === 'class') {
      node.setAttribute(name, value);
    } else {
      node[name] = value;
    }
  }
  for (const child of children) node.append(child ?? '');
  return node;
}

function fields(form) {
  const out = {};
  for (const input of form.elements) {
    if (!input.name) continue;
    out[input.name] = input.type === 'checkbox' ? input.checked : input.value;
  }
  return out;
}

function fillTable(table, rows, empty) {
  const body = table.tBodies[0];
  body.replaceChildren(...rows);
  if (!rows.length) body.append(el('tr', {}, el('td', { colSpan: 9, class: 'muted' }, empty)));
}

/// An Idempotency-Key: 128 random bits in hex (crypto.randomUUID needs a secure context).
function newKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)),
    (byte) => byte.toString(16).padStart(2, '0')).join('');
}

const when = (t) => (t ? t.slice(0, 16).replace('T', ' ') : '');

// Where to go after signing in: the server renders a checked `next` into the form; checked again
// here. Only a path of this site: one '/' not followed by '/' or '\' (browsers read both as the
// start of another host) and no control characters (browsers drop tabs and newlines, so
// '/<tab>/evil.com' would be '//evil.com').
function nextPage(form) {
  const next = form.dataset.next || '/';
  return /^\/(?![\/\\])[^\x00-\x1f\x7f-\x9f]*$/.test(next) ? next : '/';
}

// ---- reader ----

async function signIn(form, username, password, rememberMe) {
  await api('POST', '/api/auth/login', { username, password, remember_me: rememberMe });
  location.href = nextPage(form);
}

async function buyStatus(text, isError = false) {
  const line = document.getElementById('buy-status');
  if (!line) return flash(text, !isError);
  line.textContent = text;
  line.classList.toggle('error', isError);
}

// ---- reader settings (the reading page): reader.js applies them before paint ----

const READER = { sizeKey: 'novel.reader.size', themeKey: 'novel.reader.theme', min: 14, max: 28, step: 2, size: 18 };

function readerSize() {
  const size = Number(document.documentElement.dataset.readerSize);
  return Number.isInteger(size) ? size : READER.size;
}

function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage blocked: the setting holds for this page only.
  }
}

function setReaderSize(size) {
  const root = document.documentElement;
  const clamped = Math.min(READER.max, Math.max(READER.min, size));
  root.style.setProperty('--reader-size', `${clamped}px`);
  root.dataset.readerSize = String(clamped);
  store(READER.sizeKey, String(clamped));
  showReaderSettings();
}

function setTheme(theme) {
  const root = document.documentElement;
  if (theme === 'light') delete root.dataset.theme;
  else root.dataset.theme = theme;
  store(READER.themeKey, theme);
  showReaderSettings();
}

function showReaderSettings() {
  const output = document.getElementById('font-size');
  if (!output) return;
  const size = readerSize();
  output.textContent = `${size}px`;
  const theme = document.documentElement.dataset.theme || 'light';
  for (const button of document.querySelectorAll('button[data-action=theme]')) {
    button.setAttribute('aria-pressed', String(button.dataset.theme === theme));
  }
}

const actions = {
  'font-smaller': () => setReaderSize(readerSize() - READER.step),
  'font-larger': () => setReaderSize(readerSize() + READER.step),
  theme: (button) => setTheme(button.dataset.theme),
  login: (form) => {
    const f = fields(form);
    return signIn(form, f.username, f.password, f.remember_me);
  },
  register: async (form) => {
    const f = fields(form);
    await api('POST', '/api/auth/register', { username: f.username, password: f.password, nick_name: f.nick_name || undefined });
    await signIn(form, f.username, f.password, false);
  },
  // One key per Buy until its order is open: a second click or a retry opens the same order.
  recharge: async (button) => {
    button.dataset.key ||= newKey();
    const order = await api('POST', '/api/recharge/orders', { package_id: button.dataset.packageId },
      { 'Idempotency-Key': button.dataset.key });
    delete button.dataset.key;
    location.href = order.checkout_url;
  },
  // The sandbox's Pay or Cancel: the server delivers the event to its webhook, then My account.
  'sandbox-checkout': async (form) => {
    await api('POST', form.getAttribute('action'));
    location.href = '/me';
  },
  logout: async () => {
    await api('POST', '/api/auth/logout');
    location.href = '/';
  },
  buy: async (button) => {
    buyStatus('Buying…');
    // The price shown is the most the reader agreed to: a higher one fails with price_changed.
    const job = await api('POST', '/api/purchases',
      { index_id: button.dataset.indexId, max_price: Number(button.dataset.price) });
    const done = await finished(job);
    buyStatus(`Bought for ${done.result.spent} coins.`);
    flashAfterReload(`Chapter bought: ${done.result.spent} coins spent, ${done.result.balance} left.`);
  },
  'buy-batch': async (form) => {
    const ids = form.dataset.ids.split(',');
    const count = Math.max(1, Math.min(ids.length, Number(fields(form).count) || 1));
    buyStatus(`Buying ${count} chapters…`);
    const maxTotal = form.dataset.prices.split(',').slice(0, count).reduce((sum, price) => sum + Number(price), 0);
    const job = await api('POST', '/api/purchases/batch', { index_ids: ids.slice(0, count), max_total: maxTotal });
    const { result } = await finished(job);
    flashAfterReload(`Bought ${result.bought.length} chapters for ${result.spent} coins (${result.balance} left).`);
  },
  follow: async (button) => {
    const following = button.dataset.following === 'true';
    await api(following ? 'DELETE' : 'POST', `/api/authors/${button.dataset.authorId}/follow`);
    showFollowing(button, !following);
  },
  // ---- author ----
  'become-author': async (form) => {
    await api('POST', '/api/author/register', { pen_name: fields(form).pen_name });
    location.reload();
  },
  // The desk is rendered by the server: after a change it opens again, on the book changed.
  'new-book': async (form) => {
    const { book_id: bookId } = await api('POST', '/api/author/books', { book_name: fields(form).book_name });
    sessionStorage.setItem('novel.flash', 'Draft created: add a chapter, then publish it.');
    location.href = `/author?book=${bookId}#edit-book`;
  },
  'add-chapter': async (form) => {
    const f = fields(form);
    const { price } = await api('POST', `/api/author/books/${f.book_id}/chapters`,
      { index_name: f.index_name, content: f.content, is_vip: f.is_vip });
    sessionStorage.setItem('novel.flash', f.is_vip ? `Chapter added, priced ${price} coins.` : 'Chapter added.');
    // No fragment: one that differed only in it would scroll, not load.
    location.href = `/author?book=${f.book_id}`;
  },
  publish: async (button) => {
    await api('POST', `/api/author/books/${button.dataset.bookId}/publish`);
    flashAfterReload('Published.');
  },
  'delete-chapter': async (button) => {
    await api('DELETE', `/api/author/books/${button.dataset.bookId}/chapters/${button.dataset.indexId}`);
    button.closest('li').remove();
    flash('Chapter deleted; its buyers are refunded shortly.', true);
  },
  // ---- admin ----
  'find-sessions': (form) => loadSessions(fields(form).q, 1),
  'sessions-page': (button) => loadSessions(sessionQuery, Number(button.dataset.page)),
  freeze: (button) => sessionCommand('POST', button, '/freeze'),
  unfreeze: (button) => sessionCommand('POST', button, '/unfreeze'),
  kick: (button) => sessionCommand('DELETE', button, ''),
  'find-users': (form) => loadUsers(fields(form).q),
  'find-orders': (form) => loadOrders(fields(form).q, fields(form).status),
  'resolve-order': async (form) => {
    const f = fields(form);
    const order = await api('POST', `/api/admin/orders/${form.dataset.orderId}/resolve`, { action: f.action, note: f.note });
    form.closest('tr').querySelector('.status-cell').textContent = `${order.status} (${f.action === 'credit' ? 'credited' : 'rejected'})`;
    form.remove();
    flash(`Order ${f.action === 'credit' ? 'credited' : 'rejected'}.`, true);
  },
  rollup: async () => {
    await finished(await api('POST', '/api/admin/income/rollup', {}));
    flashAfterReload("Today's income folded.");
  },
  credit: async (form) => {
    const f = fields(form);
    const { balance } = await api('POST', `/api/admin/users/${form.dataset.userId}/credit`,
      { amount: Number(f.amount), note: f.note || 'admin credit' });
    form.closest('tr').querySelector('.balance-cell').textContent = balance;
    form.reset();
    flash(`Credited ${f.amount} coins: balance ${balance}.`, true);
  },
};

// ---- my orders ----

const ORDER_OUTCOMES = {
  paid: (o) => `Payment received: ${o.coins + o.bonus_coins} coins added.`,
  failed: () => 'The payment did not go through: no coins were added.',
  expired: () => 'The order expired unpaid: no coins were added.',
  flagged: () => 'The payment is being checked: its coins are on hold.',
};

/// While an order on my account awaits its payment, asks a few times (waiting longer each time)
/// whether it moved on, then reloads: the server renders the new balance, ledger and orders.
async function awaitPayment(notice) {
  const table = document.getElementById('order-list');
  const pending = new Set(Array.from(table.querySelectorAll('tr[data-status=pending]'),
    (row) => row.dataset.orderId));
  const query = new URLSearchParams({ page: table.dataset.page, size: table.dataset.size });
  const deadline = Date.now() + 60_000;
  for (let wait = 500; Date.now() < deadline; wait = Math.min(wait * 1.5, 5000)) {
    await new Promise((resolve) => setTimeout(resolve, wait));
    const { items } = await api('GET', `/api/me/orders?${query}`);
    const moved = items.find((o) => pending.has(o.order_id) && o.status !== 'pending');
    if (moved) return flashAfterReload(ORDER_OUTCOMES[moved.status](moved));
  }
  notice.textContent = 'No payment has arrived yet. Once you pay, refresh this page to see your coins.';
}

function showFollowing(button, following) {
  button.dataset.following = String(following);
  button.textContent = following ? 'Following ✓ (unfollow)' : 'Follow author';
}

async function followed() {
  try {
    return (await api('GET', '/api/me/follows?size=100')).items;
  } catch (error) {
    if (error.status === 404) return null; // the follows API is not deployed yet
    throw error;
  }
}

async function loadFollowButton(button) {
  const items = await followed();
  if (items) showFollowing(button, items.some((a) => a.author_id === button.dataset.authorId));
}

async function loadFollows(list) {
  const items = await followed();
  if (!items) return list.replaceChildren(el('li', { class: 'muted' }, 'Following authors is coming soon.'));
  if (!items.length) return list.replaceChildren(el('li', { class: 'muted' }, 'You follow no authors yet.'));
  list.replaceChildren(...items.map((a) => el('li', {},
    el('strong', {}, a.pen_name),
    a.book_id ? ' — ' : ' — no published book yet',
    a.book_id ? el('a', { href: `/book/${a.book_id}` }, a.book_name) : '',
    a.last_index_id ? ' · latest ' : '',
    a.last_index_id ? el('a', { href: `/book/${a.book_id}/${a.last_index_id}` }, a.last_index_name) : '')));
}

let sessionQuery = '';

async function loadSessions(q, page) {
  sessionQuery = q || '';
  const query = new URLSearchParams({ page, size: 20, fuzzy: 'true' });
  if (sessionQuery) query.set('q', sessionQuery);
  const data = await api('GET', `/api/admin/sessions?${query}`);
  fillTable(document.getElementById('sessions'), data.items.map((s) => el('tr', { 'data-account': s.account },
    el('td', {}, s.account),
    el('td', {}, when(s.last_active)),
    el('td', {}, when(s.created)),
    el('td', {}, s.remember_me ? 'yes' : 'no'),
    el('td', { class: s.frozen ? 'frozen' : '' }, s.frozen ? 'frozen' : 'active'),
    el('td', {}, el('div', { class: 'inline' },
      el('button', { type: 'button', class: 'small', 'data-action': s.frozen ? 'unfreeze' : 'freeze', 'data-account': s.account },
        s.frozen ? 'Unfreeze' : 'Freeze'),
      el('button', { type: 'button', class: 'small danger', 'data-action': 'kick', 'data-account': s.account }, 'Kick out'))))),
    'No sessions.');
  const pages = Math.max(1, Math.ceil(data.total / data.size));
  document.getElementById('sessions-pager').replaceChildren(
    page > 1 ? el('button', { type: 'button', class: 'small', 'data-action': 'sessions-page', 'data-page': page - 1 }, '← Newer') : el('span'),
    el('span', { class: 'muted' }, `Page ${page} of ${pages} · ${data.total} sessions · match: ${data.match}`),
    page < pages ? el('button', { type: 'button', class: 'small', 'data-action': 'sessions-page', 'data-page': page + 1 }, 'Older →') : el('span'));
  document.getElementById('sessions').dataset.page = page;
}

async function sessionCommand(method, button, suffix) {
  await api(method, `/api/admin/sessions/${encodeURIComponent(button.dataset.account)}${suffix}`);
  await loadSessions(sessionQuery, Number(document.getElementById('sessions').dataset.page) || 1);
}

/// An amount in minor units (fen, cents) as money: `CNY 6.00`.
function money(amount, currency) {
  return `${currency} ${(amount / 100).toFixed(2)}`;
}

async function loadOrders(q, status) {
  const query = new URLSearchParams({ size: 20 });
  if (q) query.set('q', q);
  if (status) query.set('status', status);
  const { items } = await api('GET', `/api/admin/orders?${query}`);
  fillTable(document.getElementById('orders'), items.map((o) => el('tr', { 'data-order-id': o.order_id, 'data-username': o.username },
    el('td', {}, o.create_time.slice(0, 16).replace('T', ' ')),
    el('td', {}, o.username),
    el('td', { class: 'num' }, `${o.coins} + ${o.bonus_coins}`),
    el('td', { class: 'num' }, money(o.amount, o.currency)),
    el('td', {}, o.provider),
    el('td', { class: 'status-cell' }, o.resolution ? `${o.status} (${o.resolution})` : o.status),
    el('td', { class: 'muted' }, o.note || ''),
    el('td', {}, o.status === 'flagged' && !o.resolution
      ? el('form', { class: 'inline', 'data-action': 'resolve-order', 'data-order-id': o.order_id },
        el('select', { name: 'action' }, el('option', { value: 'credit' }, 'credit'), el('option', { value: 'reject' }, 'reject')),
        el('input', { name: 'note', required: true, placeholder: 'why' }),
        el('button', { type: 'submit', class: 'small' }, 'Resolve'))
      : ''))),
  'No orders match.');
}

async function loadUsers(q) {
  const query = new URLSearchParams({ size: 20 });
  if (q) query.set('q', q);
  const { items } = await api('GET', `/api/admin/users?${query}`);
  fillTable(document.getElementById('users'), items.map((u) => el('tr', { 'data-username': u.username },
    el('td', {}, u.username, el('span', { class: 'muted' }, ` (${u.nick_name})`), u.frozen ? el('span', { class: 'frozen' }, ' frozen') : ''),
    el('td', {}, u.roles.join(', ')),
    el('td', { class: 'num balance-cell' }, String(u.balance)),
    el('td', {}, el('form', { class: 'inline', 'data-action': 'credit', 'data-user-id': u.id },
      el('input', { name: 'amount', type: 'number', min: '1', required: true, placeholder: 'coins' }),
      el('input', { name: 'note', placeholder: 'note' }),
      el('button', { type: 'submit', class: 'small' }, 'Credit'))))),
    'No users match.');
}

// ---- wiring: one delegated listener per event type ----

async function run(name, element) {
  const busy = element.tagName === 'FORM' ? element.querySelector('[type=submit]') : element;
  if (busy) busy.disabled = true;
  try {
    await actions[name](element);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (element.closest('.buy')) buyStatus(describe(error), true);
    else if (error.code !== 'session_frozen') flash(describe(error));
  } finally {
    if (busy) busy.disabled = false;
  }
}

document.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action]');
  if (button && actions[button.dataset.action]) run(button.dataset.action, button);
});

document.addEventListener('submit', (event) => {
  const form = event.target.closest('form[data-action]');
  if (!form || !actions[form.dataset.action]) return;
  event.preventDefault();
  run(form.dataset.action, form);
});

async function init() {
  showReaderSettings();
  const saved = sessionStorage.getItem('novel.flash');
  if (saved) {
    sessionStorage.removeItem('novel.flash');
    flash(saved, true);
  }
  const loaders = [];
  const follows = document.getElementById('follows');
  if (follows) loaders.push(loadFollows(follows));
  const follow = document.querySelector('button[data-action=follow]');
  if (follow) loaders.push(loadFollowButton(follow));
  if (document.getElementById('sessions')) loaders.push(loadSessions('', 1), loadUsers(''), loadOrders('', ''));
  for (const result of await Promise.allSettled(loaders)) {
    if (result.status === 'rejected' && result.reason instanceof ApiError) report(result.reason);
  }
  document.body.dataset.ready = 'true';
  const awaiting = document.getElementById('awaiting');
  if (awaiting) awaitPayment(awaiting).catch(report);
}

/// An API error in words (a frozen session has said so already); any other error is a bug.
function report(error) {
  if (!(error instanceof ApiError)) throw error;
  if (error.code !== 'session_frozen') flash(describe(error));
}

init();

// ---- discovery pages: the book page's "Add to shelf" ----

Object.assign(actions, {
  'shelve-book': async (button) => {
    await api('PUT', `/api/me/shelf/${button.dataset.bookId}`);
    button.replaceWith(el('a', { class: 'button secondary on-shelf', href: '/shelf' }, 'On your shelf ✓'));
    flash('Added to your shelf.', true);
  },
});

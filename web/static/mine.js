// The reader's own pages and the author's desk: the shelf (add from the reading page, remove on
// /shelf) and, on /author, a book's details, its cover and its chapters. Loaded after app.js,
// whose api(), fields(), flash() and actions it uses; every write goes through the JSON API.
'use strict';

Object.assign(MESSAGES, {
  shelf_full: 'Your shelf is full: remove a book first.',
  too_large: 'That image is too large: at most 2 MiB.',
  unsupported_media_type: 'Choose a PNG, JPEG or WebP image.',
});

/// The price tag of a chapter: what readers pay for it now.
const priceText = (isVip, price) => (isVip ? `VIP, priced ${price} coins` : 'free');

Object.assign(actions, {
  // ---- shelf ----
  shelve: async (button) => {
    await api('PUT', `/api/me/shelf/${button.dataset.bookId}`);
    button.replaceWith(el('a', { class: 'tag owned on-shelf', href: '/shelf' }, 'On your shelf'));
  },
  unshelve: async (button) => {
    await api('DELETE', `/api/me/shelf/${button.dataset.bookId}`);
    const item = button.closest('li');
    const name = item.querySelector('.book-title').textContent;
    item.remove();
    flash(`${name} is off your shelf.`, true);
  },
  // ---- the author's desk: one book's details, cover and chapters ----
  'edit-book': async (form) => {
    const f = fields(form);
    await api('PATCH', `/api/author/books/${form.dataset.bookId}`, {
      book_name: f.book_name,
      description: f.description,
      category_id: f.category_id || null,
      book_status: f.book_status,
    });
    flashAfterReload('Book details saved.');
  },
  // The file goes up as it is, with its own Content-Type; the server re-encodes it.
  'upload-cover': async (form) => {
    const status = form.querySelector('.status-line');
    const [file] = form.elements.cover.files;
    status.classList.remove('error');
    status.textContent = 'Uploading…';
    try {
      const { cover_url: url } = await api('PUT', `/api/author/books/${form.dataset.bookId}/cover`, file);
      document.getElementById('cover-preview').src = url;
      status.textContent = 'Cover saved.';
      form.reset();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      status.classList.add('error');
      status.textContent = describe(error);
    }
  },
  // The chapter's text is loaded once, when its form first opens (an author reads their own VIP
  // chapters).
  'open-chapter': async (button) => {
    const form = button.closest('li').querySelector('form[data-action=edit-chapter]');
    if (!form.hidden) {
      form.hidden = true;
      button.textContent = 'Edit';
      return;
    }
    if (!form.dataset.loaded) {
      const chapter = await api('GET', `/api/books/${form.dataset.bookId}/chapters/${form.dataset.indexId}`);
      form.elements.index_name.value = chapter.index_name;
      form.elements.content.value = chapter.content;
      form.elements.is_vip.checked = chapter.is_vip;
      form.dataset.loaded = 'true';
    }
    form.hidden = false;
    button.textContent = 'Close';
    form.elements.content.focus();
  },
  'edit-chapter': async (form) => {
    const f = fields(form);
    const { price } = await api('PATCH',
      `/api/author/books/${form.dataset.bookId}/chapters/${form.dataset.indexId}`,
      { index_name: f.index_name, content: f.content, is_vip: f.is_vip });
    flashAfterReload(`Chapter saved: ${priceText(f.is_vip, price)}.`);
  },
});

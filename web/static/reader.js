// The reading page's settings, applied before it paints (a blocking script in <head>, so the
// page never flashes the default theme): font size and theme, kept in this browser only.
// app.js changes them; both read and write the same localStorage keys.
'use strict';
(() => {
  const root = document.documentElement;
  try {
    const theme = localStorage.getItem('novel.reader.theme');
    if (theme === 'sepia' || theme === 'dark') root.dataset.theme = theme;
    const size = Number(localStorage.getItem('novel.reader.size'));
    if (Number.isInteger(size) && size >= 14 && size <= 28) {
      root.style.setProperty('--reader-size', `${size}px`);
      root.dataset.readerSize = String(size);
    }
  } catch {
    // Storage blocked (private mode, a policy): the defaults stay.
  }
})();

//! The generated cover of a book without an upload: its title and pen name, XML-escaped and
//! wrapped into lines, on a colour derived from the book id (stable, different per book).

use std::fmt::Write;

use crate::ids::{BookId, EntityId};

const WIDTH: u32 = 300;
const HEIGHT: u32 = 400;
/// Title lines hold about this many half-width columns (a CJK character counts two).
const LINE_COLUMNS: usize = 16;
const MAX_LINES: usize = 5;

/// The SVG document for `book_id` showing `title` and `pen_name`.
pub fn generated(book_id: BookId, title: &str, pen_name: &str) -> String {
    let hue = book_id.raw().unsigned_abs().wrapping_mul(2_654_435_761) % 360;
    let lines = wrap(title, LINE_COLUMNS, MAX_LINES);
    let top = 150 - (lines.len() as u32 * 34) / 2;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">"#
    );
    let _ = write!(
        svg,
        r#"<rect width="100%" height="100%" fill="hsl({hue},45%,32%)"/><rect x="16" y="16" width="268" height="368" fill="none" stroke="rgba(255,255,255,0.35)" stroke-width="2"/>"#
    );
    let _ = write!(
        svg,
        r#"<g fill="white" font-family="'Noto Sans CJK SC','Noto Sans SC',sans-serif" text-anchor="middle">"#
    );
    for (n, line) in lines.iter().enumerate() {
        let y = top + n as u32 * 34;
        let _ = write!(
            svg,
            r#"<text x="150" y="{y}" font-size="26" font-weight="bold">{}</text>"#,
            escape(line)
        );
    }
    let pen = wrap(pen_name, LINE_COLUMNS + 6, 1);
    let _ = write!(
        svg,
        r#"<text x="150" y="340" font-size="18" opacity="0.85">{}</text></g></svg>"#,
        escape(pen.first().map_or("", String::as_str))
    );
    svg
}

/// Text safe inside an XML element or attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn columns(c: char) -> usize {
    if c.is_ascii() { 1 } else { 2 }
}

/// Breaks `text` into at most `max_lines` lines of about `width` columns: at spaces when a word
/// fits, anywhere for CJK and overlong words; the last line ends in `…` when text was left out.
fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split_whitespace() {
        let word_columns: usize = word.chars().map(columns).sum();
        if used > 0 && used + 1 + word_columns <= width {
            line.push(' ');
            used += 1;
        } else if used > 0 && word_columns <= width {
            lines.push(std::mem::take(&mut line));
            used = 0;
        } else if used > 0 {
            line.push(' ');
            used += 1;
        }
        for c in word.chars() {
            if used + columns(c) > width {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            line.push(c);
            used += columns(c);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        let last = &mut lines[max_lines - 1];
        last.pop();
        last.push('…');
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_wrap_at_spaces_and_inside_cjk_text() {
        assert_eq!(
            wrap("The Long Road Home Again", 16, 5),
            ["The Long Road", "Home Again"]
        );
        assert_eq!(
            wrap("斗破苍穹之大主宰归来", 16, 5),
            ["斗破苍穹之大主宰", "归来"]
        );
        let many = wrap(&"字".repeat(100), 16, 5);
        assert_eq!(many.len(), 5);
        assert!(many[4].ends_with('…'));
    }

    #[test]
    fn markup_in_a_title_is_text_in_the_cover() {
        let svg = generated(
            BookId::from_raw(7),
            "<script>alert(1)</script> & \"x\"",
            "A&B",
        );
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("A&amp;B"));
    }

    #[test]
    fn the_colour_follows_the_book_id() {
        let a = generated(BookId::from_raw(1), "T", "P");
        let b = generated(BookId::from_raw(2), "T", "P");
        assert_ne!(a, b);
        assert_eq!(a, generated(BookId::from_raw(1), "T", "P"));
    }
}

//! Covers: uploads re-encoded and stored by content hash, served for a year; the generated SVG
//! cover escaped and under a strict CSP; nothing outside the store is ever served.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgba, RgbaImage};
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

use crate::authors::{author, new_book, publish};
use crate::helpers::{Signed, TestApp, expect_error, json, spawn_app_with};

async fn app() -> TestApp {
    let dir = std::env::temp_dir().join(format!("novel-covers-{}", ulid::Ulid::new()));
    spawn_app_with(|settings| settings.library.cover_dir = dir).await
}

async fn upload(app: &TestApp, who: &Signed, book: &str, kind: &str, body: Vec<u8>) -> Response {
    app.plain
        .put(format!("{}/api/author/books/{book}/cover", app.address))
        .bearer_auth(&who.token)
        .header("content-type", kind)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

fn picture(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    }))
}

/// A JPEG carrying an EXIF segment (APP1) with a secret a cover must not leak.
fn jpeg_with_exif() -> Vec<u8> {
    let plain = encoded(&picture(64, 80), ImageFormat::Jpeg);
    let mut exif = b"Exif\0\0MM\0*\0\0\0\x08GPS-SECRET-51.5N".to_vec();
    let length = (exif.len() + 2) as u16;
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&length.to_be_bytes());
    segment.append(&mut exif);
    let mut jpeg = plain[..2].to_vec(); // SOI
    jpeg.extend(segment);
    jpeg.extend_from_slice(&plain[2..]);
    jpeg
}

/// A tiny PNG whose header declares 100000x100000 pixels: decoding it would need 30 GB.
fn decompression_bomb() -> Vec<u8> {
    fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = png.len();
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        let crc = crc32(&png[start..]);
        png.extend_from_slice(&crc.to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&100_000u32.to_be_bytes());
    header.extend_from_slice(&100_000u32.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut png, b"IHDR", &header);
    chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut png, b"IEND", &[]);
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The book's `cover_url` as its author reads it.
async fn cover_url(app: &TestApp, who: &Signed, book: &str) -> String {
    let shown = json(
        app.get_as(who.bearer(), &format!("/api/books/{book}"))
            .await,
    )
    .await;
    shown["cover_url"].as_str().unwrap().to_owned()
}

async fn stored_cover(app: &TestApp, book: &str) -> Option<String> {
    sqlx::query_scalar("SELECT cover FROM book WHERE id = ?")
        .bind(book.parse::<i64>().unwrap())
        .fetch_one(&app.state.db.main)
        .await
        .unwrap()
}

/// Uploads and fetches the stored cover: its URL and bytes, checking the long cache headers.
async fn upload_and_fetch(
    app: &TestApp,
    who: &Signed,
    book: &str,
    kind: &str,
    body: Vec<u8>,
) -> (String, Vec<u8>) {
    let answer: Value = json(upload(app, who, book, kind, body).await).await;
    let url = answer["cover_url"].as_str().unwrap().to_owned();
    let served = app.get(&url).await;
    assert_eq!(served.status(), StatusCode::OK);
    let headers = served.headers();
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let bytes = served.bytes().await.unwrap().to_vec();
    (url, bytes)
}

#[tokio::test]
async fn png_jpeg_and_webp_uploads_are_reencoded_without_metadata_and_cached_for_a_year() {
    let app = app().await;
    let writer = author(&app, "writer").await;
    let book = new_book(&app, writer.bearer(), "Covered").await;
    assert_eq!(
        cover_url(&app, &writer, &book).await,
        format!("/covers/book/{book}.svg")
    );

    let (url, bytes) = upload_and_fetch(&app, &writer, &book, "image/jpeg", jpeg_with_exif()).await;
    assert_eq!(
        cover_url(&app, &writer, &book).await,
        url,
        "the book names its uploaded cover"
    );
    assert!(url.ends_with(".jpg"), "{url}");
    assert!(
        !bytes.windows(4).any(|w| w == b"Exif"),
        "no EXIF segment kept"
    );
    assert!(!bytes.windows(10).any(|w| w == b"GPS-SECRET"));
    let back = image::load_from_memory_with_format(&bytes, ImageFormat::Jpeg).unwrap();
    assert_eq!((back.width(), back.height()), (64, 80));
    let file = url.strip_prefix("/covers/").unwrap();
    assert_eq!(stored_cover(&app, &book).await.as_deref(), Some(file));

    // A large opaque PNG is scaled into the 600x800 box and becomes a JPEG.
    let big = encoded(&picture(1200, 1200), ImageFormat::Png);
    let (url, bytes) = upload_and_fetch(&app, &writer, &book, "image/png", big).await;
    assert!(url.ends_with(".jpg"));
    let back = image::load_from_memory(&bytes).unwrap();
    assert_eq!((back.width(), back.height()), (600, 600));

    // Transparency survives as PNG; WebP arrives, a JPEG leaves.
    let mut clear = RgbaImage::from_pixel(40, 50, Rgba([200, 10, 10, 255]));
    clear.put_pixel(0, 0, Rgba([0, 0, 0, 0]));
    let clear = encoded(&DynamicImage::ImageRgba8(clear), ImageFormat::Png);
    let (url, bytes) = upload_and_fetch(&app, &writer, &book, "image/png", clear).await;
    assert!(url.ends_with(".png"));
    let back = image::load_from_memory_with_format(&bytes, ImageFormat::Png).unwrap();
    assert_eq!(back.to_rgba8().get_pixel(0, 0)[3], 0);
    let webp = encoded(&picture(30, 40), ImageFormat::WebP);
    let (url, _) = upload_and_fetch(&app, &writer, &book, "image/webp", webp).await;
    assert!(url.ends_with(".jpg"));
    assert_eq!(app.get(&url).await.headers()["content-type"], "image/jpeg");
}

#[tokio::test]
async fn another_type_is_415_one_byte_over_the_limit_is_413_and_neither_changes_the_book() {
    let app = app().await;
    let writer = author(&app, "writer").await;
    let book = new_book(&app, writer.bearer(), "Covered").await;
    let png = encoded(&picture(10, 10), ImageFormat::Png);
    for kind in ["image/gif", "image/svg+xml", "application/json"] {
        let response = upload(&app, &writer, &book, kind, png.clone()).await;
        expect_error(
            response,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
    }
    let limit = app.state.settings.library.cover_max_bytes;
    assert!(
        limit > app.state.settings.http.body_limit_bytes,
        "the route's own limit is larger"
    );
    let mut over = png.clone();
    over.resize(limit + 1, 0);
    let response = upload(&app, &writer, &book, "image/png", over).await;
    expect_error(response, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;
    // Just under the limit the route reads it all (PNG ignores bytes after IEND).
    let mut under = png;
    under.resize(limit, 0);
    assert_eq!(
        upload(&app, &writer, &book, "image/png", under)
            .await
            .status(),
        StatusCode::OK
    );
    let uploaded = stored_cover(&app, &book).await;
    assert!(uploaded.is_some());
}

#[tokio::test]
async fn a_decompression_bomb_or_garbage_is_refused_with_400_and_stores_nothing() {
    let app = app().await;
    let writer = author(&app, "writer").await;
    let book = new_book(&app, writer.bearer(), "Covered").await;
    let refused = [
        ("image/png", decompression_bomb()),
        ("image/png", b"not an image at all".to_vec()),
        ("image/jpeg", encoded(&picture(8, 8), ImageFormat::Png)),
        ("image/webp", Vec::new()),
    ];
    for (kind, body) in refused {
        let response = upload(&app, &writer, &book, kind, body).await;
        expect_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    assert_eq!(stored_cover(&app, &book).await, None);
    let dir = &app.state.settings.library.cover_dir;
    let files = std::fs::read_dir(dir).map_or(0, |entries| entries.count());
    assert_eq!(files, 0, "no file written");
}

#[tokio::test]
async fn only_the_books_author_or_an_admin_may_upload_its_cover() {
    let app = app().await;
    let writer = author(&app, "writer").await;
    let rival = author(&app, "rival").await;
    let book = new_book(&app, writer.bearer(), "Covered").await;
    let png = encoded(&picture(10, 10), ImageFormat::Png);
    let response = upload(&app, &rival, &book, "image/png", png.clone()).await;
    expect_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    // The target before the body: a stranger's bad body is still 403.
    let response = upload(&app, &rival, &book, "image/gif", png.clone()).await;
    expect_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    let anonymous = app
        .plain
        .put(format!("{}/api/author/books/{book}/cover", app.address))
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    expect_error(anonymous, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    assert_eq!(stored_cover(&app, &book).await, None);
    app.create_admin("boss").await;
    let admin = app.sign_in("boss").await;
    assert_eq!(
        upload(&app, &admin, &book, "image/png", png).await.status(),
        StatusCode::OK
    );
    let response = upload(&app, &writer, "42", "image/png", Vec::new()).await;
    expect_error(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn the_generated_cover_shows_the_escaped_title_under_a_strict_csp() {
    let app = app().await;
    let writer = author(&app, "writer").await;
    let title = "<script>alert(1)</script> & 斗破苍穹";
    let book = new_book(&app, writer.bearer(), title).await;
    let path = format!("/covers/book/{book}.svg");
    let draft = app.get(&path).await;
    assert_eq!(
        draft.status(),
        StatusCode::NOT_FOUND,
        "a draft's cover is its author's"
    );
    let own = app.get_as(writer.bearer(), &path).await;
    assert_eq!(own.status(), StatusCode::OK);
    assert!(
        own.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("private")
    );
    publish(&app, writer.bearer(), &book).await;

    let served = app.get(&path).await;
    assert_eq!(served.status(), StatusCode::OK);
    let headers = served.headers().clone();
    assert_eq!(headers["content-type"], "image/svg+xml; charset=utf-8");
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'none'; style-src 'unsafe-inline'"
    );
    assert_eq!(headers["cache-control"], "public, max-age=300");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let svg = served.text().await.unwrap();
    assert!(svg.starts_with("<svg "));
    assert!(!svg.contains("<script"), "{svg}");
    assert!(svg.contains("&lt;script&gt;"), "{svg}");
    assert!(svg.contains("&amp;"));
    assert!(svg.contains("Pen writer"), "the pen name is on it");
    assert_eq!(
        app.get("/covers/book/42.svg").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_cover_path_that_names_no_stored_cover_is_404() {
    let app = app().await;
    let writer = author(&app, "writer").await;
    let book = new_book(&app, writer.bearer(), "Covered").await;
    let png = encoded(&picture(10, 10), ImageFormat::Png);
    let url = json(upload(&app, &writer, &book, "image/png", png).await).await["cover_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let hash = &url["/covers/".len()..][..64];
    for path in [
        "/covers/..%2F..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/covers/%2e%2e%2fCargo.toml".to_owned(),
        format!("/covers/{hash}.svg"),
        format!("/covers/{}.jpg", hash.to_uppercase()),
        format!("/covers/{}.png", "0".repeat(64)),
        "/covers/book/abc.svg".to_owned(),
        format!("/covers/book/{book}.png"),
    ] {
        let response = app
            .request(Method::GET, &path, crate::helpers::As::Anonymous, None)
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn uploads_past_the_decoders_at_once_are_shed_with_503_and_change_nothing() {
    let app = app().await;
    let writer = author(&app, "writer").await;
    let book = new_book(&app, writer.bearer(), "Covered").await;
    let png = encoded(&picture(10, 10), ImageFormat::Png);
    // Every turn busy (as with `library.cover_concurrency` uploads decoding right now).
    let mut held = Vec::new();
    for _ in 0..app.state.settings.library.cover_concurrency {
        held.push(app.state.cover_turns.take().await.unwrap());
    }
    let response = upload(&app, &writer, &book, "image/png", png.clone()).await;
    assert_eq!(response.headers()["retry-after"], "1");
    expect_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert_eq!(stored_cover(&app, &book).await, None);
    drop(held);
    let response = upload(&app, &writer, &book, "image/png", png).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(stored_cover(&app, &book).await.is_some());
}

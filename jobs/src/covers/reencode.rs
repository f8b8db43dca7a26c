//! An uploaded cover decoded under limits (a decompression bomb is refused before it allocates)
//! and re-encoded from its pixels alone, so no metadata (EXIF, GPS, comments, profiles) survives:
//! JPEG when every pixel is opaque, PNG when any is transparent (the crate's WebP encoder is
//! lossless only, too large for photos). Larger covers are scaled down to fit 600x800.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageEncoder, ImageError, ImageFormat, ImageReader, Limits};

/// The formats an upload may arrive in, by its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadFormat {
    Png,
    Jpeg,
    Webp,
}

impl UploadFormat {
    /// `image/png`, `image/jpeg` or `image/webp` (parameters ignored, any letter case).
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        match essence.to_ascii_lowercase().as_str() {
            "image/png" => Some(Self::Png),
            "image/jpeg" => Some(Self::Jpeg),
            "image/webp" => Some(Self::Webp),
            _ => None,
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Self::Png => ImageFormat::Png,
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Webp => ImageFormat::WebP,
        }
    }
}

/// Widest and tallest upload decoded at all.
pub const MAX_SIDE: u32 = 4096;
/// Most memory one decode may allocate.
pub const MAX_ALLOC: u64 = 64 << 20;
/// A stored cover fits this box.
pub const COVER_WIDTH: u32 = 600;
pub const COVER_HEIGHT: u32 = 800;
const JPEG_QUALITY: u8 = 85;

/// A cover ready to store: its bytes and file extension (`jpg` or `png`).
#[derive(Debug)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub ext: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum CoverError {
    #[error("the image is larger than {MAX_SIDE}x{MAX_SIDE} pixels or needs too much memory")]
    TooLarge,
    #[error("not a decodable image of the declared type")]
    Undecodable,
    #[error("could not encode the cover: {0}")]
    Encode(#[source] ImageError),
}

/// Decodes `bytes` as `format` under limits and re-encodes it. CPU-heavy: run it off the async
/// threads.
pub fn reencode(bytes: &[u8], format: UploadFormat) -> Result<Encoded, CoverError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let image = reader.decode().map_err(|error| match error {
        ImageError::Limits(_) => CoverError::TooLarge,
        _ => CoverError::Undecodable,
    })?;
    let image = if image.width() > COVER_WIDTH || image.height() > COVER_HEIGHT {
        image.resize(COVER_WIDTH, COVER_HEIGHT, FilterType::Triangle)
    } else {
        image
    };
    encode(&image).map_err(CoverError::Encode)
}

fn encode(image: &DynamicImage) -> Result<Encoded, ImageError> {
    let mut bytes = Vec::new();
    let (width, height) = (image.width(), image.height());
    if transparent(image) {
        let rgba = image.to_rgba8();
        PngEncoder::new(&mut bytes).write_image(
            &rgba,
            width,
            height,
            image::ExtendedColorType::Rgba8,
        )?;
        return Ok(Encoded { bytes, ext: "png" });
    }
    let rgb = image.to_rgb8();
    JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY).write_image(
        &rgb,
        width,
        height,
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(Encoded { bytes, ext: "jpg" })
}

/// Whether any pixel is less than opaque (an alpha channel that is all opaque is not kept).
fn transparent(image: &DynamicImage) -> bool {
    image.color().has_alpha() && image.to_rgba8().pixels().any(|p| p[3] < u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_three_upload_types_are_accepted() {
        assert_eq!(
            UploadFormat::from_content_type("Image/PNG; charset=x"),
            Some(UploadFormat::Png)
        );
        assert_eq!(UploadFormat::from_content_type("image/gif"), None);
        assert_eq!(UploadFormat::from_content_type("image/svg+xml"), None);
    }

    #[test]
    fn a_large_opaque_picture_becomes_a_jpeg_within_the_cover_box() {
        let picture = DynamicImage::new_rgb8(1200, 1200);
        let mut png = Vec::new();
        picture
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let encoded = reencode(&png, UploadFormat::Png).unwrap();
        assert_eq!(encoded.ext, "jpg");
        let back = image::load_from_memory(&encoded.bytes).unwrap();
        assert_eq!((back.width(), back.height()), (600, 600));
    }
}

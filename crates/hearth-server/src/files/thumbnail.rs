//! Thumbnails of image uploads: made once, at upload, on a blocking thread,
//! one at a time, and never for an image whose header promises more pixels
//! than [`MAX_PIXELS`] (a decompression bomb: huge dimensions in a small
//! file), which gets no thumbnail and no width/height.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use bytes::Bytes;
use hearth_proto::THUMB_MAX_SIDE;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use tokio::sync::Semaphore;

/// The most pixels an image may have to be decoded (36 MP: a 8000×4500
/// photo; its RGBA buffer is at most 144 MiB, and only one is decoded at a
/// time).
pub const MAX_PIXELS: u64 = 36_000_000;
/// The longest side an image may have to be decoded.
pub const MAX_SIDE: u32 = 20_000;
/// The most memory one decode may ask for.
const MAX_ALLOC: u64 = 4 * MAX_PIXELS + 64 * 1024 * 1024;

/// One decode at a time: its memory is the server's largest buffer.
static DECODES: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(1));

/// An image's size and its thumbnail.
#[derive(Debug, Clone)]
pub struct Thumbnail {
    /// The image's pixels, upright (EXIF orientation applied).
    pub width: u32,
    pub height: u32,
    /// The thumbnail: at most [`THUMB_MAX_SIDE`] px on its longer side.
    pub thumb: Bytes,
    /// `image/png` (images with transparency) or `image/jpeg`.
    pub thumb_type: &'static str,
}

/// Makes the thumbnail of the image in `path`, off the async runtime.
/// `None` for a bomb, or bytes that do not decode.
pub async fn make(path: PathBuf, format: ImageFormat) -> Option<Thumbnail> {
    let _slot = DECODES.acquire().await.ok()?;
    tokio::task::spawn_blocking(move || make_blocking(&path, format))
        .await
        .ok()
        .flatten()
}

/// The same, on the calling thread.
pub fn make_blocking(path: &Path, format: ImageFormat) -> Option<Thumbnail> {
    let file = std::fs::File::open(path).ok()?;
    let mut decoder = ImageReader::with_format(BufReader::new(file), format)
        .into_decoder()
        .ok()?;
    let (width, height) = decoder.dimensions();
    if !decodable(width, height) {
        return None;
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    decoder.set_limits(limits).ok()?;
    let orientation = decoder.orientation().ok();
    let mut image = DynamicImage::from_decoder(decoder).ok()?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    let (width, height) = (image.width(), image.height());
    let small = if width <= THUMB_MAX_SIDE && height <= THUMB_MAX_SIDE {
        image
    } else {
        image.thumbnail(THUMB_MAX_SIDE, THUMB_MAX_SIDE)
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let thumb_type = if small.color().has_alpha() {
        small.write_to(&mut out, ImageFormat::Png).ok()?;
        "image/png"
    } else {
        let rgb = DynamicImage::ImageRgb8(small.to_rgb8());
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82);
        rgb.write_with_encoder(encoder).ok()?;
        "image/jpeg"
    };
    Some(Thumbnail {
        width,
        height,
        thumb: Bytes::from(out.into_inner()),
        thumb_type,
    })
}

/// Whether an image of these dimensions may be decoded.
pub fn decodable(width: u32, height: u32) -> bool {
    width > 0
        && height > 0
        && width <= MAX_SIDE
        && height <= MAX_SIDE
        && u64::from(width) * u64::from(height) <= MAX_PIXELS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_png(dir: &Path, width: u32, height: u32) -> PathBuf {
        let path = dir.join("image.png");
        image::RgbImage::from_pixel(width, height, image::Rgb([200, 80, 20]))
            .save_with_format(&path, ImageFormat::Png)
            .unwrap();
        path
    }

    #[test]
    fn a_large_image_gets_a_thumbnail_of_at_most_320_px() {
        let dir = tempfile::tempdir().unwrap();
        let made = make_blocking(&write_png(dir.path(), 1000, 500), ImageFormat::Png).unwrap();
        assert_eq!((made.width, made.height), (1000, 500));
        assert_eq!(made.thumb_type, "image/jpeg");
        let thumb = image::load_from_memory(&made.thumb).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 160));
    }

    #[test]
    fn a_small_image_is_not_enlarged() {
        let dir = tempfile::tempdir().unwrap();
        let made = make_blocking(&write_png(dir.path(), 40, 30), ImageFormat::Png).unwrap();
        let thumb = image::load_from_memory(&made.thumb).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (40, 30));
    }

    #[test]
    fn bombs_are_refused_by_their_header() {
        assert!(!decodable(100_000, 100_000));
        assert!(!decodable(7000, 7000));
        assert!(!decodable(0, 10));
        assert!(decodable(6000, 4000));
    }
}

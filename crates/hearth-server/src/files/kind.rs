//! What an upload is, decided from its first bytes — never from its name
//! or the type its uploader declared.

use image::ImageFormat;

/// The type of an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// The MIME type reported in `type`.
    pub content_type: &'static str,
    /// For the four raster formats the protocol shows inline (PNG, JPEG,
    /// GIF, WebP): the format to decode it as.
    pub image: Option<ImageFormat>,
}

impl Kind {
    /// Whether uploads of this type are served inline (raster images
    /// only); everything else is served as an attachment.
    pub fn inline(content_type: &str) -> bool {
        matches!(
            content_type,
            "image/png" | "image/jpeg" | "image/gif" | "image/webp"
        )
    }
}

/// Decides the type from the first bytes of an upload.
pub fn detect(head: &[u8]) -> Kind {
    match image::guess_format(head) {
        Ok(
            format @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP),
        ) => Kind {
            content_type: format.to_mime_type(),
            image: Some(format),
        },
        _ => Kind {
            content_type: infer::get(head)
                .map(|t| t.mime_type())
                .filter(|t| !Kind::inline(t))
                .unwrap_or("application/octet-stream"),
            image: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_known_by_their_bytes_not_their_names() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(detect(png).content_type, "image/png");
        assert_eq!(detect(png).image, Some(ImageFormat::Png));
        assert_eq!(
            detect(b"\xff\xd8\xff\xe0\0\x10JFIF").content_type,
            "image/jpeg"
        );
        assert_eq!(detect(b"GIF89a....").content_type, "image/gif");
        assert_eq!(detect(b"RIFF\0\0\0\0WEBPVP8 ").content_type, "image/webp");
    }

    #[test]
    fn everything_else_is_never_inline() {
        for head in [
            &b"<!doctype html><script>alert(1)</script>"[..],
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>",
            b"hello, plain text",
        ] {
            let kind = detect(head);
            assert_eq!(kind.image, None);
            assert!(!Kind::inline(kind.content_type), "{:?}", kind);
        }
        assert_eq!(detect(b"%PDF-1.7\n").content_type, "application/pdf");
    }
}

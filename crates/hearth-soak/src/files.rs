//! The soak's files (v1.1): what publishers upload (random bytes of a few
//! bytes to 1 MiB, and small PNGs, under names with spaces, quotes and
//! non-ASCII letters), and the download check (every byte back, by
//! SHA-256) that runs after restarts and at the end.

use std::time::{Duration, Instant};

use hearth_client::Client;
use hearth_proto::FileInfo;
use rand::Rng;
use rand::rngs::StdRng;
use sha2::{Digest, Sha256};

/// The largest file a publisher uploads.
const MAX_BYTES: usize = 1024 * 1024;

/// A file a publisher is about to upload.
pub struct Planned {
    pub name: String,
    pub bytes: Vec<u8>,
    /// Width and height, for a PNG.
    pub png: Option<(u32, u32)>,
}

/// An acknowledged upload: what the server answered, and what its bytes
/// must hash to.
#[derive(Debug, Clone)]
pub struct Upload {
    pub info: FileInfo,
    pub sha256: [u8; 32],
}

impl Planned {
    /// One to three files (now and then ten, the most a message may share):
    /// random bytes, sizes spread evenly over the powers of two up to
    /// 1 MiB, or one in four a valid PNG of random pixels.
    pub fn draw(rng: &mut StdRng, nick: &str, n: u64) -> Vec<Planned> {
        let count = match rng.random_range(0..100) {
            0..60 => 1,
            60..95 => rng.random_range(2..=3),
            _ => hearth_proto::MAX_FILES_PER_MESSAGE,
        };
        (0..count)
            .map(|k| {
                if rng.random_bool(0.25) {
                    let side = if rng.random_bool(0.8) { 96 } else { 640 };
                    let (w, h) = (rng.random_range(1..=side), rng.random_range(1..=side));
                    Planned {
                        name: name(rng, nick, n, k, "png"),
                        bytes: png(rng, w, h),
                        png: Some((w, h)),
                    }
                } else {
                    let exponent: f64 = rng.random_range(0.0..=20.0);
                    let size = (2f64.powf(exponent) as usize).clamp(1, MAX_BYTES);
                    let mut bytes = vec![0u8; size];
                    rng.fill(&mut bytes[..]);
                    Planned {
                        name: name(rng, nick, n, k, "bin"),
                        bytes,
                        png: None,
                    }
                }
            })
            .collect()
    }

    /// What is wrong with the server's answer to this upload (nothing:
    /// `None`): its name and size must be the file's, and a PNG's type and
    /// pixels the PNG's, with a thumbnail.
    pub fn check_answer(&self, info: &FileInfo) -> Option<String> {
        let mut wrong = Vec::new();
        if info.name != self.name {
            wrong.push(format!("name {:?}", info.name));
        }
        if info.size != self.bytes.len() as u64 {
            wrong.push(format!("size {}", info.size));
        }
        if info.url != FileInfo::url_for(&info.id) {
            wrong.push(format!("url {}", info.url));
        }
        if let Some((w, h)) = self.png
            && (info.content_type != "image/png"
                || info.width != Some(w)
                || info.height != Some(h)
                || info.thumb_url.is_none())
        {
            wrong.push(format!(
                "type {} {:?}x{:?} thumb {:?}",
                info.content_type, info.width, info.height, info.thumb_url
            ));
        }
        (!wrong.is_empty()).then(|| {
            format!(
                "upload {:?} ({} bytes) answered {}",
                self.name,
                self.bytes.len(),
                wrong.join(", ")
            )
        })
    }

    pub fn sha256(&self) -> [u8; 32] {
        Sha256::digest(&self.bytes).into()
    }
}

/// A file name people could give: spaces, quotes, non-ASCII, a leading
/// dot, or all 255 characters the rule allows.
fn name(rng: &mut StdRng, nick: &str, n: u64, k: usize, ext: &str) -> String {
    match rng.random_range(0..6) {
        0 => format!("Résumé {nick} {n}-{k}.{ext}"),
        1 => format!("a \"quoted\"; name={n}&k={k} 100%.{ext}"),
        2 => format!("日本語 {n}-{k} ü.{ext}"),
        3 => format!("..{nick}-{n}-{k}.{ext}"),
        4 => {
            let stem = format!("{nick}-{n}-{k}-");
            let pad = 255 - stem.chars().count() - ext.len() - 1;
            format!("{stem}{}.{ext}", "é".repeat(pad))
        }
        _ => format!("{nick}-{n}-{k}.{ext}"),
    }
}

/// A valid PNG of `width` x `height` random RGB pixels (8 bits, no
/// interlace), its image data in stored (uncompressed) deflate blocks.
fn png(rng: &mut StdRng, width: u32, height: u32) -> Vec<u8> {
    let row = width as usize * 3;
    let mut raw = Vec::with_capacity((row + 1) * height as usize);
    for _ in 0..height {
        raw.push(0); // filter: none
        let start = raw.len();
        raw.resize(start + row, 0);
        rng.fill(&mut raw[start..]);
    }
    let mut header = Vec::with_capacity(13);
    header.extend(width.to_be_bytes());
    header.extend(height.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, filter 0, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend(kind);
    out.extend(data);
    let crc = crc32(&out[start..]);
    out.extend(crc.to_be_bytes());
}

/// A zlib stream of `data` in stored deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(0xffff).peekable();
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    out.extend((b << 16 | a).to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                crc >> 1 ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Why an upload did not come back as it went up.
#[derive(Debug)]
pub enum Problem {
    /// The server answered other bytes (or no thumbnail for an image).
    Mismatch(String),
    /// It never answered the bytes before the deadline, or refused them.
    Unavailable(String),
}

/// Downloads `upload` (and, for an image, its thumbnail) from `client`,
/// retrying what can be retried until `deadline`, and compares the bytes'
/// SHA-256 and length with what was uploaded.
pub async fn check_download(
    client: &Client,
    upload: &Upload,
    deadline: Instant,
) -> Result<(), Problem> {
    let info = &upload.info;
    let bytes = fetch(client, &info.url, deadline).await?;
    let sha256: [u8; 32] = Sha256::digest(&bytes).into();
    if bytes.len() as u64 != info.size || sha256 != upload.sha256 {
        return Err(Problem::Mismatch(format!(
            "{} ({:?}): {} bytes, SHA-256 {}, uploaded {} bytes, SHA-256 {}",
            info.url,
            info.name,
            bytes.len(),
            hex(&sha256),
            info.size,
            hex(&upload.sha256)
        )));
    }
    if let Some(thumb) = &info.thumb_url {
        let bytes = fetch(client, thumb, deadline).await?;
        if !(bytes.starts_with(b"\x89PNG") || bytes.starts_with(b"\xff\xd8\xff")) {
            return Err(Problem::Mismatch(format!(
                "{thumb}: {} bytes that are neither PNG nor JPEG",
                bytes.len()
            )));
        }
    }
    Ok(())
}

async fn fetch(client: &Client, url: &str, deadline: Instant) -> Result<Vec<u8>, Problem> {
    loop {
        match client.fetch_file(url).await {
            Ok(bytes) => return Ok(bytes.to_vec()),
            Err(e) if e.is_retryable() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(Problem::Unavailable(format!("{url}: {e}"))),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn checksums_are_the_standard_ones() {
        assert_eq!(crc32(b"IEND"), 0xae42_6082);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn pngs_have_the_right_frame() {
        let mut rng = StdRng::seed_from_u64(1);
        let image = png(&mut rng, 3, 2);
        assert!(image.starts_with(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x03\0\0\0\x02"));
        assert!(image.ends_with(b"\0\0\0\0IEND\xae\x42\x60\x82"));
        // Two rows of 1 + 9 bytes in one stored block, then Adler-32.
        let idat = &image[33..];
        assert_eq!(&idat[..4], &(2u32 + 5 + 20 + 4).to_be_bytes());
        assert_eq!(&idat[8..15], &[0x78, 0x01, 1, 20, 0, !20, 0xff]);
    }

    #[test]
    fn names_follow_the_rule() {
        let mut rng = StdRng::seed_from_u64(2);
        for n in 0..200 {
            for planned in Planned::draw(&mut rng, "writer0", n) {
                assert!(hearth_proto::FileName::parse(&planned.name).is_ok());
                assert!(!planned.bytes.is_empty() && planned.bytes.len() <= MAX_BYTES);
            }
        }
    }
}

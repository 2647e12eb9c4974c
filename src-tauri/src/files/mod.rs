//! Files shared in rooms, on their way to the person: images for the
//! webview, downloads to disk, "show in folder".
//!
//! - The webview fetches nothing remote, so it shows images through the
//!   app's URI scheme [`SCHEME`]: `hearthfile://localhost/<room id>/<file
//!   id>[/thumb]` (`http://hearthfile.localhost/…` on Windows; the page
//!   builds it with `convertFileSrc(path, 'hearthfile')`). Rust fetches the
//!   bytes with the saved room's session ([`Files::image`]); thumbnails are
//!   kept in a small cache. Only images are served (PNG, JPEG, GIF, WebP,
//!   decided by their bytes), with `nosniff`.
//! - [`Files::save`] streams a file into the Downloads folder (a free name:
//!   `name (1).ext` when `name.ext` is taken) and remembers the path, so
//!   [`Files::reveal`] shows only what the app saved itself.
//!
//! - [`drops`]: files dragged from the file manager onto the window.
//!
//! `commands.rs` has the Tauri commands; `lib.rs` registers the scheme.

pub mod commands;
pub mod drops;

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use hearth_proto::{FileId, FileInfo};

use crate::error::CommandError;
use crate::rooms::Rooms;
use drops::Drops;

/// The URI scheme images reach the webview through.
pub const SCHEME: &str = "hearthfile";
/// The thumbnail cache's size, in bytes (thumbnails are at most 320 px).
const CACHE_BYTES: usize = 8 * 1024 * 1024;

/// What the app keeps about files: the thumbnail cache, the saved paths.
#[derive(Default)]
pub struct Files {
    thumbs: Mutex<ThumbCache>,
    saved: Mutex<HashSet<PathBuf>>,
    drops: Drops,
}

/// An image, as the scheme answers it.
#[derive(Debug, Clone)]
pub struct Image {
    pub bytes: Bytes,
    pub content_type: &'static str,
}

/// A request of the scheme, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRequest {
    pub room_id: String,
    pub file_id: FileId,
    pub thumb: bool,
}

impl ImageRequest {
    /// `/<room id>/<file id>[/thumb]`.
    pub fn parse(path: &str) -> Option<Self> {
        let mut parts = path.trim_start_matches('/').split('/');
        let room_id = parts.next().filter(|r| {
            !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })?;
        let file_id = FileId::parse(parts.next()?).ok()?;
        let thumb = match parts.next() {
            None | Some("") => false,
            Some("thumb") => true,
            Some(_) => return None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            room_id: room_id.to_owned(),
            file_id,
            thumb,
        })
    }
}

impl Files {
    /// Files dropped on the window.
    pub fn drops(&self) -> &Drops {
        &self.drops
    }
    /// An image of a saved room's server: the file or its thumbnail,
    /// fetched with the room's session (a thumbnail from the cache if
    /// there). Anything else than a PNG, JPEG, GIF or WebP is refused.
    pub async fn image(
        &self,
        rooms: &Rooms,
        request: &ImageRequest,
    ) -> Result<Image, CommandError> {
        let key = (request.room_id.clone(), request.file_id.clone());
        if request.thumb
            && let Some(hit) = self.thumbs().get(&key)
        {
            return Ok(hit);
        }
        let url = if request.thumb {
            FileInfo::thumb_url_for(request.file_id.as_str())
        } else {
            FileInfo::url_for(request.file_id.as_str())
        };
        let bytes = rooms
            .with_session(&request.room_id, |client, _| {
                let url = url.clone();
                async move { client.fetch_file(&url).await }
            })
            .await?;
        let content_type = image_type(&bytes).ok_or_else(|| {
            CommandError::BadInput("That file is not an image the app shows.".into())
        })?;
        let image = Image {
            bytes,
            content_type,
        };
        if request.thumb {
            self.thumbs().put(key, image.clone());
        }
        Ok(image)
    }

    /// Saves a file of a saved room's server into `dir` under `name` (or
    /// the first free `name (n).ext`), streamed; answers the path.
    pub async fn save(
        &self,
        rooms: &Rooms,
        room_id: &str,
        file_id: &str,
        name: &str,
        dir: &Path,
    ) -> Result<PathBuf, CommandError> {
        let file_id = FileId::parse(file_id)?;
        std::fs::create_dir_all(dir)
            .map_err(|e| CommandError::File(format!("cannot write to {}: {e}", dir.display())))?;
        let dest = reserve(dir, &safe_name(name))?;
        let url = FileInfo::url_for(file_id.as_str());
        let saved = rooms
            .with_session(room_id, |client, _| {
                let (url, dest) = (url.clone(), dest.clone());
                async move { client.download_to(&url, &dest, |_, _| {}).await }
            })
            .await;
        if let Err(e) = saved {
            let _ = std::fs::remove_file(&dest); // the reserved name
            return Err(e);
        }
        self.saved().insert(dest.clone());
        Ok(dest)
    }

    /// Shows a file this app saved in the system's file manager.
    pub fn reveal(&self, path: &Path) -> Result<(), CommandError> {
        if !self.saved().contains(path) {
            return Err(CommandError::BadInput(
                "The app shows only files it saved itself.".into(),
            ));
        }
        tauri_plugin_opener::reveal_item_in_dir(path).map_err(|e| {
            CommandError::File(format!("cannot show {} in its folder: {e}", path.display()))
        })
    }

    fn thumbs(&self) -> MutexGuard<'_, ThumbCache> {
        self.thumbs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn saved(&self) -> MutexGuard<'_, HashSet<PathBuf>> {
        self.saved.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Thumbnails by (room, file), the oldest dropped beyond [`CACHE_BYTES`].
#[derive(Default)]
struct ThumbCache {
    entries: VecDeque<((String, FileId), Image)>,
    bytes: usize,
}

impl ThumbCache {
    fn get(&self, key: &(String, FileId)) -> Option<Image> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, image)| image.clone())
    }

    fn put(&mut self, key: (String, FileId), image: Image) {
        if image.bytes.len() > CACHE_BYTES || self.get(&key).is_some() {
            return;
        }
        self.bytes += image.bytes.len();
        self.entries.push_back((key, image));
        while self.bytes > CACHE_BYTES
            && let Some((_, old)) = self.entries.pop_front()
        {
            self.bytes -= old.bytes.len();
        }
    }
}

/// The image type the bytes are, from their first bytes.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// A file name safe on every desktop: no characters Windows refuses, no
/// leading dot (hidden), not empty.
fn safe_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let clean = clean
        .trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' ']);
    if clean.is_empty() {
        "download".to_owned()
    } else {
        clean.to_owned()
    }
}

/// Creates `dir/name`, or the first free `dir/stem (n).ext`, empty: the
/// name is taken for the download that follows.
fn reserve(dir: &Path, name: &str) -> Result<PathBuf, CommandError> {
    let (stem, ext) = match name.rfind('.') {
        Some(at) if at > 0 => (&name[..at], &name[at..]),
        _ => (name, ""),
    };
    for n in 0..10_000u32 {
        let candidate = if n == 0 {
            dir.join(name)
        } else {
            dir.join(format!("{stem} ({n}){ext}"))
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(_) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(CommandError::File(format!(
                    "cannot write {}: {e}",
                    candidate.display()
                )));
            }
        }
    }
    Err(CommandError::File(format!(
        "no free name for {name} in {}",
        dir.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn scheme_paths_name_a_room_and_a_file() {
        let thumb = ImageRequest::parse(&format!("/5b0c-77/{ID}/thumb")).unwrap();
        assert_eq!((thumb.room_id.as_str(), thumb.thumb), ("5b0c-77", true));
        assert!(!ImageRequest::parse(&format!("/r1/{ID}")).unwrap().thumb);
        for bad in [
            format!("/r1/{ID}/other"),
            format!("/../{ID}"),
            "/r1/not-an-id".to_owned(),
            format!("/r1/{ID}/thumb/more"),
            format!("//{ID}"),
        ] {
            assert_eq!(ImageRequest::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn a_taken_name_gets_a_number_and_odd_names_are_made_safe() {
        let dir = tempfile::tempdir().unwrap();
        let first = reserve(dir.path(), "cat.png").unwrap();
        let second = reserve(dir.path(), "cat.png").unwrap();
        let third = reserve(dir.path(), "cat.png").unwrap();
        assert_eq!(first, dir.path().join("cat.png"));
        assert_eq!(second, dir.path().join("cat (1).png"));
        assert_eq!(third, dir.path().join("cat (2).png"));
        assert_eq!(
            reserve(dir.path(), "README").unwrap(),
            dir.path().join("README")
        );
        assert_eq!(safe_name(".bashrc"), "bashrc");
        assert_eq!(safe_name("a:b?.txt"), "a_b_.txt");
        assert_eq!(safe_name(".."), "download");
    }

    #[test]
    fn only_images_are_served_and_the_cache_is_bounded() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(image_type(b"<svg xmlns="), None);
        let mut cache = ThumbCache::default();
        let image = |n: usize| Image {
            bytes: Bytes::from(vec![0u8; n]),
            content_type: "image/png",
        };
        let key = |n: u8| ("r".to_owned(), FileId::from_bytes([n; 16]));
        cache.put(key(1), image(CACHE_BYTES / 2));
        cache.put(key(2), image(CACHE_BYTES / 2));
        assert!(cache.get(&key(1)).is_some());
        cache.put(key(3), image(1));
        assert!(cache.get(&key(1)).is_none(), "the oldest went");
        assert!(cache.get(&key(3)).is_some());
        assert!(cache.bytes <= CACHE_BYTES);
    }
}

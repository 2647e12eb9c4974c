//! The files of queued messages: what an outbox entry keeps of each, the
//! spool that holds the bytes the webview handed over, and the checks made
//! before anything is uploaded.
//!
//! A file comes in two ways. A file dropped from the file manager is a
//! *path*: Rust reads it when it uploads, the webview never sees its bytes.
//! A file attached with the attach button or pasted is *staged*: the
//! webview sends its bytes once (`stage_file`, a raw IPC body) and Rust
//! writes them to `outbox-files/` in the data dir, a file the outbox owns
//! from then on and removes when the entry is sent or discarded. Staged
//! files no entry took (the app quit in between) are removed when the
//! outbox loads.
//!
//! Once uploaded, a file's id is kept in the entry on disk, so an app
//! restart posts with it instead of uploading again. Ids belong to the
//! session that uploaded them: a post the server refuses with `400` while
//! the entry has ids (another session's, or swept after a day) uploads
//! once more and posts again.

use std::path::{Path, PathBuf};

use hearth_proto::{FileName, MAX_FILES_PER_MESSAGE};
use serde::{Deserialize, Serialize};

use crate::error::CommandError;

/// The spool's folder in the data dir.
pub const SPOOL_DIR: &str = "outbox-files";

/// One file of a queued message, as stored in `outbox.json` (and shown to
/// the webview as part of the entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedFile {
    /// The name the message shows (a valid [`FileName`]).
    pub name: String,
    /// Bytes, when it was queued.
    pub size: u64,
    /// The type the webview declared (`""`: none); the server decides from
    /// the bytes anyway.
    #[serde(rename = "type", default)]
    pub content_type: String,
    /// Where the bytes are: the dropped file, or the spool copy.
    pub path: PathBuf,
    /// True when `path` is a spool copy (removed with the entry).
    #[serde(default)]
    pub spooled: bool,
    /// The upload's id, once uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
}

/// A file the webview staged: its bytes are in the spool.
#[derive(Debug, Clone, Serialize)]
pub struct StagedFile {
    /// What `post_message` names it by.
    pub staged: String,
    pub name: String,
    pub size: u64,
    #[serde(rename = "type")]
    pub content_type: String,
}

/// A dropped file, as the webview lists it before sending.
#[derive(Debug, Clone, Serialize)]
pub struct DroppedFile {
    pub path: PathBuf,
    pub name: String,
    pub size: u64,
}

/// A file `post_message` is asked to send: `{staged, name?, type?}` (from
/// `stage_file`) or `{path, name?, type?}` (dropped).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Attachment {
    #[serde(default)]
    pub staged: Option<String>,
    #[serde(default)]
    pub path: Option<PathBuf>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub content_type: Option<String>,
}

/// The spool folder of a data dir.
pub fn spool_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(SPOOL_DIR)
}

/// Writes bytes the webview sent to a new spool file (synced: the entry
/// that refers to it may be the only copy after a crash).
pub fn stage(
    data_dir: &Path,
    bytes: &[u8],
    name: &str,
    content_type: &str,
    max_bytes: Option<u64>,
) -> Result<StagedFile, CommandError> {
    use std::io::Write;
    let name = FileName::parse(name)?.as_str().to_owned();
    let size = bytes.len() as u64;
    check_size(&name, size, max_bytes)?;
    let dir = spool_dir(data_dir);
    let storage = |e: std::io::Error| CommandError::Storage(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(&dir).map_err(storage)?;
    let staged = format!("staged-{}", crate::rooms::uuid_v4());
    let path = dir.join(&staged);
    let mut file = std::fs::File::create(&path).map_err(storage)?;
    file.write_all(bytes).map_err(storage)?;
    file.sync_all().map_err(storage)?;
    Ok(StagedFile {
        staged,
        name,
        size,
        content_type: content_type.to_owned(),
    })
}

/// What a dropped path is: a regular file's name and size; a folder or a
/// missing file is refused with a sentence.
pub fn describe_dropped(path: &Path) -> Result<DroppedFile, CommandError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| CommandError::BadInput(format!("Cannot read {}: {e}.", path.display())))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if meta.is_dir() {
        return Err(CommandError::BadInput(format!(
            "“{name}” is a folder: Hearth sends files, not folders."
        )));
    }
    Ok(DroppedFile {
        path: path.to_owned(),
        name,
        size: meta.len(),
    })
}

/// Turns `post_message`'s attachments into the entry's files: staged ones
/// must be in the spool, dropped ones readable files; each within
/// `max_bytes` when it is known.
pub fn resolve(
    data_dir: &Path,
    attachments: &[Attachment],
    max_bytes: Option<u64>,
) -> Result<Vec<QueuedFile>, CommandError> {
    if attachments.len() > MAX_FILES_PER_MESSAGE {
        return Err(CommandError::BadInput(format!(
            "A message can share at most {MAX_FILES_PER_MESSAGE} files."
        )));
    }
    attachments
        .iter()
        .map(|a| {
            let (path, spooled, default_name) = match (&a.staged, &a.path) {
                (Some(staged), None) => {
                    let Some(path) = staged_path(data_dir, staged).filter(|p| p.is_file()) else {
                        return Err(CommandError::BadInput(
                            "That attachment is gone: attach the file again.".into(),
                        ));
                    };
                    (path, true, None)
                }
                (None, Some(path)) => {
                    let dropped = describe_dropped(path)?;
                    (dropped.path, false, Some(dropped.name))
                }
                _ => {
                    return Err(CommandError::BadInput(
                        "An attachment is either staged or a path.".into(),
                    ));
                }
            };
            let size = std::fs::metadata(&path)
                .map_err(|e| {
                    CommandError::BadInput(format!("Cannot read {}: {e}.", path.display()))
                })?
                .len();
            let name = a.name.clone().or(default_name).unwrap_or_default();
            let name = FileName::parse(&name)?.as_str().to_owned();
            check_size(&name, size, max_bytes)?;
            Ok(QueuedFile {
                name,
                size,
                content_type: a.content_type.clone().unwrap_or_default(),
                path,
                spooled,
                file_id: None,
            })
        })
        .collect()
}

/// The spool file of a `staged` name `stage` gave (`None` for any other
/// name: nothing outside the spool is ever named).
fn staged_path(data_dir: &Path, staged: &str) -> Option<PathBuf> {
    let valid = staged
        .strip_prefix("staged-")
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'));
    valid.then(|| spool_dir(data_dir).join(staged))
}

/// Removes the spool files of staged attachments that were not queued
/// (the message was refused): the webview stages them again if it retries.
pub fn remove_staged(data_dir: &Path, attachments: &[Attachment]) {
    for staged in attachments.iter().filter_map(|a| a.staged.as_deref()) {
        if let Some(path) = staged_path(data_dir, staged) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Refuses a file over the server's limit, before any byte is uploaded.
pub fn check_size(name: &str, size: u64, max_bytes: Option<u64>) -> Result<(), CommandError> {
    match max_bytes {
        Some(max) if size > max => Err(CommandError::TooLarge {
            name: name.to_owned(),
            size,
            max,
        }),
        _ => Ok(()),
    }
}

/// Removes the spool copies among `files` (the entry was sent or dropped).
pub fn remove_spooled(files: &[QueuedFile]) {
    for file in files.iter().filter(|f| f.spooled) {
        if let Err(e) = std::fs::remove_file(&file.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(cause = %e, path = %file.path.display(), "removing a spooled file failed");
        }
    }
}

/// Removes spool files no entry refers to (staged, then never queued).
pub fn sweep_spool(data_dir: &Path, kept: &[&Path]) {
    let Ok(dir) = std::fs::read_dir(spool_dir(data_dir)) else {
        return;
    };
    for item in dir.flatten() {
        let path = item.path();
        if !kept.iter().any(|k| *k == path) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// `31.2 MB`, as a person reads sizes: the same rule as `humanSize` in
/// `ui/file-rules.js` (1 KB = 1024 bytes; one decimal, none when whole or
/// from 100 on).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return if bytes == 1 {
            "1 byte".to_owned()
        } else {
            format!("{bytes} bytes")
        };
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    value /= 1024.0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let mut shown = if value >= 100.0 {
        format!("{}", value.round())
    } else {
        format!("{:.1}", (value * 10.0).round() / 10.0)
    };
    if let Some(whole) = shown.strip_suffix(".0") {
        shown = whole.to_owned();
    }
    if shown == "1024" && unit + 1 < UNITS.len() {
        shown = "1".to_owned();
        unit += 1;
    }
    format!("{shown} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_bytes_land_in_the_spool_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let staged = stage(dir.path(), b"hello", "note.txt", "text/plain", Some(10)).unwrap();
        assert_eq!((staged.size, staged.name.as_str()), (5, "note.txt"));
        let files = resolve(
            dir.path(),
            &[Attachment {
                staged: Some(staged.staged.clone()),
                name: Some("note.txt".into()),
                ..Attachment::default()
            }],
            Some(10),
        )
        .unwrap();
        assert!(files[0].spooled);
        assert_eq!(std::fs::read(&files[0].path).unwrap(), b"hello");

        let over = stage(dir.path(), &[0; 11], "big.bin", "", Some(10)).unwrap_err();
        assert_eq!(
            over.to_string(),
            "big.bin is 11 bytes; this server takes files up to 10 bytes."
        );
        assert!(stage(dir.path(), b"x", "a/b", "", None).is_err());
        // A staged name from elsewhere never reaches outside the spool.
        let escape = Attachment {
            staged: Some("../outbox.json".into()),
            name: Some("x".into()),
            ..Attachment::default()
        };
        assert!(resolve(dir.path(), &[escape], None).is_err());

        assert_eq!(staged_path(dir.path(), "staged-"), None);
        assert_eq!(staged_path(dir.path(), "staged-../x"), None);

        remove_staged(
            dir.path(),
            &[Attachment {
                staged: Some(staged.staged),
                ..Attachment::default()
            }],
        );
        assert_eq!(std::fs::read_dir(spool_dir(dir.path())).unwrap().count(), 0);
        stage(dir.path(), b"left", "left.txt", "", None).unwrap();
        sweep_spool(dir.path(), &[]);
        assert_eq!(std::fs::read_dir(spool_dir(dir.path())).unwrap().count(), 0);
    }

    #[test]
    fn folders_are_refused_and_files_described() {
        let dir = tempfile::tempdir().unwrap();
        let refused = describe_dropped(dir.path()).unwrap_err();
        assert!(refused.to_string().contains("is a folder"), "{refused}");
        let path = dir.path().join("photo.jpg");
        std::fs::write(&path, [1, 2, 3]).unwrap();
        let dropped = describe_dropped(&path).unwrap();
        assert_eq!((dropped.name.as_str(), dropped.size), ("photo.jpg", 3));
    }

    #[test]
    fn sizes_read_like_a_person_writes_them() {
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(900), "900 bytes");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(25 * 1024 * 1024), "25 MB");
        assert_eq!(human_size(32_715_571), "31.2 MB");
    }
}

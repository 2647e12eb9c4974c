//! Uploaded files' bytes (protocol v1.1, "Files and images"): where they are
//! kept, how an upload is received, and how they are served back.
//!
//! - **One interface, two places** ([`FileStore`]): the `object_store`
//!   crate's API over a folder (`data_dir/files` by default, or a shared
//!   mount: `--files /path`) or an S3-compatible bucket (`--files
//!   s3://bucket?endpoint=…`), so every node of a cluster serves every file.
//!   An upload's bytes are `files/<id>`, its thumbnail `thumbs/<id>`;
//!   written once, never changed.
//! - **Receiving** ([`FileStore::receive`]): the body streams to a temporary
//!   file (fsynced) while its size is counted against the limit and its
//!   SHA-256 (the `ETag`) computed, so no upload is ever held in memory
//!   whole. The type is decided from the first bytes ([`kind`]); an image
//!   gets its thumbnail made off the async runtime ([`thumbnail`]). Then
//!   the file goes into the store (in bounded chunks; a folder store writes
//!   a staging file, fsyncs and renames), and only then is the record
//!   returned, for the broker to keep: a `201` means the bytes are durable.
//! - **Serving** ([`FileStore::read`]): a byte range streamed from the
//!   store, never the whole file in memory.
//! - **Forgetting** ([`sweep`]): uploads no retained message refers to are
//!   removed 24 h after they were made, on every backend; so are bytes
//!   whose record was never written (a node that died mid-upload).
//!
//! The records themselves (name, type, who uploaded, which messages refer
//! to it) are the broker's ([`crate::broker::FileRecord`]).

pub mod kind;
pub mod sweep;
pub mod thumbnail;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use hearth_proto::{FileId, FileName};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

use crate::broker::FileRecord;
use crate::config::{Config, FileStorage, S3Config};

/// An upload no retained message refers to is removed this long after it
/// was made.
pub const UNREFERENCED_TTL: Duration = Duration::from_secs(24 * 3600);

/// Where the first bytes of an upload are kept to decide its type.
const SNIFF_BYTES: usize = 8192;
/// Uploads written to the store at once; the rest wait, so that many
/// parallel uploads cost the server a bounded amount of memory.
const STORE_WRITES: usize = 2;

/// Why an upload or a download failed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The body is over the limit (the number).
    #[error("the file is too large: at most {0} bytes")]
    TooLarge(u64),
    /// The body is empty.
    #[error("the file is empty")]
    Empty,
    /// The client's body broke off.
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
    /// The bytes are not in the store (swept, or never written).
    #[error("no such file")]
    Missing,
    /// The store or the disk failed.
    #[error("file storage failed: {0}")]
    Storage(String),
}

impl From<object_store::Error> for FileError {
    fn from(err: object_store::Error) -> Self {
        match err {
            object_store::Error::NotFound { .. } => FileError::Missing,
            other => FileError::Storage(other.to_string()),
        }
    }
}

impl From<std::io::Error> for FileError {
    fn from(err: std::io::Error) -> Self {
        FileError::Storage(err.to_string())
    }
}

/// A range of a stored file's bytes, streamed.
pub type ByteStream = BoxStream<'static, Result<Bytes, FileError>>;

/// The uploads' bytes, in a folder or a bucket.
pub struct FileStore {
    store: Arc<dyn ObjectStore>,
    /// Where bodies are received before they go into the store.
    staging: PathBuf,
    /// Bytes per part written to the store.
    chunk: usize,
    max_bytes: u64,
    writes: Semaphore,
}

impl FileStore {
    /// Opens the store the configuration names (`data_dir/files` unless
    /// `--files` says otherwise). Fails with a readable reason.
    pub fn open(config: &Config) -> anyhow::Result<Self> {
        let staging = config.data_dir.join("uploading");
        crate::private_fs::create_own_dir(&staging)
            .with_context(|| format!("creating {}", staging.display()))?;
        clear_staging(&staging);
        let storage = config
            .files
            .clone()
            .unwrap_or_else(|| FileStorage::Folder(config.data_dir.join("files")));
        let (store, chunk): (Arc<dyn ObjectStore>, usize) = match &storage {
            FileStorage::Folder(dir) => {
                // Its own folder is tightened; one --files names is the
                // operator's (created owner-only, else left as it is).
                if *dir == config.data_dir.join("files") {
                    crate::private_fs::create_own_dir(dir)
                } else {
                    crate::private_fs::create_dir_all(dir)
                }
                .with_context(|| format!("creating the files folder {}", dir.display()))?;
                let store = LocalFileSystem::new_with_prefix(dir)
                    .with_context(|| format!("opening the files folder {}", dir.display()))?
                    .with_automatic_cleanup(true)
                    .with_fsync(true);
                (Arc::new(store), 1024 * 1024)
            }
            // S3's smallest part is 5 MiB.
            FileStorage::S3(s3) => (Arc::new(s3_store(s3)?), 5 * 1024 * 1024),
        };
        let store: Arc<dyn ObjectStore> = match &storage {
            FileStorage::S3(s3) if !s3.prefix.is_empty() => Arc::new(
                object_store::prefix::PrefixStore::new(store, s3.prefix.as_str()),
            ),
            _ => store,
        };
        Ok(Self {
            store,
            staging,
            chunk,
            max_bytes: config.max_file_bytes,
            writes: Semaphore::new(STORE_WRITES),
        })
    }

    /// The upload limit, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Receives an upload: streams `body` to disk (refusing it past the
    /// limit), decides its type, makes its thumbnail, and writes it to the
    /// store. Returns the record for the broker; nothing of a refused or
    /// broken upload is kept.
    pub async fn receive<S, E>(
        &self,
        name: FileName,
        session: String,
        body: S,
        now_ms: i64,
    ) -> Result<FileRecord, FileError>
    where
        S: futures::Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let received = self.stage(body).await?;
        let kind = kind::detect(&received.head);
        let image = match kind.image {
            Some(format) => thumbnail::make(received.path().to_owned(), format).await,
            None => None,
        };
        let id = FileId::from_bytes(rand::random());
        {
            let _slot = self
                .writes
                .acquire()
                .await
                .map_err(|_| FileError::Storage("shutting down".into()))?;
            self.put_file(&bytes_key(&id), received.path()).await?;
            if let Some(image) = &image {
                self.store
                    .put(&thumb_key(&id), PutPayload::from(image.thumb.clone()))
                    .await?;
            }
        }
        Ok(FileRecord {
            id,
            name: name.to_string(),
            size: received.size,
            content_type: kind.content_type.to_owned(),
            width: image.as_ref().map(|i| i.width),
            height: image.as_ref().map(|i| i.height),
            thumb_type: image.as_ref().map(|i| i.thumb_type.to_owned()),
            sha256: received.sha256,
            session,
            created_ms: now_ms,
        })
    }

    /// Streams the body into a staging file, counting and hashing.
    async fn stage<S, E>(&self, body: S) -> Result<Staged, FileError>
    where
        S: futures::Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let temp = tempfile::NamedTempFile::new_in(&self.staging)?;
        let mut file = tokio::fs::File::from_std(temp.reopen()?);
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        let mut size: u64 = 0;
        let mut body = std::pin::pin!(body);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| FileError::Interrupted(e.to_string()))?;
            size += chunk.len() as u64;
            if size > self.max_bytes {
                return Err(FileError::TooLarge(self.max_bytes));
            }
            if head.len() < SNIFF_BYTES {
                let take = (SNIFF_BYTES - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        if size == 0 {
            return Err(FileError::Empty);
        }
        file.flush().await?;
        file.sync_all().await?;
        Ok(Staged {
            temp,
            size,
            head,
            sha256: hex(&hasher.finalize()),
        })
    }

    /// Copies a staged file into the store in parts of `self.chunk` bytes.
    async fn put_file(&self, key: &ObjectPath, path: &Path) -> Result<(), FileError> {
        let mut file = tokio::fs::File::open(path).await?;
        let upload = self.store.put_multipart(key).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.chunk);
        let mut buffer = vec![0u8; 256 * 1024];
        let result: Result<(), FileError> = async {
            loop {
                let read = file.read(&mut buffer).await?;
                if read == 0 {
                    break;
                }
                writer.wait_for_capacity(1).await?;
                writer.write(&buffer[..read]);
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                writer.finish().await?;
                Ok(())
            }
            Err(err) => {
                let _ = writer.abort().await;
                Err(err)
            }
        }
    }

    /// Streams `range` (all of it when `None`) of an upload's bytes.
    pub async fn read(
        &self,
        id: &FileId,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream, FileError> {
        self.read_key(&bytes_key(id), range).await
    }

    /// An image upload's thumbnail.
    pub async fn thumbnail(&self, id: &FileId) -> Result<Bytes, FileError> {
        Ok(self.store.get(&thumb_key(id)).await?.bytes().await?)
    }

    async fn read_key(
        &self,
        key: &ObjectPath,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream, FileError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(key, options).await?;
        Ok(result.into_stream().map_err(FileError::from).boxed())
    }

    /// Removes an upload's bytes and thumbnail (either may be gone already).
    pub async fn remove(&self, id: &FileId) -> Result<(), FileError> {
        for key in [bytes_key(id), thumb_key(id)] {
            match self.store.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }

    /// Ids of the uploads whose bytes were stored before `cutoff_ms` (ms
    /// since the Unix epoch): the sweep asks the broker about each.
    pub async fn stored_before(&self, cutoff_ms: i64) -> Result<Vec<FileId>, FileError> {
        let prefix = ObjectPath::from("files");
        let mut listing = self.store.list(Some(&prefix));
        let mut old = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            if meta.last_modified.timestamp_millis() >= cutoff_ms {
                continue;
            }
            if let Some(id) = meta
                .location
                .filename()
                .and_then(|name| FileId::parse(name).ok())
            {
                old.push(id);
            }
        }
        Ok(old)
    }
}

/// A body received into a staging file (removed when dropped).
struct Staged {
    temp: tempfile::NamedTempFile,
    size: u64,
    head: Vec<u8>,
    sha256: String,
}

impl Staged {
    fn path(&self) -> &Path {
        self.temp.path()
    }
}

fn bytes_key(id: &FileId) -> ObjectPath {
    ObjectPath::from(format!("files/{id}"))
}

fn thumb_key(id: &FileId) -> ObjectPath {
    ObjectPath::from(format!("thumbs/{id}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Removes what a previous run left half-received.
fn clear_staging(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// An S3-compatible bucket: credentials from the environment (`AWS_*`),
/// the rest from `--files`.
fn s3_store(s3: &S3Config) -> anyhow::Result<object_store::aws::AmazonS3> {
    // object_store's HTTPS goes through reqwest on rustls with no provider
    // of its own: ring, as everywhere in Hearth (a no-op if one is set).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(&s3.bucket)
        .with_region(&s3.region);
    if let Some(endpoint) = &s3.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
    }
    builder
        .build()
        .with_context(|| format!("configuring the S3 bucket {}", s3.bucket))
}

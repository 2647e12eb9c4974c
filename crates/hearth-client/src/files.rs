//! Files (protocol v1.1 "files"): uploads and downloads, streamed.
//!
//! - [`Client::upload_file`] reads the file in chunks as the request body
//!   goes out (with its `Content-Length`, so a server refuses an oversized
//!   upload before any byte is sent), reporting bytes sent so far.
//! - [`Client::upload_bytes`]: bytes already in memory.
//! - [`Client::download_to`] writes the answer's body to a temporary file
//!   beside the destination as it arrives, and renames it into place only
//!   once it is complete: a failed download leaves no partial file.
//! - [`Client::fetch_file`]: a small file (a thumbnail) in memory.
//!
//! A file's URL is the server's (`/api/files/{id}`, `…/thumb`); the
//! session's token goes only to the client's own server.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use hearth_proto::FileInfo;
use reqwest::header;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use crate::{Client, ClientError, check_status};

/// Bytes read from a file per chunk of an upload's body.
const CHUNK: usize = 64 * 1024;
/// The slowest transfer still waited for: a request's timeout grows by one
/// second per this many bytes.
const SLOWEST_BYTES_PER_SEC: u64 = 64 * 1024;
/// A download that receives nothing for this long has failed.
const DOWNLOAD_IDLE: Duration = Duration::from_secs(30);

impl Client {
    /// The URL of a file path the server gave (`/api/files/{id}`), refused
    /// when it would lead elsewhere than this client's server (the token
    /// must not travel).
    fn file_url(&self, path: &str) -> Result<Url, ClientError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| ClientError::InvalidUrl(format!("{path}: {e}")))?;
        if url.origin() != self.base.origin() || !url.path().starts_with("/api/files/") {
            return Err(ClientError::InvalidUrl(format!(
                "{path} is not a file of this server"
            )));
        }
        Ok(url)
    }

    /// How long a transfer of `size` bytes may take in all.
    fn transfer_timeout(&self, size: u64) -> Duration {
        self.request_timeout + Duration::from_secs(size / SLOWEST_BYTES_PER_SEC)
    }

    /// `POST /api/files?name=<name>` with the file at `path` as the body,
    /// streamed from disk; `content_type` absent: the server's default
    /// (`application/octet-stream`; the server decides the type from the
    /// bytes anyway). `on_progress` gets the bytes sent so far after each
    /// chunk. Answers the upload's [`FileInfo`].
    pub async fn upload_file(
        &self,
        path: &Path,
        name: &str,
        content_type: Option<&str>,
        on_progress: impl Fn(u64) + Send + Sync + 'static,
    ) -> Result<FileInfo, ClientError> {
        let file_error =
            |e: std::io::Error| ClientError::File(format!("cannot read {}: {e}", path.display()));
        let file = tokio::fs::File::open(path).await.map_err(file_error)?;
        let size = file.metadata().await.map_err(file_error)?.len();
        // Exactly the `Content-Length` announced, even if the file grows.
        let mut file = file.take(size);
        let shown = path.display().to_string();
        let chunks = async_stream::stream! {
            let mut sent = 0u64;
            loop {
                let mut chunk = vec![0u8; CHUNK];
                match file.read(&mut chunk).await {
                    Ok(0) => break,
                    Ok(n) => {
                        chunk.truncate(n);
                        sent += n as u64;
                        on_progress(sent);
                        yield Ok::<_, std::io::Error>(chunk);
                    }
                    Err(e) => {
                        tracing::warn!(cause = %e, file = %shown, "reading an upload failed");
                        yield Err(e);
                        break;
                    }
                }
            }
        };
        let body = reqwest::Body::wrap_stream(chunks);
        self.upload(body, size, name, content_type).await
    }

    /// `POST /api/files?name=<name>` with `bytes` as the body (see
    /// [`Client::upload_file`]).
    pub async fn upload_bytes(
        &self,
        bytes: impl Into<Bytes>,
        name: &str,
        content_type: Option<&str>,
    ) -> Result<FileInfo, ClientError> {
        let bytes: Bytes = bytes.into();
        let size = bytes.len() as u64;
        self.upload(reqwest::Body::from(bytes), size, name, content_type)
            .await
    }

    async fn upload(
        &self,
        body: reqwest::Body,
        size: u64,
        name: &str,
        content_type: Option<&str>,
    ) -> Result<FileInfo, ClientError> {
        let request = self
            .authorized(self.http.post(self.url("api/files")))
            .query(&[("name", name)])
            .header(header::CONTENT_LENGTH, size)
            .header(
                header::CONTENT_TYPE,
                content_type.unwrap_or("application/octet-stream"),
            )
            .body(body)
            .timeout(self.transfer_timeout(size));
        let response = check_status(request.send().await?).await?;
        Ok(response.json::<FileInfo>().await?)
    }

    /// `GET <url_path>` (a file's `url` or `thumb_url`) into memory: for
    /// thumbnails and other small files.
    pub async fn fetch_file(&self, url_path: &str) -> Result<Bytes, ClientError> {
        let request = self
            .authorized(self.http.get(self.file_url(url_path)?))
            .timeout(self.request_timeout);
        let response = check_status(request.send().await?).await?;
        Ok(response.bytes().await?)
    }

    /// `GET <url_path>` streamed into the file `dest` (created or
    /// replaced): the bytes go to a temporary file beside it, renamed to
    /// `dest` once all arrived. `on_progress` gets `(received, total)`
    /// (`total` from `Content-Length`, when sent). Answers the size.
    pub async fn download_to(
        &self,
        url_path: &str,
        dest: &Path,
        on_progress: impl Fn(u64, Option<u64>) + Send,
    ) -> Result<u64, ClientError> {
        let request = self.authorized(self.http.get(self.file_url(url_path)?));
        let response = tokio::time::timeout(self.request_timeout, request.send())
            .await
            .map_err(|_| ClientError::Network("timed out asking for the file".into()))??;
        let response = check_status(response).await?;
        let total = response.content_length();
        let part = part_path(dest);
        let written = async {
            let write_error = |e: std::io::Error| {
                ClientError::File(format!("cannot write {}: {e}", part.display()))
            };
            let mut out = tokio::fs::File::create(&part).await.map_err(write_error)?;
            let mut body = response.bytes_stream();
            let mut received = 0u64;
            loop {
                let chunk = match tokio::time::timeout(DOWNLOAD_IDLE, body.next()).await {
                    Ok(Some(chunk)) => chunk.map_err(|e| ClientError::Network(e.to_string()))?,
                    Ok(None) => break,
                    Err(_) => {
                        return Err(ClientError::Network(format!(
                            "no data for {} s: the download stalled",
                            DOWNLOAD_IDLE.as_secs()
                        )));
                    }
                };
                out.write_all(&chunk).await.map_err(write_error)?;
                received += chunk.len() as u64;
                on_progress(received, total);
            }
            if let Some(total) = total
                && total != received
            {
                return Err(ClientError::Network(format!(
                    "the download ended after {received} of {total} bytes"
                )));
            }
            out.sync_all().await.map_err(write_error)?;
            Ok(received)
        }
        .await;
        let result = match written {
            Ok(size) => tokio::fs::rename(&part, dest)
                .await
                .map(|()| size)
                .map_err(|e| ClientError::File(format!("cannot write {}: {e}", dest.display()))),
            Err(e) => Err(e),
        };
        if result.is_err() {
            let _ = tokio::fs::remove_file(&part).await;
        }
        result
    }
}

/// The temporary file a download of `dest` is written to: hidden, beside
/// it (so the rename stays on one file system), unique per download.
fn part_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".to_owned());
    dest.with_file_name(format!(".{name}.{}.part", crate::new_client_id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_stay_on_the_clients_server() {
        let client = Client::new("http://10.0.0.2:8989").unwrap();
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            client
                .file_url(&FileInfo::thumb_url_for(id))
                .unwrap()
                .as_str(),
            format!("http://10.0.0.2:8989/api/files/{id}/thumb")
        );
        for elsewhere in [
            "http://evil.example/api/files/x",
            "//evil.example/api/files/x",
            "/api/rooms/general/messages",
        ] {
            assert!(client.file_url(elsewhere).is_err(), "{elsewhere}");
        }
    }

    #[test]
    fn downloads_are_written_beside_their_destination() {
        let part = part_path(Path::new("/home/ana/Downloads/cat.png"));
        assert_eq!(part.parent(), Some(Path::new("/home/ana/Downloads")));
        let name = part.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with(".cat.png.") && name.ends_with(".part"),
            "{name}"
        );
    }
}

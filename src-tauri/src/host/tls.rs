//! HTTPS for hosting: a self-signed certificate made once (rcgen) and kept
//! in the server's data dir, so its fingerprint stays the same across
//! restarts and the people who pinned it keep joining.

use std::path::Path;

use hearth_server::tls::TlsFiles;

use crate::error::CommandError;

const CERT_FILE: &str = "tls-cert.pem";
const KEY_FILE: &str = "tls-key.pem";

/// The host's certificate files in `dir`, made on first use for
/// `localhost`, loopback and this machine's addresses.
pub fn self_signed(dir: &Path) -> Result<TlsFiles, CommandError> {
    let files = TlsFiles {
        cert: dir.join(CERT_FILE),
        key: dir.join(KEY_FILE),
    };
    if files.cert.exists() && files.key.exists() {
        return Ok(files);
    }
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    names.extend(
        super::lan::interface_addresses()
            .into_iter()
            .map(|(_, ip)| ip.to_string()),
    );
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| CommandError::Host(format!("cannot make a certificate: {e}.")))?;
    let store = |e: std::io::Error| CommandError::Storage(format!("the certificate: {e}"));
    std::fs::create_dir_all(dir).map_err(store)?;
    write_private(&files.key, made.signing_key.serialize_pem().as_bytes()).map_err(store)?;
    std::fs::write(&files.cert, made.cert.pem()).map_err(store)?;
    Ok(files)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

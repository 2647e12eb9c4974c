//! HTTPS: `hearth serve --tls-cert --tls-key` with a certificate made here
//! (rcgen). A client that pins the certificate's fingerprint joins and
//! chats; one that does not (system roots only) is refused with a sentence
//! a person can act on, and so is one that pins another certificate.

use hearth_client::{Client, ClientError, StreamTarget};
use hearth_proto::CertFingerprint;
use hearth_server::config::TlsFiles;
use tempfile::TempDir;

use crate::support::*;

/// A self-signed certificate for localhost, written as PEM files.
fn self_signed(dir: &TempDir) -> (TlsFiles, CertFingerprint) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("certificate");
    let files = TlsFiles {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
    };
    std::fs::write(&files.cert, made.cert.pem()).unwrap();
    std::fs::write(&files.key, made.signing_key.serialize_pem()).unwrap();
    (files, CertFingerprint::of_der(made.cert.der()))
}

#[tokio::test]
async fn a_pinned_certificate_joins_and_an_untrusted_one_is_refused() {
    let certs = tempfile::tempdir().unwrap();
    let (files, fingerprint) = self_signed(&certs);
    let server = TestServer::start_with(|c| c.tls = Some(files)).await;
    let address = format!("https://localhost:{}", server.addr.port());

    // Pinned: sign in, follow, post, receive.
    let mut ana = Client::new_pinned(&address, Some(fingerprint)).unwrap();
    ana.sign_in("ana", None).await.expect("pinned sign-in");
    let mut events: Events = Box::pin(
        ana.open_stream(&StreamTarget::Room(room("general")), None)
            .await
            .expect("stream over TLS"),
    );
    read_start(&mut events).await;
    let sent = post(&ana, "general", "over TLS").await;
    assert_eq!(next_message(&mut events).await, sent);

    // Not pinned: the system does not trust a self-signed certificate.
    let mut stranger = Client::new(&address).unwrap();
    let refused = stranger.sign_in("bo", None).await.unwrap_err();
    let ClientError::Certificate(why) = &refused else {
        panic!("expected a certificate error, got {refused:?}");
    };
    assert!(
        why.contains("not trusted") && why.contains("fingerprint"),
        "{why}"
    );
    assert!(!refused.is_retryable());

    // Pinned to another certificate: refused, naming the one presented.
    let other: CertFingerprint = CertFingerprint::of_der(b"another certificate");
    let mut wrong = Client::new_pinned(&address, Some(other)).unwrap();
    let refused = wrong.sign_in("cy", None).await.unwrap_err();
    let ClientError::Certificate(why) = &refused else {
        panic!("expected a certificate error, got {refused:?}");
    };
    assert!(why.contains(&fingerprint.to_string()), "{why}");

    // Nothing the refused clients did reached the room.
    let history = ana.history(&room("general"), None, None).await.unwrap();
    assert_eq!(history, vec![sent]);
    assert_no_message_before_marker(&mut events, &ana, "general").await;
}

#[tokio::test]
async fn the_binary_prints_its_fingerprint_and_refuses_a_bad_key() {
    let certs = tempfile::tempdir().unwrap();
    let (files, fingerprint) = self_signed(&certs);
    let data = tempfile::tempdir().unwrap();
    let cert = files.cert.display().to_string();
    let key = files.key.display().to_string();
    let server = ChildServer::start(data.path(), &["--tls-cert", &cert, "--tls-key", &key]).await;
    assert_eq!(server.fingerprint, Some(fingerprint));
    let mut client = Client::new_pinned(
        &format!("https://localhost:{}", server.addr.port()),
        Some(fingerprint),
    )
    .unwrap();
    client.sign_in("ana", None).await.expect("sign in over TLS");

    // A key that is not PEM: the server does not start, and says why.
    std::fs::write(certs.path().join("bad.pem"), "not a key").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .args(["--tls-cert", &cert, "--tls-key"])
        .arg(certs.path().join("bad.pem"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.pem"), "{stderr}");
}

//! Replays the inputs kept under
//! `fuzz/regressions/{token,legacy_form,log_writes,upload_query,content_disposition,search_query,session_body}/`
//! (crashes the fuzzers found and hand-picked tricky seeds) through the fuzz
//! targets' own property checks, on stable, in every `cargo test`.

#[path = "../../../fuzz/src/proto_props.rs"]
mod proto_props;
#[path = "../../../fuzz/src/search_props.rs"]
mod search_props;
#[path = "../../../fuzz/src/server_props.rs"]
mod server_props;
#[path = "../../../fuzz/src/session_props.rs"]
mod session_props;

use std::path::PathBuf;

/// Runs `check` on every file of `fuzz/regressions/<target>/`, naming the
/// file that fails.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs in {}", dir.display());
    for file in files {
        let input = std::fs::read(&file).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&input));
        assert!(outcome.is_ok(), "{target}: {} fails", file.display());
    }
}

#[test]
fn token() {
    replay("token", server_props::check_token);
}

#[test]
fn legacy_form() {
    replay("legacy_form", server_props::check_legacy_form);
}

#[test]
fn log_writes() {
    replay("log_writes", server_props::check_log_writes);
}

#[test]
fn upload_query() {
    replay("upload_query", server_props::check_upload_query);
}

#[test]
fn content_disposition() {
    replay(
        "content_disposition",
        server_props::check_content_disposition,
    );
}

#[test]
fn search_query() {
    replay("search_query", search_props::check_search_query);
}

#[test]
fn session_body() {
    replay("session_body", session_props::check_session_body);
}

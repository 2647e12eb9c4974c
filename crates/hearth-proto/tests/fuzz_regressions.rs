//! Replays the inputs kept under `fuzz/regressions/{validation,ids,sse}/`
//! (crashes the fuzzers found and hand-picked tricky seeds) through the fuzz
//! targets' own property checks, on stable, in every `cargo test`.

#[path = "../../../fuzz/src/proto_props.rs"]
mod proto_props;

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
fn validation() {
    replay("validation", proto_props::check_validation);
}

#[test]
fn ids() {
    replay("ids", proto_props::check_ids);
}

#[test]
fn sse() {
    replay("sse", proto_props::check_sse);
}

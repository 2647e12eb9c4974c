//! The property checks behind Hearth's fuzz targets. The same files are
//! compiled into the regression tests of `hearth-proto` and `hearth-server`
//! (with `#[path]`), so a stable `cargo test` replays every input kept under
//! `fuzz/regressions/` through exactly these checks.

pub mod proto_props;
pub mod search_props;
pub mod server_props;
pub mod session_props;

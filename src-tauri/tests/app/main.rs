//! The desktop app's core against real room servers, without a Tauri
//! runtime: hosting, joining and following rooms, the outbox across
//! reconnects and restarts. The keychain test is `tests/keychain.rs`.

mod files;
mod host;
mod log;
mod outbox;
mod people;
mod recovery;
mod rooms;
mod support;

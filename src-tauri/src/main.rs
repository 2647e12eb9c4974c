//! The `hearth-desktop` binary: starts the app ([`hearth_desktop::run`]).

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    hearth_desktop::run();
}

//! Build script: Tauri's codegen inputs (the config at the repository root)
//! and the app's access-control manifest: one `allow-<command>` permission
//! per command in `src/command_names.rs`, granted in `capabilities/`.

#[path = "src/command_names.rs"]
mod command_names;

fn main() {
    println!("cargo:rerun-if-changed=src/command_names.rs");
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .config_path("../tauri.conf.json")
            .app_manifest(tauri_build::AppManifest::new().commands(command_names::COMMANDS)),
    )
    .expect("failed to run tauri-build");
}

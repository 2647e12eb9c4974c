//! The app's commands, by name. `build.rs` uses this same file (as a
//! module) to generate an `allow-<command>` permission for each
//! (`tauri_build::AppManifest`), and a test checks that
//! `capabilities/main.json` grants exactly these. A new command goes here,
//! in `generate_handler!` (lib.rs) and in the capability.

/// Every command the webview may call.
pub const COMMANDS: &[&str] = &[
    "host_start",
    "host_stop",
    "host_status",
    "save_host_settings",
    "probe_server",
    "join_room",
    "forget_room",
    "saved_rooms",
    "room_info",
    "list_rooms",
    "room_history",
    "room_history_after",
    "search_messages",
    "follow_rooms",
    "open_view",
    "set_view_rooms",
    "close_view",
    "set_active_room",
    "sign_in_again",
    "post_once",
    "edit_message",
    "delete_message",
    "set_reaction",
    "send_typing",
    "post_message",
    "pending_messages",
    "discard_message",
    "stage_file",
    "save_file",
    "show_in_folder",
    "watch_drops",
];

//! Reads one secret of Hearth's keychain service (`hearth`) from the OS
//! keychain, as the desktop app stores it: what the desktop window tests
//! use to check that a secret is really there (the real Secret Service,
//! not the app's answer).
//!
//! ```sh
//! cargo run -p hearth-desktop --example keychain -- get 'nick hosted ana'
//! cargo run -p hearth-desktop --example keychain -- delete 'nick hosted ana'
//! ```
//!
//! `get` prints the secret and exits 0, or exits 2 when there is none;
//! `delete` removes it (a missing one is fine: a lost keychain, for a
//! test). Either exits 1 on a keychain failure.

use hearth_desktop::secrets::{Keychain, SecretStore};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [command, account] = args.as_slice() else {
        eprintln!("usage: keychain get|delete <account>");
        std::process::exit(64);
    };
    if command == "delete" {
        if let Err(e) = Keychain.delete(account) {
            eprintln!("the keychain failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    if command != "get" {
        eprintln!("usage: keychain get|delete <account>");
        std::process::exit(64);
    }
    match Keychain.get(account) {
        Ok(Some(secret)) => println!("{secret}"),
        Ok(None) => {
            eprintln!("no secret for {account:?}");
            std::process::exit(2);
        }
        Err(e) => {
            eprintln!("the keychain failed: {e}");
            std::process::exit(1);
        }
    }
}

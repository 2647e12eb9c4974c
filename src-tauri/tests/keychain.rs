//! The keychain on the real OS backend (the Secret Service on Linux):
//! store → read → forget → read is none. No mock: this needs a D-Bus session
//! with an unlocked keyring, and fails (never skips) without one. Run it as:
//!
//! ```sh
//! XDG_DATA_HOME=$(mktemp -d) dbus-run-session -- sh -c \
//!   'printf hearth-ci | gnome-keyring-daemon --unlock --components=secrets >/dev/null; cargo test -p hearth-desktop'
//! ```

use std::sync::Arc;

use hearth_desktop::secrets::{self, Keychain, RoomSecret, SecretStore};

fn require_session_bus() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        panic!(
            "this test uses the real Secret Service and needs a D-Bus session with an unlocked \
             keyring, but DBUS_SESSION_BUS_ADDRESS is not set. Run the tests as: \
             XDG_DATA_HOME=$(mktemp -d) dbus-run-session -- sh -c 'printf hearth-ci | \
             gnome-keyring-daemon --unlock --components=secrets >/dev/null; cargo test -p hearth-desktop' \
             (apt packages: dbus gnome-keyring)"
        );
    }
}

#[test]
fn keychain_round_trip_on_the_os_backend() {
    require_session_bus();
    let account = format!("test {}", hearth_client::new_client_id());
    let store = Keychain;
    assert_eq!(
        store.get(&account).unwrap(),
        None,
        "a fresh account is empty"
    );
    store.set(&account, "s3cret password").unwrap();
    assert_eq!(
        store.get(&account).unwrap().as_deref(),
        Some("s3cret password")
    );
    store.set(&account, "changed").unwrap();
    assert_eq!(store.get(&account).unwrap().as_deref(), Some("changed"));
    store.delete(&account).unwrap();
    assert_eq!(store.get(&account).unwrap(), None, "forgotten");
    store.delete(&account).unwrap(); // forgetting twice is fine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_secret_round_trips_through_the_os_keychain() {
    require_session_bus();
    let store: Arc<dyn SecretStore> = Arc::new(Keychain);
    let account = secrets::room_account(
        "http://192.0.2.1:8989/",
        false,
        "general",
        &format!("t{}", &hearth_client::new_client_id()[..8]),
    );
    let secret = RoomSecret {
        token: Some("token-value".into()),
        password: Some("sesame".into()),
    };
    secrets::set_room(&store, &account, &secret).await.unwrap();
    assert_eq!(
        secrets::get_room(&store, &account).await.unwrap(),
        Some(secret)
    );
    secrets::delete(&store, &account).await.unwrap();
    assert_eq!(secrets::get_room(&store, &account).await.unwrap(), None);
}

//! What went wrong at launch that the person should read on the home
//! screen: hosting that the settings ask for at launch and that could not
//! start (the port taken and no other free, the data dir unwritable…).
//! `lib.rs` records it where it starts hosting; `launch_problem` answers it
//! (the home screen asks until hosting runs or a problem is known).

use std::sync::Mutex;

use crate::error::CommandError;

static HOSTING: Mutex<Option<String>> = Mutex::new(None);

/// Records why hosting at launch failed, as a person reads it.
pub fn hosting_failed(err: &CommandError) {
    *HOSTING.lock().unwrap_or_else(|p| p.into_inner()) = Some(sentence(err));
}

fn sentence(err: &CommandError) -> String {
    let why = err.to_string();
    let why = why.strip_prefix("Hosting failed: ").unwrap_or(&why);
    format!("Hosting did not start with Hearth: {why}")
}

/// What went wrong at launch, if anything (`null`: nothing).
#[tauri::command]
pub async fn launch_problem() -> Result<Option<String>, CommandError> {
    Ok(HOSTING.lock().unwrap_or_else(|p| p.into_inner()).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hosting_failure_is_kept_in_words() {
        hosting_failed(&CommandError::Host(
            "port 8989 and the next 10 are taken".into(),
        ));
        assert_eq!(
            HOSTING.lock().unwrap().as_deref(),
            Some("Hosting did not start with Hearth: port 8989 and the next 10 are taken")
        );
    }
}

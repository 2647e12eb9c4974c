//! Properties of `hearth-server` that the fuzz targets `token` and
//! `legacy_form` check. Shared like `proto_props.rs` (see there): the fuzz
//! crate and `crates/hearth-server/tests/fuzz_regressions.rs` both compile
//! this file, next to `proto_props.rs` as a sibling module (it uses
//! `crate::proto_props::check_message_text`).
//!
//! Every `check_*` takes one input's raw bytes and panics when a property
//! fails. Beyond `hearth-server` and `hearth-proto` this uses only crates the
//! server itself depends on (`base64`, `hmac`, `sha2`, `serde_json`,
//! `form_urlencoded`).

#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hearth_proto::{MessageText, Nick};
use hearth_server::auth::{Claims, TokenError, TokenSigner};
use hearth_server::error::ApiError;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::proto_props::check_message_text;

// ---------------------------------------------------------------------------
// token

/// The fuzz targets' signing secret (any key would do: what matters is that
/// the fuzzer's inputs are not signed with it unless a property signs them).
pub const TOKEN_KEY: &[u8] = b"hearth fuzz secret, 32 bytes ok!";

fn signer() -> TokenSigner {
    TokenSigner::new(TOKEN_KEY, Duration::from_secs(3600))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `payload.tag` with the tag computed as the server documents it:
/// `base64url(HMAC-SHA256(payload))`.
pub fn reference_token(payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(TOKEN_KEY).expect("any key length");
    mac.update(payload.as_bytes());
    let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{payload}.{tag}")
}

/// The token `TokenSigner::sign` makes of `claims`:
/// `base64url(claims JSON) . base64url(HMAC-SHA256(first part))`.
pub fn reference_sign(claims: &Claims) -> String {
    let json = serde_json::to_vec(claims).expect("claims serialize");
    reference_token(&URL_SAFE_NO_PAD.encode(json))
}

/// What any accepted token's claims must satisfy.
fn check_claims(claims: &Claims) {
    assert_eq!(
        Nick::parse(claims.nick.as_str()).as_ref().map(Nick::as_str),
        Ok(claims.nick.as_str()),
        "an accepted token carries a valid nick"
    );
    assert!(claims.exp > now_secs(), "an accepted token is not expired");
}

/// `token`: the first byte picks a mode (ASCII `0` to `3` work):
///
/// - `0`: the rest, lossily UTF-8, is a token. `verify` never panics, and it
///   accepts only what `sign` makes: an accepted token is byte for byte the
///   reference signature of the claims it yields.
/// - `1`: `<nick>\xff<edits>`: a token is issued for the nick (`anonymous` if
///   it is not a valid nick) and verifies to the same claims; then the edits
///   (3 bytes each: op, position, byte) change it, and `verify` accepts the
///   result only if it is the untouched token.
/// - `2`: the rest is a claims JSON, signed with the key (as only the server
///   can): `verify` never panics, and accepts only valid, unexpired claims
///   that parse from that JSON.
/// - `3`: the rest, lossily UTF-8, is a payload signed as is (not encoded):
///   `verify` never panics, and accepts only a payload that is base64url
///   (canonical, unpadded) of claims JSON.
pub fn check_token(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => check_any_token(&String::from_utf8_lossy(rest)),
        1 => check_edited_token(rest),
        2 => check_signed_json(rest),
        _ => check_signed_payload(&String::from_utf8_lossy(rest)),
    }
}

fn check_any_token(token: &str) {
    if let Ok(claims) = signer().verify(token) {
        check_claims(&claims);
        assert_eq!(
            token,
            reference_sign(&claims),
            "accepted a token sign did not make"
        );
    }
}

fn check_edited_token(rest: &[u8]) {
    let (nick, edits) = match rest.iter().position(|b| *b == 0xff) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    let nick = Nick::parse(&String::from_utf8_lossy(nick)).unwrap_or_else(|_| Nick::anonymous());
    let signer = signer();
    let (token, claims) = signer.issue(nick.clone());
    assert_eq!(token, reference_sign(&claims), "issue signs as documented");
    let back = signer.verify(&token).expect("a signed token verifies");
    assert_eq!(
        (&back.sid, &back.nick, back.exp),
        (&claims.sid, &claims.nick, claims.exp)
    );
    assert_eq!(back.nick, nick);

    let (other, _) = signer.issue(nick);
    let mut edited = token.clone().into_bytes();
    for edit in edits.chunks(3) {
        let (op, at, byte) = (
            edit[0],
            *edit.get(1).unwrap_or(&0),
            *edit.get(2).unwrap_or(&0),
        );
        let at = if edited.is_empty() {
            0
        } else {
            usize::from(at) * edited.len() / 256
        };
        match op % 6 {
            0 if at < edited.len() => edited[at] = byte,
            1 => edited.insert(at, byte),
            2 if at < edited.len() => {
                edited.remove(at);
            }
            3 => edited.truncate(at),
            4 => edited.push(byte),
            // Another genuine token's tag on this payload, and the reverse.
            _ => {
                let (payload, _) = token.split_once('.').unwrap();
                let (other_payload, other_tag) = other.split_once('.').unwrap();
                edited = if byte % 2 == 0 {
                    format!("{payload}.{other_tag}")
                } else {
                    format!("{other_payload}.{}", token.split_once('.').unwrap().1)
                }
                .into_bytes();
            }
        }
    }
    let edited = String::from_utf8_lossy(&edited);
    match signer.verify(&edited) {
        Ok(_) => assert_eq!(edited, token, "accepted an edited token"),
        Err(e) => assert_eq!(e, TokenError::Invalid, "{edited:?}"),
    }
}

fn check_signed_payload(payload: &str) {
    if let Ok(claims) = signer().verify(&reference_token(payload)) {
        check_claims(&claims);
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .expect("accepted payload is base64url");
        assert_eq!(
            URL_SAFE_NO_PAD.encode(&json),
            payload,
            "canonical base64url"
        );
        let parsed = serde_json::from_slice::<Claims>(&json).expect("accepted claims parse");
        assert_eq!(parsed.sid, claims.sid);
    }
}

fn check_signed_json(json: &[u8]) {
    let token = reference_token(&URL_SAFE_NO_PAD.encode(json));
    let parsed = serde_json::from_slice::<Claims>(json);
    match signer().verify(&token) {
        Ok(claims) => {
            check_claims(&claims);
            let parsed = parsed.expect("accepted claims parse");
            assert_eq!(
                (&claims.sid, &claims.nick, claims.exp),
                (&parsed.sid, &parsed.nick, parsed.exp)
            );
        }
        Err(TokenError::Expired) => {
            assert!(parsed.expect("expired claims parse").exp <= now_secs())
        }
        Err(TokenError::Invalid) => assert!(parsed.is_err(), "valid claims refused"),
        Err(TokenError::Missing) => panic!("verify said Missing"),
    }
}

// ---------------------------------------------------------------------------
// legacy_form

/// `legacy_form`: the input is a `/post` body. Decoding never panics; what it
/// yields obeys the message text rules; and it agrees with a plain
/// `form_urlencoded` reading: a text exactly when the body has one `message`
/// field whose value is a valid text, and then that text.
pub fn check_legacy_form(body: &[u8]) {
    let decoded = hearth_server::routes::decode_post_form(body);
    let messages: Vec<String> = form_urlencoded::parse(body)
        .filter(|(key, _)| key == "message")
        .map(|(_, value)| value.into_owned())
        .collect();
    let expected = match messages.as_slice() {
        [one] => MessageText::parse(one).ok(),
        _ => None,
    };
    match decoded {
        Ok(text) => {
            check_message_text(&text);
            assert_eq!(Some(text), expected, "body {body:?}");
        }
        Err(e) => {
            assert!(matches!(e, ApiError::BadRequest(_)), "{e:?}");
            assert_eq!(expected, None, "refused {body:?}: {e}");
        }
    }
}

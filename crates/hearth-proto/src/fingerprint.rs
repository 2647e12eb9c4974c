//! [`CertFingerprint`]: the SHA-256 fingerprint of a TLS certificate, as a
//! host shows it and a person pins it (`AB:CD:…`, 32 bytes in hex).
//!
//! A host with a self-signed certificate shows its fingerprint; whoever
//! joins pastes it, and the client then accepts exactly that certificate
//! (instead of turning verification off).

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// A certificate's SHA-256 fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertFingerprint([u8; 32]);

impl CertFingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Self {
        CertFingerprint(Sha256::digest(der).into())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Why a fingerprint did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a certificate fingerprint is 64 hexadecimal digits (SHA-256), with or without colons, like AB:CD:…"
)]
pub struct FingerprintError;

impl FromStr for CertFingerprint {
    type Err = FingerprintError;

    /// Accepts `AB:CD:…`, `ab cd …`, `abcd…`, and a `sha256/` or `SHA256:`
    /// prefix (as some tools print it).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let trimmed = input.trim();
        let body = ["sha256/", "SHA256:", "sha256:", "SHA-256:"]
            .iter()
            .find_map(|prefix| trimmed.strip_prefix(prefix))
            .unwrap_or(trimmed);
        let digits: Vec<u8> = body
            .bytes()
            .filter(|b| !matches!(b, b':' | b' ' | b'-'))
            .collect();
        if digits.len() != 64 {
            return Err(FingerprintError);
        }
        let mut bytes = [0u8; 32];
        for (i, pair) in digits.chunks(2).enumerate() {
            let text = std::str::from_utf8(pair).map_err(|_| FingerprintError)?;
            bytes[i] = u8::from_str_radix(text, 16).map_err(|_| FingerprintError)?;
        }
        Ok(CertFingerprint(bytes))
    }
}

impl fmt::Display for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for CertFingerprint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for CertFingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertFingerprint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_print_and_parse_in_the_usual_forms() {
        let fp = CertFingerprint::of_der(b"not really a certificate");
        let shown = fp.to_string();
        assert_eq!(shown.len(), 32 * 3 - 1);
        assert_eq!(shown.parse::<CertFingerprint>().unwrap(), fp);
        let bare: String = shown.chars().filter(|c| *c != ':').collect();
        assert_eq!(bare.to_lowercase().parse::<CertFingerprint>().unwrap(), fp);
        assert_eq!(
            format!("SHA256:{shown}")
                .parse::<CertFingerprint>()
                .unwrap(),
            fp
        );
        let too_long = format!("{shown}:00");
        let not_hex = "ZZ".repeat(32);
        for bad in ["", "AB:CD", too_long.as_str(), not_hex.as_str()] {
            assert!(bad.parse::<CertFingerprint>().is_err(), "{bad}");
        }
    }
}

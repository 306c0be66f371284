//! Values read aloud in the room: fingerprints and key ids in hex groups
//! and in the PGP word list.
//!
//! Hex read aloud is easy to mishear ("b" and "d", "fifteen" and "fifty").
//! The PGP word list gives each byte a word from one of two lists, by
//! whether the byte sits at an even or odd position, so a swapped, dropped
//! or repeated word is heard at once. DNSSEC root key ceremonies read key
//! digests this way.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// A value the room compares aloud, in both forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spoken {
    /// Where the value came from, e.g. `root.fingerprint` or `kid`.
    pub label: String,
    pub hex: String,
    pub words: String,
}

impl Spoken {
    pub fn from_bytes(label: &str, bytes: &[u8]) -> Spoken {
        Spoken {
            label: label.to_string(),
            hex: hex::encode(bytes),
            words: pgp_words::to_words(bytes).join(" "),
        }
    }

    pub fn to_json(&self) -> Value {
        serde_json::json!({ "label": self.label, "hex": self.hex, "words": self.words })
    }
}

/// Hex in groups of four, the way `covenant init` prints a fingerprint.
pub fn grouped(hex: &str) -> String {
    crate::cmd::init::grouped(hex)
}

/// The fingerprints and key ids in a command's JSON output, each once: a
/// key's `kid` and its `fingerprint` are the same 32 bytes.
pub fn values_in(output: &Value) -> Vec<Spoken> {
    let mut found: Vec<Spoken> = Vec::new();
    collect(output, "", &mut found);
    found
}

fn collect(value: &Value, path: &str, found: &mut Vec<Spoken>) {
    match value {
        Value::Object(map) => {
            for (name, v) in map {
                let here = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                if let Some(bytes) = v.as_str().and_then(|s| thumbprint(name, s))
                    && !found.iter().any(|f| f.hex == hex::encode(&bytes))
                {
                    found.push(Spoken::from_bytes(&here, &bytes));
                }
                collect(v, &here, found);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect(v, &format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

/// The 32 bytes of a thumbprint, from a `kid` (base64url) or a
/// `fingerprint` (hex).
fn thumbprint(name: &str, text: &str) -> Option<Vec<u8>> {
    let bytes = match name {
        "kid" => URL_SAFE_NO_PAD.decode(text).ok()?,
        "fingerprint" => hex::decode(text).ok()?,
        _ => return None,
    };
    (bytes.len() == 32).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first and last words of both lists, and the example from the
    /// PGP word list's published description (bytes E5 82 94 F2 E9 A2 27
    /// 48 6E 8B 06 1B 31 CC 52 8F D7 FA 3F 19). The crate writes the words
    /// in lower case; the published list capitalises proper nouns.
    #[test]
    fn bytes_become_the_published_pgp_words() {
        assert_eq!(
            pgp_words::to_words(&[0x00, 0x00]),
            ["aardvark", "adroitness"]
        );
        assert_eq!(pgp_words::to_words(&[0xff, 0xff]), ["zulu", "yucatan"]);
        let bytes = hex::decode("e58294f2e9a227486e8b061b31cc528fd7fa3f19").unwrap();
        assert_eq!(
            pgp_words::to_words(&bytes).join(" "),
            "topmost Istanbul Pluto vagabond treadmill Pacific brackish dictator goldfish \
             Medusa afflict bravado chatter revolver Dupont midsummer stopwatch whimsical \
             cowbell bottomless"
                .to_lowercase()
        );
    }

    #[test]
    fn a_kid_and_its_fingerprint_are_shown_once() {
        let fingerprint = "78c49aac1aa7a2e351233036ffa70bce064e4a83693b9be926fdb8312426ad53";
        let kid = URL_SAFE_NO_PAD.encode(hex::decode(fingerprint).unwrap());
        let output = serde_json::json!({
            "root": { "fingerprint": fingerprint, "kid": kid },
            "store": "s",
        });
        let values = values_in(&output);
        assert_eq!(values.len(), 1);
        assert_eq!(values[0].label, "root.fingerprint");
        assert_eq!(values[0].hex, fingerprint);
        assert!(
            values[0].words.starts_with("island reproduce "),
            "{}",
            values[0].words
        );
    }
}

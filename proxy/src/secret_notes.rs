//! What a cassette says about each secret without holding it, so that replay can be faithful.
//!
//! A cassette never holds a secret: each is a `<secret:N>` placeholder (see `redact.rs`). To
//! replay as Cognito answered, the replayer still needs to know three things about some of
//! them, and the recorder writes them in the exchange line where the placeholder first
//! appears, under `secrets` (`{"7": {...}}`):
//!
//! - **`digest`**: HMAC-SHA256 of the secret under the *cassette key*, in hex. Written only
//!   when recording with `--cassette-key FILE`. The key is 32 random bytes in that file (created
//!   with mode 0600 when missing), never in the cassette; with it, replay can tell the right
//!   password, code or client id from a wrong one even on its first use. Without the key a
//!   digest reveals nothing; with it, short secrets (six-digit codes) can be guessed, so keep
//!   the key file apart from a cassette you share.
//! - **`form`**: for a secret that first appeared in an *answer* (a client id, a session, a
//!   code in an emulator's header, a generated username), the lengths and character classes
//!   of its runs of letters and digits and the punctuation between them (a UUID keeps its
//!   dashes). Replay answers with a fresh value of the same form, so a client that checks a
//!   client id's length or splits an identity id still works. Secrets the client chose
//!   (passwords) never get a form.
//! - **`jwt`**: for a token, its header's `alg`/`kid`/`typ` and its claims, with every claim
//!   but the structural ones ([`KEPT_CLAIMS`]) redacted to placeholders like any other value
//!   (so `client_id` and `sub` carry the same placeholders as the `ClientId` and `sub`
//!   elsewhere in the cassette). Replay serves a token with these claims, its times shifted
//!   to now, signed by a replay key published on the replay's JWKS endpoint.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use hmac::{KeyInit, Mac};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// Claims copied into the cassette as they are: they say what kind of token it is and when,
/// not who it is for or what it opens. Everything else is redacted.
pub const KEPT_CLAIMS: &[&str] = &[
    "iss",
    "token_use",
    "scope",
    "auth_time",
    "iat",
    "exp",
    "nbf",
    "jti",
    "origin_jti",
    "event_id",
    "version",
    "email_verified",
    "phone_number_verified",
    "cognito:groups",
];

/// Header members copied from a recorded token.
const KEPT_HEADER: &[&str] = &["alg", "kid", "typ", "cty", "enc"];

/// The per-cassette key of the `digest`s (see the module docs).
#[derive(Clone)]
pub struct CassetteKey([u8; 32]);

impl CassetteKey {
    /// Reads the key file, or creates it (mode 0600) with a fresh key when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<CassetteKey> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::random();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(|e| Error::io(path, e))?;
                writeln!(file, "{}", hex(&key)).map_err(|e| Error::io(path, e))?;
                Ok(CassetteKey(key))
            }
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Reads an existing key file.
    pub fn load(path: &Path) -> Result<CassetteKey> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(path, &text)
    }

    fn parse(path: &Path, text: &str) -> Result<CassetteKey> {
        unhex(text.trim()).map(CassetteKey).ok_or_else(|| {
            Error::Config(format!(
                "{}: a cassette key is 64 hexadecimal digits (32 bytes) on one line",
                path.display()
            ))
        })
    }

    /// A random key that is never written anywhere: placeholders stay stable within one
    /// process, and no digest is worth writing.
    pub fn ephemeral() -> CassetteKey {
        CassetteKey(rand::random())
    }

    /// HMAC-SHA256 of `secret` under this key.
    pub fn digest(&self, secret: &[u8]) -> [u8; 32] {
        match hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.0) {
            Ok(mut mac) => {
                mac.update(secret);
                mac.finalize().into_bytes().into()
            }
            // HMAC takes keys of any length; this arm cannot run.
            Err(_) => [0; 32],
        }
    }
}

/// Lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 64 hexadecimal digits as 32 bytes.
pub fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// What the cassette says about one placeholder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecretNote {
    /// HMAC-SHA256 under the cassette key, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The form of a secret first seen in an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<Vec<FormPart>>,
    /// A token's header and redacted claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<TokenNote>,
}

/// A recorded token, redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenNote {
    /// `alg`, `kid`, `typ` of the original header.
    pub header: Value,
    /// The claims, all but [`KEPT_CLAIMS`] redacted.
    pub claims: Value,
}

/// One run of a secret's form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FormPart {
    /// A UUID of this version (`"4"`): a `sub` or a user name Cognito generated is checked
    /// against the UUID grammar, version and variant included, by clients and scenarios.
    Uuid {
        /// The version digit.
        uuid: String,
    },
    /// `len` characters drawn from the classes in `chars`: `9` digits, `a` lowercase, `A`
    /// uppercase, `x` lowercase hexadecimal, `X` uppercase hexadecimal, and any other
    /// character literally.
    Run {
        /// Classes and literal characters.
        chars: String,
        /// How many.
        len: usize,
    },
    /// Punctuation, as it was.
    Lit {
        /// The characters.
        lit: String,
    },
}

/// Forms longer than this many parts (base64 with `+` and `/` scattered through it) are
/// written as one run over every class and character seen, so a form stays short.
const MAX_PARTS: usize = 16;

/// The form of a secret (see the module docs).
pub fn form_of(secret: &str) -> Vec<FormPart> {
    if let Some(version) = uuid_version(secret) {
        return vec![FormPart::Uuid {
            uuid: version.to_string(),
        }];
    }
    let mut parts = classes_of(secret);
    // Runs of eight or more hexadecimal digits are hexadecimal (SRP values, salts, ids).
    for part in &mut parts {
        if let FormPart::Run { chars, len } = part {
            if *len >= 8 && chars.contains('9') {
                let run_is = |set: &str| chars.chars().all(|c| set.contains(c));
                if run_is("9a") && hex_runs(secret, false) {
                    *chars = "x".into();
                } else if run_is("9A") && hex_runs(secret, true) {
                    *chars = "X".into();
                }
            }
        }
    }
    parts
}

/// The version digit of a lowercase or uppercase RFC 4122 UUID.
fn uuid_version(s: &str) -> Option<char> {
    let b = s.as_bytes();
    let hex = |i: usize| b[i].is_ascii_hexdigit();
    let ok = b.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && (0..36).filter(|i| ![8, 13, 18, 23].contains(i)).all(hex)
        && matches!(b[19].to_ascii_lowercase(), b'8' | b'9' | b'a' | b'b');
    ok.then(|| b[14] as char)
}

/// Whether every run of eight or more letters and digits in `secret` is hexadecimal.
fn hex_runs(secret: &str, upper: bool) -> bool {
    secret
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|run| run.len() >= 8)
        .all(|run| {
            run.chars().all(|c| {
                c.is_ascii_digit()
                    || (if upper {
                        ('A'..='F').contains(&c)
                    } else {
                        ('a'..='f').contains(&c)
                    })
            })
        })
}

fn classes_of(secret: &str) -> Vec<FormPart> {
    let class = |c: char| match c {
        '0'..='9' => Some('9'),
        'a'..='z' => Some('a'),
        'A'..='Z' => Some('A'),
        _ => None,
    };
    let mut parts: Vec<FormPart> = Vec::new();
    for c in secret.chars() {
        match (class(c), parts.last_mut()) {
            (Some(k), Some(FormPart::Run { chars, len })) => {
                if !chars.contains(k) {
                    chars.push(k);
                }
                *len += 1;
            }
            (Some(k), _) => parts.push(FormPart::Run {
                chars: k.to_string(),
                len: 1,
            }),
            (None, Some(FormPart::Lit { lit })) => lit.push(c),
            (None, _) => parts.push(FormPart::Lit { lit: c.to_string() }),
        }
    }
    if parts.len() <= MAX_PARTS {
        return parts;
    }
    let mut chars = String::new();
    for c in secret.chars() {
        let k = class(c).unwrap_or(c);
        if !chars.contains(k) {
            chars.push(k);
        }
    }
    vec![FormPart::Run {
        chars,
        len: secret.chars().count(),
    }]
}

/// A fresh random value of a form.
pub fn generate(form: &[FormPart]) -> String {
    let mut rng = rand::thread_rng();
    let mut out = String::new();
    for part in form {
        match part {
            FormPart::Uuid { uuid } => {
                let hex = |n: usize, rng: &mut rand::rngs::ThreadRng| -> String {
                    (0..n)
                        .map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)]))
                        .collect()
                };
                let version = uuid
                    .chars()
                    .next()
                    .filter(char::is_ascii_hexdigit)
                    .unwrap_or('4');
                let variant = char::from(b"89ab"[rng.gen_range(0..4)]);
                out.push_str(&format!(
                    "{}-{}-{version}{}-{variant}{}-{}",
                    hex(8, &mut rng),
                    hex(4, &mut rng),
                    hex(3, &mut rng),
                    hex(3, &mut rng),
                    hex(12, &mut rng)
                ));
            }
            FormPart::Lit { lit } => out.push_str(lit),
            FormPart::Run { chars, len } => {
                let mut alphabet: Vec<char> = Vec::new();
                for k in chars.chars() {
                    match k {
                        '9' => alphabet.extend('0'..='9'),
                        'a' => alphabet.extend('a'..='z'),
                        'A' => alphabet.extend('A'..='Z'),
                        'x' => alphabet.extend("0123456789abcdef".chars()),
                        'X' => alphabet.extend("0123456789ABCDEF".chars()),
                        other => alphabet.push(other),
                    }
                }
                if alphabet.is_empty() {
                    alphabet.extend('a'..='z');
                }
                // A cap, so an edited cassette cannot make replay allocate without bound.
                for _ in 0..(*len).min(1 << 16) {
                    out.push(alphabet[rng.gen_range(0..alphabet.len())]);
                }
            }
        }
    }
    out
}

/// The header members worth keeping from a token's header.
pub fn kept_header(header: &Value) -> Value {
    let mut kept = serde_json::Map::new();
    for name in KEPT_HEADER {
        if let Some(v) = header.get(*name) {
            kept.insert((*name).to_string(), v.clone());
        }
    }
    Value::Object(kept)
}

/// Notes about the placeholders first written in one exchange, by number.
pub type Notes = BTreeMap<u64, SecretNote>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_keep_classes_lengths_and_punctuation() {
        let uuid = "3f2a9c1e-77aa-4b1c-9d2e-0123456789ab";
        let form = form_of(uuid);
        assert_eq!(form.len(), 1);
        for _ in 0..50 {
            let fresh = generate(&form);
            assert_eq!(uuid_version(&fresh), Some('4'), "{fresh}");
            assert_ne!(fresh, uuid);
        }
        let identity = "us-east-1:0123abcd";
        let fresh = generate(&form_of(identity));
        assert!(fresh.starts_with(|c: char| c.is_ascii_lowercase()) && fresh.contains(':'));
        let srp_b = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let fresh = generate(&form_of(srp_b));
        assert_eq!(fresh.len(), 64);
        assert!(
            fresh
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{fresh}"
        );
        let client_id = "4e7sn1q0b2gq3j5ajh7o2hbm1d";
        let fresh = generate(&form_of(client_id));
        assert_eq!(fresh.len(), 26);
        assert!(fresh
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        assert_eq!(generate(&form_of("123456")).len(), 6);
        assert!(generate(&form_of("123456"))
            .bytes()
            .all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn scattered_punctuation_collapses_to_one_run() {
        let session = "AYAB/+x".repeat(40);
        let form = form_of(&session);
        assert_eq!(form.len(), 1);
        let fresh = generate(&form);
        assert_eq!(fresh.len(), session.len());
        assert!(fresh
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '+'));
    }

    #[test]
    fn keys_are_made_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let a = CassetteKey::load_or_create(&path).unwrap();
        let b = CassetteKey::load(&path).unwrap();
        assert_eq!(a.digest(b"x"), b.digest(b"x"));
        assert_ne!(a.digest(b"x"), CassetteKey::ephemeral().digest(b"x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "zz").unwrap();
        let err = CassetteKey::load(&path).err().unwrap().to_string();
        assert!(err.contains("64 hexadecimal digits"), "{err}");
    }
}

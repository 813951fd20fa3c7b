//! The client side of Cognito's Secure Remote Password flow: `USER_SRP_AUTH` sends `SRP_A`,
//! Cognito answers with a `PASSWORD_VERIFIER` challenge (`SALT`, `SRP_B`, `SECRET_BLOCK`,
//! `USER_ID_FOR_SRP`), and the client proves it knows the password with
//! `PASSWORD_CLAIM_SIGNATURE`.
//!
//! Cognito's variant of SRP-6a (RFC 5054) is documented only by AWS's own clients, so this follows
//! them exactly: the developer guide's "User pool authentication flow" page
//! (<https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-authentication-flow.html>)
//! names the flow and points to `AuthenticationHelper.js` in amazon-cognito-identity-js
//! (aws-amplify), which the Java and Python clients (pycognito's `aws_srp.py`) copy:
//!
//! - the 3072-bit group of RFC 3526 / RFC 5054 appendix A, `g = 2`, SHA-256;
//! - integers enter hashes in Java's `BigInteger.toByteArray()` form ("padHex"): minimal
//!   big-endian bytes, with one `00` byte in front when the top bit is set. This is *not*
//!   RFC 5054's PAD to the length of N;
//! - `k = H(N | g)`, `u = H(A | B)`, `x = H(salt | H(poolName | username | ":" | password))`;
//! - `S = (B - k * g^x) ^ (a + u * x) mod N`;
//! - key = HKDF-SHA256(ikm = S, salt = u, info = "Caldera Derived Key"), 16 bytes;
//! - `PASSWORD_CLAIM_SIGNATURE = Base64(HMAC_SHA256(key, poolName | USER_ID_FOR_SRP |
//!   SECRET_BLOCK bytes | TIMESTAMP))`.

use std::sync::LazyLock;

use base64::Engine as _;
use num_bigint::BigUint;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use super::{excerpt, ProtocolError, Result};

/// N: the 3072-bit MODP prime of RFC 3526 section 4 (the group RFC 5054 appendix A lists as
/// 3072-bit), as `AuthenticationHelper.js` spells it.
const N_HEX: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1",
    "29024E088A67CC74020BBEA63B139B22514A08798E3404DD",
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245",
    "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D",
    "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D",
    "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9",
    "DE2BCBF6955817183995497CEA956AE515D2261898FA0510",
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64",
    "ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6B",
    "F12FFA06D98A0864D87602733EC86A64521F2B18177B200C",
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB31",
    "43DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
);

/// The HKDF `info` Cognito's clients use to derive the signing key.
const DERIVED_KEY_INFO: &[u8] = b"Caldera Derived Key";

/// The group's constants, computed once.
pub(super) struct Group {
    /// The prime modulus.
    pub(super) n: BigUint,
    /// The generator.
    pub(super) g: BigUint,
    /// SRP-6a's multiplier, `H(N | g)`.
    k: BigUint,
}

pub(super) static GROUP: LazyLock<Group> = LazyLock::new(|| {
    // N_HEX is a constant of valid hexadecimal digits, so parsing cannot fail.
    let n = BigUint::parse_bytes(N_HEX.as_bytes(), 16).expect("N_HEX is valid hexadecimal");
    let g = BigUint::from(2u8);
    let k = hash_to_int(&[&java_bytes(&n), &java_bytes(&g)]);
    Group { n, g, k }
});

/// `n` as Java's `BigInteger.toByteArray()` writes a non-negative number (the JS clients'
/// `padHex`): minimal big-endian bytes, with a leading zero byte when the top bit is set so the
/// number does not read as negative. Cognito hashes numbers in this form.
pub(super) fn java_bytes(n: &BigUint) -> Vec<u8> {
    let mut bytes = n.to_bytes_be();
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    bytes
}

/// SHA-256 of the concatenated parts.
pub(super) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// SHA-256 of the concatenated parts, read as a big-endian number.
pub(super) fn hash_to_int(parts: &[&[u8]]) -> BigUint {
    BigUint::from_bytes_be(&sha256(parts))
}

/// Parses a hexadecimal number from a challenge parameter (`SRP_B`, `SALT`) as leniently as the
/// AWS clients do, so that the helper always reaches the point where the target must check the
/// proof: amazon-cognito-identity-js (`new BigInteger(SRP_B, 16)`, jsbn) skips every character
/// that is not a digit, and pycognito (`int(SRP_B, 16)`) takes surrounding whitespace, a `+`,
/// a `0x` prefix and `_` between digits. Accepted here: surrounding whitespace, a leading `+`,
/// a `0x`/`0X` prefix, and `-`, `_`, `:` or whitespace between digits (a UUID's dashes).
/// Refused: no digits at all, a leading `-` (both clients read a negative number, which no SRP
/// value is) and any other character (which neither client reads as that digit).
pub(super) fn parse_hex(what: &'static str, value: &str) -> Result<BigUint> {
    let err = || ProtocolError::Hex {
        what,
        value: excerpt(value),
    };
    let trimmed = value.trim();
    let unsigned = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let digits = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
        .unwrap_or(unsigned);
    let digits: String = digits
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ':') && !c.is_whitespace())
        .collect();
    if trimmed.starts_with('-')
        || digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(err());
    }
    BigUint::parse_bytes(digits.as_bytes(), 16).ok_or_else(err)
}

/// The bytes of `SECRET_BLOCK` as amazon-cognito-identity-js reads them
/// (`Buffer.from(SECRET_BLOCK, 'base64')` in `CognitoUser.js`), which never refuses a string:
/// both the standard and the URL-safe alphabet count (`-` as `+`, `_` as `/`), other
/// characters (whitespace, `$`, ...) are skipped, missing padding is fine, the first `=` ends
/// the data, and bits that do not fill a byte are dropped. For well-formed base64, which is
/// what Cognito sends, this is plain base64 decoding (pycognito's `standard_b64decode` gives
/// the same bytes). Cognito's clients pass `SECRET_BLOCK` back unchanged as
/// `PASSWORD_CLAIM_SECRET_BLOCK`; its bytes only enter the signature.
pub(super) fn secret_block_bytes(secret_block: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(secret_block.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in secret_block.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// `x = H(salt | H(prefix | username | ":" | password))`, where `prefix` is the pool name for a
/// user and the device group key for a device. The salt passes through a number first, as in
/// the JS client (`new BigInteger(SALT, 16)`), so leading zero digits do not change it.
pub(super) fn private_x(salt: &BigUint, prefix: &str, username: &str, password: &str) -> BigUint {
    let identity = sha256(&[
        prefix.as_bytes(),
        username.as_bytes(),
        b":",
        password.as_bytes(),
    ]);
    hash_to_int(&[&java_bytes(salt), &identity])
}

/// 128 random bytes: the size of `a` the AWS clients draw (`randomBytes(128)`).
fn random_private_key() -> [u8; 128] {
    let mut a = [0u8; 128];
    rand::thread_rng().fill_bytes(&mut a);
    a
}

/// The client's ephemeral SRP key pair for one authentication: the private `a` and the public
/// `A = g^a mod N` that goes out as `SRP_A`.
///
/// Use one per `InitiateAuth`; the `PASSWORD_VERIFIER` answer must come from the same client that
/// produced its `SRP_A`. Source: <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-authentication-flow.html>.
#[derive(Clone)]
pub struct SrpClient {
    /// The part of the user pool id after `_` (or, for a device, the `DeviceGroupKey`), which
    /// Cognito mixes into `x` and the signature.
    pool_name: String,
    a: BigUint,
    big_a: BigUint,
}

impl std::fmt::Debug for SrpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key stays out of logs and failure messages.
        f.debug_struct("SrpClient")
            .field("pool_name", &self.pool_name)
            .field("srp_a", &self.srp_a_hex())
            .finish_non_exhaustive()
    }
}

impl SrpClient {
    /// A client for the user pool `user_pool_id` (e.g. `us-east-1_AbCdEfGhI`) with a fresh random
    /// 128-byte private key, as the AWS clients make.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::UserPoolId`] if the id has no pool name after `_`.
    pub fn new(user_pool_id: &str) -> Result<Self> {
        Self::with_private_key(user_pool_id, &random_private_key())
    }

    /// A client with the given private key `a` (big-endian bytes), for reproducible tests.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::UserPoolId`] if the id has no pool name after `_`; [`ProtocolError::Srp`] if
    /// `a` is zero (then `A = 1`, a degenerate key no real client sends).
    pub fn with_private_key(user_pool_id: &str, a: &[u8]) -> Result<Self> {
        // AWS's clients take `split('_')[1]`; region names contain no `_`, so that is the pool
        // name proper.
        let pool_name = user_pool_id
            .split('_')
            .nth(1)
            .filter(|name| !name.is_empty())
            .ok_or_else(|| ProtocolError::UserPoolId(excerpt(user_pool_id)))?;
        Self::from_parts(pool_name, a)
    }

    /// A client with `prefix` (pool name or device group key) and private key `a`.
    fn from_parts(prefix: &str, a: &[u8]) -> Result<Self> {
        let group = &*GROUP;
        let a = BigUint::from_bytes_be(a);
        if a == BigUint::ZERO {
            return Err(ProtocolError::Srp("the private key a is zero"));
        }
        let big_a = group.g.modpow(&a, &group.n);
        Ok(Self {
            pool_name: prefix.to_owned(),
            a,
            big_a,
        })
    }

    /// A client for `DEVICE_SRP_AUTH` with a fresh random private key: device SRP puts the
    /// device's `DeviceGroupKey` where user SRP puts the pool name. Pair it with
    /// [`device_password_verifier`](super::device_password_verifier).
    ///
    /// Source: <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-device-tracking.html>.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::Empty`] if `device_group_key` is empty.
    pub fn for_device(device_group_key: &str) -> Result<Self> {
        if device_group_key.is_empty() {
            return Err(ProtocolError::Empty("DeviceGroupKey"));
        }
        Self::from_parts(device_group_key, &random_private_key())
    }

    /// `SRP_A` for `InitiateAuth` / `AdminInitiateAuth` (`AuthParameters.SRP_A`): `A` in lower
    /// case hexadecimal without leading zeros, as the AWS clients send it.
    pub fn srp_a_hex(&self) -> String {
        self.big_a.to_str_radix(16)
    }

    /// `PASSWORD_CLAIM_SIGNATURE` for the `PASSWORD_VERIFIER` challenge.
    ///
    /// `username_for_srp` is the challenge's `USER_ID_FOR_SRP` (not the name the user signed in
    /// with: Cognito hashes the internal one); `srp_b_hex`, `salt_hex` and `secret_block_b64` are
    /// the challenge's `SRP_B`, `SALT` and `SECRET_BLOCK`; `timestamp` is the `TIMESTAMP` sent
    /// alongside, in [`cognito_timestamp`]'s format.
    ///
    /// Source: <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-authentication-flow.html>
    /// and `AuthenticationHelper.js` / `CognitoUser.js` in amazon-cognito-identity-js.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::Hex`] for an `SRP_B` or `SALT` that no AWS client reads as a number (see
    /// `parse_hex`; `SECRET_BLOCK` is read as leniently as the JS client does and never refused);
    /// [`ProtocolError::Srp`] if `B mod N = 0` or `u = 0` (RFC 5054 section 2.5.4: the client
    /// must abort; the AWS clients do too).
    pub fn password_verifier(
        &self,
        username_for_srp: &str,
        password: &str,
        srp_b_hex: &str,
        salt_hex: &str,
        secret_block_b64: &str,
        timestamp: &str,
    ) -> Result<String> {
        self.signature(
            &self.pool_name,
            username_for_srp,
            password,
            srp_b_hex,
            salt_hex,
            secret_block_b64,
            timestamp,
        )
    }

    /// The signature, with `prefix` (the pool name for a user, the device group key for a
    /// device) in `x` and in the signed message.
    #[allow(clippy::too_many_arguments)] // each is one challenge parameter, named as Cognito does
    pub(super) fn signature(
        &self,
        prefix: &str,
        username: &str,
        password: &str,
        srp_b_hex: &str,
        salt_hex: &str,
        secret_block_b64: &str,
        timestamp: &str,
    ) -> Result<String> {
        let group = &*GROUP;
        let big_b = parse_hex("SRP_B", srp_b_hex)?;
        let salt = parse_hex("SALT", salt_hex)?;
        let secret_block = secret_block_bytes(secret_block_b64);

        let b_mod_n = &big_b % &group.n;
        if b_mod_n == BigUint::ZERO {
            return Err(ProtocolError::Srp(
                "SRP_B mod N is zero; refusing the challenge",
            ));
        }
        // u hashes B as sent (not reduced), as the AWS clients do.
        let u = hash_to_int(&[&java_bytes(&self.big_a), &java_bytes(&big_b)]);
        if u == BigUint::ZERO {
            return Err(ProtocolError::Srp(
                "u = H(A | B) is zero; refusing the challenge",
            ));
        }
        let x = private_x(&salt, prefix, username, password);

        // (B - k * g^x) mod N, kept non-negative: the JS and Python clients compute the
        // difference as a signed integer and reduce it mod N inside modPow, which is the same.
        let kv = (&group.k * group.g.modpow(&x, &group.n)) % &group.n;
        let base = (b_mod_n + &group.n - kv) % &group.n;
        let s = base.modpow(&(&self.a + &u * &x), &group.n);

        let mut key = [0u8; 16];
        hkdf::Hkdf::<Sha256>::new(Some(&java_bytes(&u)), &java_bytes(&s))
            .expand(DERIVED_KEY_INFO, &mut key)
            // 16 bytes is far below HKDF-SHA256's limit of 255 * 32 bytes.
            .expect("16 bytes is a valid hkdf-sha256 output length");

        let signature = super::hmac_sha256(
            &key,
            &[
                prefix.as_bytes(),
                username.as_bytes(),
                &secret_block,
                timestamp.as_bytes(),
            ],
        );
        Ok(base64::engine::general_purpose::STANDARD.encode(signature))
    }
}

/// The `TIMESTAMP` of a `PASSWORD_VERIFIER` / `DEVICE_PASSWORD_VERIFIER` answer for the instant
/// `unix` (seconds since the Unix epoch): `EEE MMM d HH:mm:ss 'UTC' yyyy` in English, day of
/// month without a leading zero, e.g. `Tue Nov 3 16:42:57 UTC 2026`.
///
/// Cognito checks the signature over this exact string; the AWS clients format it this way
/// (amazon-cognito-identity-js `DateHelper.getNowString`, pycognito's
/// `get_cognito_formatted_timestamp`). Instants outside years -9999..=9999 are shown as the
/// nearest one inside: Cognito refuses a timestamp that far from now whatever its spelling.
/// Source:
/// <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-authentication-flow.html>.
pub fn cognito_timestamp(unix: i64) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short] [month repr:short] [day padding:none] \
         [hour]:[minute]:[second] UTC [year]"
    );
    let min = time::PrimitiveDateTime::MIN.assume_utc().unix_timestamp();
    let max = time::PrimitiveDateTime::MAX.assume_utc().unix_timestamp();
    // Clamped into the range `time` represents, so the conversion cannot fail.
    let at = time::OffsetDateTime::from_unix_timestamp(unix.clamp(min, max))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    // Formatting into a String fails only when the value lacks a component the description
    // names; an OffsetDateTime has date, time and offset.
    at.format(format)
        .expect("an OffsetDateTime has every component of the timestamp format")
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    // The vectors below come from pycognito 2024.5.1 (`pip install pycognito==2024.5.1`), whose
    // `aws_srp.py` ports amazon-cognito-identity-js. Its `AWSSRP.process_challenge` ran with the
    // private key and the clock fixed; a fake server (private `b` below, `B = k*v + g^b`) made
    // a valid `SRP_B` for the password:
    //
    //   a = bytes((i * 7 + 3) % 256 for i in range(128))
    //   b = bytes((i * 13 + 5) % 256 for i in range(128))
    //   x = hex_to_long(hex_hash(pad_hex(SALT) + hash_sha256(f"AbCdEfGhI{USER_ID}:{PASSWORD}")))
    //   B = (k * pow(g, x, N) + pow(g, b, N)) % N
    //   srp.small_a_value = a; srp.large_a_value = srp.calculate_a()
    //   pycognito.aws_srp.datetime = <module whose datetime.utcnow() is 2026-11-03 16:42:57>
    //   srp.process_challenge({"USER_ID_FOR_SRP": USER_ID, "SALT": SALT, "SRP_B": B_HEX,
    //                          "SECRET_BLOCK": SECRET_BLOCK, "USERNAME": "alice"}, ...)

    /// The fixed private key `a` of the vectors.
    pub(in super::super) fn vector_a() -> Vec<u8> {
        (0..128u32).map(|i| ((i * 7 + 3) % 256) as u8).collect()
    }
    /// The fake server's private `b` of the vectors.
    pub(in super::super) fn vector_b() -> Vec<u8> {
        (0..128u32).map(|i| ((i * 13 + 5) % 256) as u8).collect()
    }
    /// `SECRET_BLOCK` of the vectors: bytes 200..=255 then 0..40, base64.
    pub(in super::super) const SECRET_BLOCK: &str = "yMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OHi4+Tl5ufo6err7O3u7/Dx8vP09fb3+Pn6+/z9/v8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYn";
    /// `TIMESTAMP` of the vectors (2026-11-03T16:42:57Z).
    pub(in super::super) const TIMESTAMP: &str = "Tue Nov 3 16:42:57 UTC 2026";

    const POOL_ID: &str = "us-east-1_AbCdEfGhI";
    const USER_ID: &str = "9b1c5e2a-1111-4c2b-9f00-0a1b2c3d4e5f";
    const PASSWORD: &str = "Passw0rd!correct-horse";
    const SALT: &str = "c3a1f5e2d4b6a8907f1e2d3c4b5a6978";
    const A_HEX: &str = "af965eeeacb97c2f08bae05e49ecdd942d2af7c56a7178a7ebdaa3008ce6270991f439e1d2d33ac21a21c8f1721e3896bfe69e6e84556243aeb080ef4f31dc6de103c909368039f4539cf520cf825943ecd39cc3605a19ecfd8e4417065b5f80a84388b532a5ce82c902bf85f60c4249e8e31c17d9dd3805c7795178e875d2ef6e0f4abd7c1cce06a83464db92c1cd38ce91f1725b9f6bcd74115d5005015754ad16be572b97f0a78d95ba5be55778a8020eaa4a42ab57d0fd433c478fa486cdff12008d809957b844a4a1c45e26e94005a27532e02b4ad0c4eb29dd438f247d2d5fa55704295647b1c8f9ecd22f8f7b70efb8292966532023d7398f09ee5d84880a82306ee7f90ad9a4831f173ba2b4eaf5df6de3683fe6321ce9bf93de08e9fb641dc5979e6cb660afc60150a6781673df0d28ecab73bab715d4f8e808a5f1cecde66ca06869e298323a39f953c36e4c711dc357c78b29eaedcf0f988474eb2274a6315367a8222414b26672df60dcc59e71220535f6686c4a3cc557ba1d50";
    const B_HEX: &str = "bb802a3de652d2d1ac24671f3862aa53e53323eb5512376be5a2f928382bb9c2f3a844a1d4716947c95977853ae047e263b1fa56a7c38325b38c90932f81b7d9b69f1510216944e6d6306b0437d8be8cfcff4064536597bcbd9221c86b21845be943eeae5e8e37859f49697b65e18155d3f6b21e8badb0849c25c866fec6ea50f6bd31bc71566fd2f9724ad2ffa029add795e4e703061a6c68e086558232423902bb78089a679c96b0c280baa96da6381750e7c45dfa2ff3c23a45b913d21ea429187e33245cca9e69c331aa4cc8ad2df672bcba2d538afe3a9e7ce8a59e7240e45468af07f61c23a5b263cfd82f13a4872da80dee2b9deab377da32406c3807f1e43ceb847041b9e282834c3b673c34d35c8eb1f77f13c36b6e7ec76b0cec17f967684a10ed678e388b41a812ec6bd94a4b6f9cdfad5e8b98465bcfd738c3d0391945935d3582c80efd0044ad69f715c5701aa6c75e3750c2d1a445552a776635a437b62f57b699065c4f8a77297dd6980b79710aa473d7c37ad28cdb55938c";
    /// pycognito's `PASSWORD_CLAIM_SIGNATURE` for the inputs above.
    const SIGNATURE: &str = "VOEM217vMxIFQmU/5SqpJVa/bY9q7LNsrNut7GDtrh0=";

    fn vector_client() -> SrpClient {
        SrpClient::with_private_key(POOL_ID, &vector_a()).unwrap()
    }

    fn verify(client: &SrpClient, b_hex: &str, salt: &str) -> Result<String> {
        client.password_verifier(USER_ID, PASSWORD, b_hex, salt, SECRET_BLOCK, TIMESTAMP)
    }

    #[test]
    fn k_is_the_hash_of_n_and_g_in_java_byte_form() {
        // The k every AWS client uses: pycognito's hex_hash("00" + N_HEX + "0" + G_HEX).
        let expected = hash_to_int(&[
            &[0],
            &BigUint::parse_bytes(N_HEX.as_bytes(), 16)
                .unwrap()
                .to_bytes_be(),
            &[2],
        ]);
        assert_eq!(GROUP.k, expected);
    }

    #[test]
    fn srp_a_matches_pycognito() {
        assert_eq!(vector_client().srp_a_hex(), A_HEX);
    }

    #[test]
    fn password_claim_signature_matches_pycognito() {
        assert_eq!(verify(&vector_client(), B_HEX, SALT).unwrap(), SIGNATURE);
    }

    #[test]
    fn hex_case_and_leading_zeros_do_not_matter() {
        // The JS client reads SRP_B and SALT as numbers, so their spelling is irrelevant.
        let client = vector_client();
        let b = format!("000{}", B_HEX.to_ascii_uppercase());
        let salt = format!("00{}", SALT.to_ascii_uppercase());
        assert_eq!(verify(&client, &b, &salt).unwrap(), SIGNATURE);
    }

    #[test]
    fn wrong_password_gives_another_signature() {
        let client = vector_client();
        let wrong = client
            .password_verifier(USER_ID, "wrong", B_HEX, SALT, SECRET_BLOCK, TIMESTAMP)
            .unwrap();
        assert_ne!(wrong, SIGNATURE);
    }

    /// The server's side of SRP-6a, written from the textbook formulas in test code only: if
    /// client and server derive the same S, the client's arithmetic is SRP and not just a copy
    /// of one implementation's quirks.
    #[test]
    fn client_and_a_textbook_server_agree_on_the_session_key() {
        let group = &*GROUP;
        let client = vector_client();
        let salt = parse_hex("SALT", SALT).unwrap();
        let x = private_x(&salt, "AbCdEfGhI", USER_ID, PASSWORD);
        let v = group.g.modpow(&x, &group.n);
        let b = BigUint::from_bytes_be(&vector_b());
        let big_b = (&group.k * &v + group.g.modpow(&b, &group.n)) % &group.n;
        assert_eq!(big_b.to_str_radix(16), B_HEX);

        let u = hash_to_int(&[&java_bytes(&client.big_a), &java_bytes(&big_b)]);
        // Server: S = (A * v^u)^b mod N.
        let server_s = ((&client.big_a * v.modpow(&u, &group.n)) % &group.n).modpow(&b, &group.n);
        // Client: S = (B - k*v)^(a + u*x) mod N.
        let base = (&big_b + &group.n - (&group.k * &v) % &group.n) % &group.n;
        let client_s = base.modpow(&(&client.a + &u * &x), &group.n);
        assert_eq!(client_s, server_s);
    }

    #[test]
    fn b_congruent_to_zero_mod_n_is_refused() {
        let client = vector_client();
        let n = &GROUP.n;
        for b in [BigUint::ZERO, n.clone(), n * 2u8] {
            let err = verify(&client, &b.to_str_radix(16), SALT).unwrap_err();
            assert!(matches!(err, ProtocolError::Srp(_)), "{err}");
            assert!(err.to_string().contains("SRP_B mod N is zero"), "{err}");
        }
    }

    #[test]
    fn challenge_parameters_no_client_reads_are_errors() {
        let client = vector_client();
        for (b, salt, what) in [
            ("", SALT, "SRP_B"),
            ("  ", SALT, "SRP_B"),
            ("xyz", SALT, "SRP_B"),
            ("-ab", SALT, "SRP_B"),
            ("0x", SALT, "SRP_B"),
            (B_HEX, "", "SALT"),
            (B_HEX, "12g4", "SALT"),
        ] {
            let err = client
                .password_verifier(USER_ID, PASSWORD, b, salt, SECRET_BLOCK, TIMESTAMP)
                .unwrap_err();
            assert!(err.to_string().contains(what), "{what}: {err}");
        }
    }

    #[test]
    fn hex_spellings_the_aws_clients_read_are_accepted() {
        // pycognito's int(_, 16) takes a sign, a 0x prefix and `_` between digits; the JS
        // client's jsbn skips separators such as a UUID's dashes. The value is the same number.
        let client = vector_client();
        let dashed: String = B_HEX
            .chars()
            .enumerate()
            .flat_map(|(i, c)| (i > 0 && i % 8 == 0).then_some('-').into_iter().chain([c]))
            .collect();
        for b in [
            format!("0x{B_HEX}"),
            format!("+{B_HEX}"),
            format!(" {B_HEX}\n"),
            dashed,
        ] {
            assert_eq!(verify(&client, &b, SALT).unwrap(), SIGNATURE, "{b:.20}");
        }
        let salt = "c3a1f5e2-d4b6-a890-7f1e-2d3c4b5a6978";
        assert_eq!(verify(&client, B_HEX, salt).unwrap(), SIGNATURE);
    }

    #[test]
    fn secret_block_is_read_as_node_buffer_from_base64_reads_it() {
        // Expected bytes from Node 20: Buffer.from(s, 'base64').toString('hex').
        for (block, hex) in [
            (
                "3f2a1b4c-1d2e-4f5a-8b9c-0d1e2f3a4b5c",
                "ddfd9ad5be1cfb57767bee1fe5afbc6fd73ed1dd5ed9fddae1be5c",
            ),
            ("abc", "69b7"),
            ("ab$cd==", "69b71d"),
            ("YWJj\nZA==", "61626364"),
            ("YWJjZA", "61626364"),
            ("YW=Jj", "61"),
            ("", ""),
            ("!", ""),
        ] {
            let got: String = secret_block_bytes(block)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(got, hex, "{block:?}");
        }
        // Well-formed base64 decodes as base64.
        let b64 = base64::engine::general_purpose::STANDARD;
        assert_eq!(
            secret_block_bytes(SECRET_BLOCK),
            b64.decode(SECRET_BLOCK).unwrap()
        );
    }

    #[test]
    fn a_secret_block_that_is_not_base64_still_gives_a_signature() {
        // moto sends a UUID as SECRET_BLOCK; the JS client signs it anyway, so must we: the
        // target, not the helper, decides whether the proof is good.
        let client = vector_client();
        let sig = client
            .password_verifier(
                USER_ID,
                PASSWORD,
                B_HEX,
                SALT,
                "3f2a1b4c-1d2e-4f5a-8b9c-0d1e2f3a4b5c",
                TIMESTAMP,
            )
            .unwrap();
        assert_ne!(sig, SIGNATURE);
    }

    #[test]
    fn user_pool_ids_without_a_pool_name_are_refused() {
        for bad in ["", "us-east-1", "us-east-1_", "_"] {
            let err = SrpClient::with_private_key(bad, &vector_a()).unwrap_err();
            assert!(
                matches!(err, ProtocolError::UserPoolId(_)),
                "{bad:?}: {err}"
            );
        }
        assert!(matches!(
            SrpClient::with_private_key(POOL_ID, &[0, 0]),
            Err(ProtocolError::Srp(_))
        ));
    }

    #[test]
    fn random_clients_differ_and_hide_their_key() {
        let one = SrpClient::new(POOL_ID).unwrap();
        let two = SrpClient::new(POOL_ID).unwrap();
        assert_ne!(one.srp_a_hex(), two.srp_a_hex());
        let debug = format!("{one:?}");
        assert!(debug.contains("AbCdEfGhI"), "{debug}");
        assert!(!debug.contains(&one.a.to_str_radix(16)), "{debug}");
    }

    #[test]
    fn timestamp_format() {
        // 2026-11-03T16:42:57Z (python3: datetime(2026,11,3,16,42,57,tzinfo=timezone.utc)
        // .timestamp()): day of month without a leading zero.
        assert_eq!(cognito_timestamp(1_793_724_177), TIMESTAMP);
        // A two-digit day (python3: datetime(2026,11,26,13,42,57,tzinfo=timezone.utc).timestamp()),
        // and the epoch.
        assert_eq!(
            cognito_timestamp(1_795_700_577),
            "Thu Nov 26 13:42:57 UTC 2026"
        );
        assert_eq!(cognito_timestamp(0), "Thu Jan 1 00:00:00 UTC 1970");
        assert_eq!(cognito_timestamp(i64::MAX), "Fri Dec 31 23:59:59 UTC 9999");
        assert_eq!(cognito_timestamp(i64::MIN), "Mon Jan 1 00:00:00 UTC -9999");
    }
}

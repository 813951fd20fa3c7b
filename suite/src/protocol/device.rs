//! Remembered devices: the `DeviceSecretVerifierConfig` a client sends with `ConfirmDevice`, and
//! the client side of `DEVICE_SRP_AUTH` / `DEVICE_PASSWORD_VERIFIER`.
//!
//! The device is an SRP user of its own: its "password" is a random secret the client makes and
//! keeps, its "pool name" is the `DeviceGroupKey` and its "username" the `DeviceKey`
//! (`NewDeviceMetadata` of the authentication result). Source: Amazon Cognito developer guide,
//! "Working with user devices in your user pool",
//! <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-device-tracking.html>,
//! and `AuthenticationHelper.generateHashDevice` / `CognitoUser.getDeviceResponse` in
//! amazon-cognito-identity-js, which pycognito's `generate_hash_device` ports.

use base64::Engine as _;
use num_bigint::BigUint;
use rand::RngCore as _;

use super::srp::{java_bytes, private_x, SrpClient, GROUP};
use super::{ProtocolError, Result};

/// A device's SRP secret and the verifier Cognito stores for it.
///
/// `salt_b64` and `verifier_b64` are `ConfirmDevice`'s `DeviceSecretVerifierConfig.Salt` and
/// `.PasswordVerifier`; `device_password` stays with the client for
/// [`device_password_verifier`]. Source:
/// <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-device-tracking.html>.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceSecret {
    /// `DeviceKey` from `NewDeviceMetadata`.
    pub device_key: String,
    /// `DeviceGroupKey` from `NewDeviceMetadata`.
    pub device_group_key: String,
    /// The device's random password (base64 of 40 random bytes, as the AWS clients make it).
    pub device_password: String,
    /// `DeviceSecretVerifierConfig.Salt`: base64 of the salt in Java `BigInteger` byte form.
    pub salt_b64: String,
    /// `DeviceSecretVerifierConfig.PasswordVerifier`: base64 of `g^x mod N` in Java `BigInteger`
    /// byte form, `x = H(salt | H(DeviceGroupKey | DeviceKey | ":" | device_password))`.
    pub verifier_b64: String,
}

impl std::fmt::Debug for DeviceSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The device password is a credential: keep it out of logs and failure messages.
        f.debug_struct("DeviceSecret")
            .field("device_key", &self.device_key)
            .field("device_group_key", &self.device_group_key)
            .field("device_password", &"<redacted>")
            .field("salt_b64", &self.salt_b64)
            .field("verifier_b64", &self.verifier_b64)
            .finish()
    }
}

/// A new device secret for `ConfirmDevice`, with a random password (40 bytes, base64) and a
/// random 16-byte salt, as amazon-cognito-identity-js makes them.
///
/// Source: <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-device-tracking.html>.
///
/// # Errors
///
/// [`ProtocolError::Empty`] if `device_key` or `device_group_key` is empty.
pub fn new_device_secret(device_key: &str, device_group_key: &str) -> Result<DeviceSecret> {
    let mut rng = rand::thread_rng();
    let mut password = [0u8; 40];
    rng.fill_bytes(&mut password);
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    device_secret_with(
        device_key,
        device_group_key,
        &base64::engine::general_purpose::STANDARD.encode(password),
        &salt,
    )
}

/// A device secret from a chosen password and salt (the salt as raw random bytes, which pass
/// through a number like the AWS clients' `new BigInteger(hex, 16)`, so leading zero bytes are
/// dropped), for reproducible tests and for scenarios that need a known device password.
///
/// Source: <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-device-tracking.html>.
///
/// # Errors
///
/// [`ProtocolError::Empty`] if `device_key` or `device_group_key` is empty.
pub fn device_secret_with(
    device_key: &str,
    device_group_key: &str,
    device_password: &str,
    salt: &[u8],
) -> Result<DeviceSecret> {
    // Cognito never issues empty keys; one from an endpoint under test would make a verifier
    // bound to nothing, so name the problem here rather than fail later at ConfirmDevice.
    if device_key.is_empty() {
        return Err(ProtocolError::Empty("DeviceKey"));
    }
    if device_group_key.is_empty() {
        return Err(ProtocolError::Empty("DeviceGroupKey"));
    }
    let group = &*GROUP;
    let salt = BigUint::from_bytes_be(salt);
    let x = private_x(&salt, device_group_key, device_key, device_password);
    let verifier = group.g.modpow(&x, &group.n);
    let b64 = &base64::engine::general_purpose::STANDARD;
    Ok(DeviceSecret {
        device_key: device_key.to_owned(),
        device_group_key: device_group_key.to_owned(),
        device_password: device_password.to_owned(),
        salt_b64: b64.encode(java_bytes(&salt)),
        verifier_b64: b64.encode(java_bytes(&verifier)),
    })
}

/// `PASSWORD_CLAIM_SIGNATURE` for the `DEVICE_PASSWORD_VERIFIER` challenge: the same computation
/// as [`SrpClient::password_verifier`] with the `DeviceGroupKey` in place of the pool name, the
/// `DeviceKey` as the username and the device password as the password.
///
/// `srp` must be the client whose [`srp_a_hex`](SrpClient::srp_a_hex) went out as `SRP_A` in the
/// `DEVICE_SRP_AUTH` answer, normally made by [`SrpClient::for_device`] (only its key pair is
/// used here: the prefix comes from `device`). `srp_b_hex`, `salt_hex` and
/// `secret_block_b64` are the `DEVICE_PASSWORD_VERIFIER` challenge's `SRP_B`, `SALT` and
/// `SECRET_BLOCK`; `timestamp` is the `TIMESTAMP` sent alongside
/// ([`cognito_timestamp`](super::cognito_timestamp)).
///
/// Source: <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-device-tracking.html>
/// and `CognitoUser.getDeviceResponse` in amazon-cognito-identity-js.
///
/// # Errors
///
/// As [`SrpClient::password_verifier`].
pub fn device_password_verifier(
    srp: &SrpClient,
    device: &DeviceSecret,
    srp_b_hex: &str,
    salt_hex: &str,
    secret_block_b64: &str,
    timestamp: &str,
) -> Result<String> {
    srp.signature(
        &device.device_group_key,
        &device.device_key,
        &device.device_password,
        srp_b_hex,
        salt_hex,
        secret_block_b64,
        timestamp,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::srp::tests::{vector_a, vector_b, SECRET_BLOCK, TIMESTAMP};
    use crate::protocol::srp::{hash_to_int, parse_hex};

    // Vectors from pycognito 2024.5.1's `generate_hash_device(device_group_key, device_key)`
    // with `os.urandom` replaced to return the given password bytes, then the salt bytes:
    //
    //   rnd = [bytes((i * 11 + 1) % 256 for i in range(40)),
    //          bytes.fromhex("8f0e1d2c3b4a59687766554433221100")]
    //   pycognito.aws_srp.os.urandom = lambda n: rnd.pop(0)
    //   generate_hash_device("-abcDEF12", "us-east-1_0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9")
    const GROUP_KEY: &str = "-abcDEF12";
    const DEVICE_KEY: &str = "us-east-1_0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";
    const PASSWORD: &str = "AQwXIi04Q05ZZG96hZCbprG8x9Ld6PP+CRQfKjVAS1ZhbHeCjZijrg==";
    const SALT_RANDOM: &str = "8f0e1d2c3b4a59687766554433221100";
    const SALT_B64: &str = "AI8OHSw7Sllod2ZVRDMiEQA=";
    const VERIFIER_B64: &str = "AJhBAW0a45TyCqsBP1TI41k48kpPNFC4Ccz7djUV9CejpqokIE/HWnmpCGW2pOMT6/n4tssmOv1uqGJf+MvaPHtGgX3pEqmtkgagx3OqPT8v86O+S22Cc3zSQaP0STmDkk9wwDaQe1OPMQfN7nyi2uQiSWFgNnuGXnojeH++pF6P07lgIPRcBM2kUGXftVr1vmGDhXKmFeO41d0jeizGVtEWengPHH8pKdhxTvrvKuMcNy/t9qver8oCNPLom1NeTQ+Ib/JBBjWXocIvTeWv8EzABTmCNqI5DJCRnKQey/5R4OxUA8wQU/lWNoC8KYXacag2rABP6g+0h1/asJqhHHzYVotABlCzG4FVencTJKUbQqfVtQ7E+50DbuAeqqGfeyRncQMN8lYJMenzXTQzpPPZNMHQTcRd3cl9xXbGuwa6keAAAEuSFp0WoYZboYWI0HwKMJoT2v5DDbpKMH70agY02GuIdHXzkrYVqxC41Jp/gwOXgMzNg6AyzDFtrzySxA==";

    // `DEVICE_PASSWORD_VERIFIER` vector: pycognito's `AWSSRP.process_device_challenge` with the
    // device above, the fixed `a`, clock and `SECRET_BLOCK` of the user-SRP vectors (see
    // srp.rs), `SALT` = the salt above as hex, and `SRP_B` from a fake server with private `b`.
    const DEVICE_SALT_HEX: &str = "008f0e1d2c3b4a59687766554433221100";
    const DEVICE_B_HEX: &str = "8714dda137a6ecbf0d8296d359da34ed679b408baeae140b56dda19e1bc0c06c3056ce63113184c676b469c73879c59c30007fe47451490810c540f33525e093333487239e30b39ffa1834094147d88117bdff978791fcba17560de8a1c649f427f32cd17f0c4a9dffbe64f0ce028cdf58e1c0769daec9f2e66fd3490913754acbf41b6cb8c9dcca0c1783c4a5aca91a7a3661bbad1937adca65482e2bdbd707d6bb4b35cd8405db72d2f8b1e6635353631c385aafeed20c4b4eedefca15f27750260656989fda5bbc8033b0b166e236670409e163fb170c6d2040f6748f16b5b19721409e4a986d845345bad03f955244d23526cd8c89dff0115251786a3c2d1f789533f481ffc93050ab04d0c685f9f6ebc0dbf4491b4086977a53c323b10153b72d0022c0b104aeaefc9a213b76ceae7be666cddab76639f4b159bd401793100e54d548aed9019d1bf27749f16b7c926e735607ba77a921391bc565d54b33b757349de9017bde337646e61e0cbf30026a622c83219a267e9d8fa12d94d56";
    const DEVICE_SIGNATURE: &str = "boQXuvWzlCtNfe2acvlTF1l7c41uqX22fH9mgJ8K8Rc=";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn vector_device() -> DeviceSecret {
        device_secret_with(DEVICE_KEY, GROUP_KEY, PASSWORD, &hex(SALT_RANDOM)).unwrap()
    }

    #[test]
    fn verifier_config_matches_pycognito() {
        let device = vector_device();
        assert_eq!(device.salt_b64, SALT_B64);
        assert_eq!(device.verifier_b64, VERIFIER_B64);
    }

    #[test]
    fn leading_zero_salt_bytes_are_dropped_like_the_aws_clients() {
        // pycognito: rnd = [bytes(range(40)), bytes.fromhex("00007f0102030405060708090a0b0c0d")];
        // generate_hash_device("-xyz", "eu-west-1_dev-2")
        let device = device_secret_with(
            "eu-west-1_dev-2",
            "-xyz",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJw==",
            &hex("00007f0102030405060708090a0b0c0d"),
        )
        .unwrap();
        assert_eq!(device.salt_b64, "fwECAwQFBgcICQoLDA0=");
        assert_eq!(
            device.verifier_b64,
            "AMu99pkGjeTAkF6b+rAsGFUJEj2iefsUcumM2P5+CPlbra5xXttl++eecxvbrFyLP45aOerZR3enJpcq45/5rLtjeTUEBSBiy3Ah4IFmXdrJVhwH3/vd6zz2TWzWISeb2bVRbJ0M2lw8+NwLwRHtigEuhtCq8NyD94/CNFqoDXOzvNG5inKBVpztz/MFcvFBV6fyvIVpGl7HCz41TACktOWDzeW1zqVu1Va/9cwLzQLawVP4eY21U+6MHf4mVJumYHyM4c0BW4LZtE4jHH+NCobPBaZ0d40jCCS21rZ3klQftQrNdWVhT8k8chC23ghlfuejEXFAhQZ/wjTY54japgKEiWltKjaHCDdtHwYcZ7urnfML5glkqADnQb7wQIKF8944H1Z8FoCpylXSCJ85tsrwWXro3CFm2WtXu0G5l9UcG2mp3u7TimTTTWpqnT6dV6VGAzTidgIY0+dCpRm714nXZGLmykMJNVR0Plws+Kw/d1P5202WKfB7EwYMkPY8DA=="
        );
    }

    #[test]
    fn device_password_claim_signature_matches_pycognito() {
        // The pool id does not enter device SRP: any valid one will do.
        let srp = SrpClient::with_private_key("us-east-1_Unrelated", &vector_a()).unwrap();
        let signature = device_password_verifier(
            &srp,
            &vector_device(),
            DEVICE_B_HEX,
            DEVICE_SALT_HEX,
            SECRET_BLOCK,
            TIMESTAMP,
        )
        .unwrap();
        assert_eq!(signature, DEVICE_SIGNATURE);
    }

    /// The verifier sent at `ConfirmDevice` is what the server later builds `SRP_B` from: a
    /// textbook SRP-6a server with that verifier yields the vector's `SRP_B`.
    #[test]
    fn the_vector_server_used_the_confirmed_verifier() {
        let group = &*GROUP;
        let b64 = &base64::engine::general_purpose::STANDARD;
        let v = BigUint::from_bytes_be(&b64.decode(vector_device().verifier_b64).unwrap());
        let k = hash_to_int(&[&java_bytes(&group.n), &java_bytes(&group.g)]);
        let b = BigUint::from_bytes_be(&vector_b());
        let big_b = (k * v + group.g.modpow(&b, &group.n)) % &group.n;
        assert_eq!(big_b, parse_hex("SRP_B", DEVICE_B_HEX).unwrap());
    }

    #[test]
    fn new_device_secrets_are_random_and_self_consistent() {
        let one = new_device_secret(DEVICE_KEY, GROUP_KEY).unwrap();
        let two = new_device_secret(DEVICE_KEY, GROUP_KEY).unwrap();
        assert_ne!(one.device_password, two.device_password);
        assert_ne!(one.salt_b64, two.salt_b64);
        let b64 = &base64::engine::general_purpose::STANDARD;
        assert_eq!(b64.decode(&one.device_password).unwrap().len(), 40);
        // Rebuilding from the parts gives the same verifier.
        let salt = b64.decode(&one.salt_b64).unwrap();
        let again = device_secret_with(DEVICE_KEY, GROUP_KEY, &one.device_password, &salt).unwrap();
        assert_eq!(again, one);
        assert!(!format!("{one:?}").contains(&one.device_password));
    }

    #[test]
    fn for_device_clients_are_fresh_and_usable() {
        let one = SrpClient::for_device(GROUP_KEY).unwrap();
        let two = SrpClient::for_device(GROUP_KEY).unwrap();
        assert_ne!(one.srp_a_hex(), two.srp_a_hex());
        let sign = |srp: &SrpClient| {
            device_password_verifier(
                srp,
                &vector_device(),
                DEVICE_B_HEX,
                DEVICE_SALT_HEX,
                SECRET_BLOCK,
                TIMESTAMP,
            )
            .unwrap()
        };
        // Another A gives another u and so another signature: the key pair is really used.
        assert_ne!(sign(&one), DEVICE_SIGNATURE);
        assert_ne!(sign(&one), sign(&two));
        let err = SrpClient::for_device("").unwrap_err();
        assert!(err.to_string().contains("DeviceGroupKey is empty"), "{err}");
    }

    #[test]
    fn empty_keys_are_refused() {
        let err = new_device_secret("", GROUP_KEY).unwrap_err();
        assert!(err.to_string().contains("DeviceKey is empty"), "{err}");
        let err = new_device_secret(DEVICE_KEY, "").unwrap_err();
        assert!(err.to_string().contains("DeviceGroupKey is empty"), "{err}");
    }

    #[test]
    fn b_congruent_to_zero_mod_n_is_refused() {
        let srp = SrpClient::with_private_key("us-east-1_X", &vector_a()).unwrap();
        let n = GROUP.n.to_str_radix(16);
        let err = device_password_verifier(
            &srp,
            &vector_device(),
            &n,
            DEVICE_SALT_HEX,
            SECRET_BLOCK,
            TIMESTAMP,
        )
        .unwrap_err();
        assert!(matches!(err, ProtocolError::Srp(_)), "{err}");
    }
}

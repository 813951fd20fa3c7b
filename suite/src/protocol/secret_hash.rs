//! `SECRET_HASH`: the proof that a request comes from the holder of an app client's secret.

use base64::Engine as _;

/// `SECRET_HASH` for a user of an app client that has a client secret:
/// `Base64(HMAC_SHA256(key = client_secret, message = username + client_id))`.
///
/// Cognito requires it in `SignUp`, `ConfirmSignUp`, `ForgotPassword`, `InitiateAuth`,
/// `RespondToAuthChallenge` and the other client-side actions whenever the app client has a
/// secret. `username` is the name the request carries (for `RespondToAuthChallenge` after SRP,
/// the `USERNAME` the challenge returned).
///
/// Source: Amazon Cognito developer guide, "Computing secret hash values",
/// <https://docs.aws.amazon.com/cognito/latest/developerguide/signing-up-users-in-your-app.html#cognito-user-pools-computing-secret-hash>.
pub fn secret_hash(username: &str, client_id: &str, client_secret: &str) -> String {
    let mac = super::hmac_sha256(
        client_secret.as_bytes(),
        &[username.as_bytes(), client_id.as_bytes()],
    );
    base64::engine::general_purpose::STANDARD.encode(mac)
}

#[cfg(test)]
mod tests {
    use super::secret_hash;

    #[test]
    fn matches_an_independent_python_computation() {
        // python3 -c 'import hmac,hashlib,base64; print(base64.b64encode(hmac.new(
        //   b"1example23456789secretabcdefghijklmnopqrstuvw",
        //   b"alice@example.com" + b"4e8dqkoq1tc9b0ukidrn7hsb7v", hashlib.sha256).digest()).decode())'
        assert_eq!(
            secret_hash(
                "alice@example.com",
                "4e8dqkoq1tc9b0ukidrn7hsb7v",
                "1example23456789secretabcdefghijklmnopqrstuvw"
            ),
            "US7LkoX/7gutea/oruDTUYDKcsnMQxq9Qf7eIsLVxsM="
        );
    }

    #[test]
    fn the_message_is_username_then_client_id() {
        // Swapping the two must change the hash: the order is part of the algorithm.
        let key = "secret";
        assert_ne!(secret_hash("a", "b", key), secret_hash("b", "a", key));
        assert_ne!(
            secret_hash("alice", "client", key),
            secret_hash("alice", "client", "other-secret")
        );
    }
}

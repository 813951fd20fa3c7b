//! Helper steps: the protocol math scenarios cannot express in JSON, called by name.
//!
//! Each helper takes templated arguments (`with`) and answers a JSON object that a step can
//! `save` from and `expect` of, exactly like an action's answer. A helper that fails answers an
//! error with a type (`JwtSignatureInvalid`, ...) that a step can expect, so a scenario can
//! assert that a tampered token is refused. The math itself lives in [`crate::protocol`]; following a listing in [`super::paginate`].
//!
//! | helper | with | answers |
//! |---|---|---|
//! | `secret_hash` | `username`, `client_id`, `client_secret` | `{"SECRET_HASH"}` |
//! | `srp_start` | `pool_id` | `{"SRP_A"}` (keeps the SRP secret for `srp_claim`) |
//! | `srp_claim` | `pool_id`, `password`, `challenge` (the `ChallengeParameters`) | `{"USERNAME", "PASSWORD_CLAIM_SECRET_BLOCK", "PASSWORD_CLAIM_SIGNATURE", "TIMESTAMP"}` |
//! | `totp` | `secret` (the `SecretCode`) | `{"code"}`, never from a time window already used |
//! | `decode_jwt` | `token` | `{"header", "claims"}` (no signature check) |
//! | `verify_jwt` | `token`, `pool_id` | `{"header", "claims"}` after checking the signature against the pool's JWKS |
//! | `tamper_jwt` | `token`, `claims` | `{"token"}`: the claims changed, the signature kept |
//! | `device_secret` | `device_key`, `device_group_key` | `{"DeviceSecretVerifierConfig": {"PasswordVerifier", "Salt"}}` (keeps the device password) |
//! | `device_srp_start` | — | `{"SRP_A"}` for DEVICE_SRP_AUTH |
//! | `device_claim` | `challenge` (the DEVICE_PASSWORD_VERIFIER parameters) | `{"USERNAME", "DEVICE_KEY", "PASSWORD_CLAIM_SECRET_BLOCK", "PASSWORD_CLAIM_SIGNATURE", "TIMESTAMP"}` |
//! | `confirmation_code` | `pool_id`, `username`, optional `purpose` (`sign_up`, `forgot_password`) | `{"code"}`, read from the target's code capability (needs `requires: ["codes"]`) |
//! | `webauthn_register` | `options` (StartWebAuthnRegistration's `CredentialCreationOptions`), `origin` (e.g. `https://<rp id>`) | `{"Credential"}`: a `RegistrationResponseJSON` from a fresh software passkey, for CompleteWebAuthnRegistration |
//! | `paginate` | `action`, `input`, optional `items`, `token_in`, `token_out`, `limit_member` (default: the model's paginator), `max_pages` (default 20), `key`, `wait_for` + `within_ms` | `{"items", "pages", "largest_page"}` and with `key` `{"keys", "duplicates"}`, after following every token; refuses a page above the requested maximum (`PageTooLarge`) and a repeated token (`PaginationLoop`) |

use std::sync::Mutex;

use serde_json::{json, Value};

use super::paginate;
use crate::protocol;

/// The helpers, by name. Matched without a wildcard so a new helper must be handled everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelperStep {
    /// `secret_hash`.
    SecretHash,
    /// `srp_start`.
    SrpStart,
    /// `srp_claim`.
    SrpClaim,
    /// `totp`.
    Totp,
    /// `decode_jwt`.
    DecodeJwt,
    /// `verify_jwt`.
    VerifyJwt,
    /// `tamper_jwt`.
    TamperJwt,
    /// `device_secret`.
    DeviceSecret,
    /// `device_srp_start`.
    DeviceSrpStart,
    /// `device_claim`.
    DeviceClaim,
    /// `confirmation_code`.
    ConfirmationCode,
    /// `webauthn_register`.
    WebauthnRegister,
    /// `paginate`.
    Paginate,
}

const ALL: &[HelperStep] = &[
    HelperStep::SecretHash,
    HelperStep::SrpStart,
    HelperStep::SrpClaim,
    HelperStep::Totp,
    HelperStep::DecodeJwt,
    HelperStep::VerifyJwt,
    HelperStep::TamperJwt,
    HelperStep::DeviceSecret,
    HelperStep::DeviceSrpStart,
    HelperStep::DeviceClaim,
    HelperStep::ConfirmationCode,
    HelperStep::WebauthnRegister,
    HelperStep::Paginate,
];

/// A helper's refusal, shaped like an API error so steps can expect it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelperFailure {
    /// A type a step can expect (`JwtSignatureInvalid`, `BadArgument`, ...).
    pub error_type: String,
    /// What happened.
    pub message: String,
}

impl HelperFailure {
    fn new(error_type: &str, message: impl Into<String>) -> Self {
        HelperFailure {
            error_type: error_type.to_string(),
            message: message.into(),
        }
    }
}

/// What helpers remember within one scenario run (SRP secrets, device passwords).
#[derive(Default)]
pub struct HelperState {
    /// Confirmation codes already handed to a step, so a second one waits for a new code.
    used_codes: std::collections::BTreeSet<String>,
    srp: Option<protocol::srp::SrpClient>,
    device_srp: Option<protocol::srp::SrpClient>,
    device: Option<protocol::device::DeviceSecret>,
}

/// What helpers may use from the run.
pub struct HelperContext<'a> {
    /// For `verify_jwt` (JWKS) and `confirmation_code`.
    pub client: &'a crate::client::Client,
    /// Per-scenario memory.
    pub state: &'a Mutex<HelperState>,
    /// Shared across the run so no TOTP window is used twice.
    pub totp: &'a protocol::totp::TotpGenerator<crate::clock::RunClock>,
    /// What waits are measured in (a replay skips them).
    pub clock: &'a crate::clock::RunClock,
    /// How the target exposes confirmation codes, if it does.
    pub codes: Option<&'a crate::target::CodeSource>,
    /// The target's output log, for targets that print their codes.
    pub log_path: Option<&'a std::path::Path>,
}

impl HelperStep {
    /// Parses a helper name.
    pub fn parse(name: &str) -> Result<HelperStep, String> {
        ALL.iter()
            .copied()
            .find(|h| h.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown helper `{name}` (known: {})",
                    ALL.iter().map(|h| h.name()).collect::<Vec<_>>().join(", ")
                )
            })
    }

    /// The helper's name in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            HelperStep::SecretHash => "secret_hash",
            HelperStep::SrpStart => "srp_start",
            HelperStep::SrpClaim => "srp_claim",
            HelperStep::Totp => "totp",
            HelperStep::DecodeJwt => "decode_jwt",
            HelperStep::VerifyJwt => "verify_jwt",
            HelperStep::TamperJwt => "tamper_jwt",
            HelperStep::DeviceSecret => "device_secret",
            HelperStep::DeviceSrpStart => "device_srp_start",
            HelperStep::DeviceClaim => "device_claim",
            HelperStep::ConfirmationCode => "confirmation_code",
            HelperStep::WebauthnRegister => "webauthn_register",
            HelperStep::Paginate => "paginate",
        }
    }

    /// Runs the helper on resolved arguments.
    pub async fn run(self, args: &Value, ctx: &HelperContext<'_>) -> Result<Value, HelperFailure> {
        let arg = |name: &str| -> Result<String, HelperFailure> {
            match args.get(name) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Err(HelperFailure::new(
                    "BadArgument",
                    format!("`{name}` must be a string, got {other}"),
                )),
                None => Err(HelperFailure::new(
                    "BadArgument",
                    format!("`{name}` is required"),
                )),
            }
        };
        let state = || {
            ctx.state.lock().map_err(|_| {
                HelperFailure::new("HelperStatePoisoned", "an earlier helper panicked")
            })
        };
        let challenge = |key: &str| -> Result<String, HelperFailure> {
            args.get("challenge")
                .and_then(|c| c.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    HelperFailure::new("BadArgument", format!("`challenge.{key}` is required"))
                })
        };
        let helper_err =
            |e: protocol::ProtocolError| HelperFailure::new(e.error_type(), e.to_string());
        match self {
            HelperStep::SecretHash => Ok(json!({
                "SECRET_HASH": protocol::secret_hash::secret_hash(&arg("username")?, &arg("client_id")?, &arg("client_secret")?)
            })),
            HelperStep::SrpStart => {
                let client = protocol::srp::SrpClient::new(&arg("pool_id")?).map_err(helper_err)?;
                let a = client.srp_a_hex();
                state()?.srp = Some(client);
                Ok(json!({ "SRP_A": a }))
            }
            HelperStep::SrpClaim => {
                let password = arg("password")?;
                let timestamp = protocol::srp::cognito_timestamp(unix_now());
                // amazon-cognito-identity-js signs whatever USER_ID_FOR_SRP holds; without one,
                // the name the user signs in with is the best guess, so the target still gets a
                // proof to check (the InitiateAuth step asserts the parameter is there).
                let user_id = challenge("USER_ID_FOR_SRP").or_else(|_| challenge("USERNAME"))?;
                let secret_block = challenge("SECRET_BLOCK")?;
                let signature = {
                    let st = state()?;
                    let srp = st.srp.as_ref().ok_or_else(|| {
                        HelperFailure::new("BadArgument", "srp_claim needs an earlier srp_start")
                    })?;
                    srp.password_verifier(
                        &user_id,
                        &password,
                        &challenge("SRP_B")?,
                        &challenge("SALT")?,
                        &secret_block,
                        &timestamp,
                    )
                    .map_err(helper_err)?
                };
                let username = challenge("USERNAME").unwrap_or(user_id);
                Ok(json!({
                    "USERNAME": username,
                    "PASSWORD_CLAIM_SECRET_BLOCK": secret_block,
                    "PASSWORD_CLAIM_SIGNATURE": signature,
                    "TIMESTAMP": timestamp,
                }))
            }
            HelperStep::Totp => {
                let code = ctx
                    .totp
                    .fresh_code(&arg("secret")?)
                    .await
                    .map_err(helper_err)?;
                Ok(json!({ "code": code }))
            }
            HelperStep::DecodeJwt => {
                let (header, claims) =
                    protocol::jwt::decode_unverified(&arg("token")?).map_err(helper_err)?;
                Ok(json!({ "header": header, "claims": claims }))
            }
            HelperStep::VerifyJwt => {
                let token = arg("token")?;
                let path = format!("/{}/.well-known/jwks.json", arg("pool_id")?);
                let raw = ctx
                    .client
                    .get(&path)
                    .await
                    .map_err(|e| HelperFailure::new("JwksUnavailable", e.to_string()))?;
                if raw.status != 200 {
                    return Err(HelperFailure::new(
                        "JwksUnavailable",
                        format!("GET {path} answered {}", raw.status),
                    ));
                }
                let jwks: Value = serde_json::from_slice(&raw.body).map_err(|e| {
                    HelperFailure::new("JwksUnavailable", format!("GET {path} is not JSON: {e}"))
                })?;
                let claims = protocol::jwt::verify_rs256(&token, &jwks).map_err(helper_err)?;
                let (header, _) = protocol::jwt::decode_unverified(&token).map_err(helper_err)?;
                Ok(json!({ "header": header, "claims": claims }))
            }
            HelperStep::TamperJwt => {
                let token = arg("token")?;
                let changes = args
                    .get("claims")
                    .and_then(Value::as_object)
                    .ok_or_else(|| {
                        HelperFailure::new("BadArgument", "`claims` must be an object")
                    })?;
                Ok(json!({ "token": tamper(&token, changes)? }))
            }
            HelperStep::DeviceSecret => {
                let secret = protocol::device::new_device_secret(
                    &arg("device_key")?,
                    &arg("device_group_key")?,
                )
                .map_err(helper_err)?;
                let out = json!({
                    "DeviceSecretVerifierConfig": {
                        "PasswordVerifier": secret.verifier_b64,
                        "Salt": secret.salt_b64,
                    }
                });
                state()?.device = Some(secret);
                Ok(out)
            }
            HelperStep::DeviceSrpStart => {
                let mut st = state()?;
                let group = st
                    .device
                    .as_ref()
                    .map(|d| d.device_group_key.clone())
                    .ok_or_else(|| {
                        HelperFailure::new(
                            "BadArgument",
                            "device_srp_start needs an earlier device_secret",
                        )
                    })?;
                let client = protocol::srp::SrpClient::for_device(&group).map_err(helper_err)?;
                let a = client.srp_a_hex();
                st.device_srp = Some(client);
                Ok(json!({ "SRP_A": a }))
            }
            HelperStep::DeviceClaim => {
                let timestamp = protocol::srp::cognito_timestamp(unix_now());
                let secret_block = challenge("SECRET_BLOCK")?;
                let st = state()?;
                let (Some(device), Some(srp)) = (st.device.as_ref(), st.device_srp.as_ref()) else {
                    return Err(HelperFailure::new(
                        "BadArgument",
                        "device_claim needs device_secret and device_srp_start first",
                    ));
                };
                let signature = protocol::device::device_password_verifier(
                    srp,
                    device,
                    &challenge("SRP_B")?,
                    &challenge("SALT")?,
                    &secret_block,
                    &timestamp,
                )
                .map_err(helper_err)?;
                Ok(json!({
                    "USERNAME": challenge("USERNAME").unwrap_or_default(),
                    "DEVICE_KEY": device.device_key,
                    "PASSWORD_CLAIM_SECRET_BLOCK": secret_block,
                    "PASSWORD_CLAIM_SIGNATURE": signature,
                    "TIMESTAMP": timestamp,
                }))
            }
            HelperStep::WebauthnRegister => {
                let options = args.get("options").ok_or_else(|| {
                    HelperFailure::new(
                        "BadArgument",
                        "`options` (the CredentialCreationOptions) is required",
                    )
                })?;
                let credential =
                    protocol::webauthn::register(options, &arg("origin")?).map_err(helper_err)?;
                Ok(json!({ "Credential": credential }))
            }
            HelperStep::Paginate => paginate(args, ctx).await,
            HelperStep::ConfirmationCode => {
                use crate::target::CodeSource;
                let pool = arg("pool_id")?;
                let user = arg("username")?;
                match ctx.codes {
                    None => Err(HelperFailure::new(
                        "CodesUnavailable",
                        "the target offers no way to read confirmation codes",
                    )),
                    // The target checks no code, so any well-formed one is what a user would type.
                    Some(CodeSource::Unchecked { .. }) => Ok(json!({ "code": "123456" })),
                    Some(CodeSource::Fixed {
                        sign_up,
                        forgot_password,
                        ..
                    }) => {
                        let code = match args.get("purpose").and_then(Value::as_str) {
                            Some("forgot_password") => forgot_password,
                            _ => sign_up,
                        };
                        Ok(json!({ "code": code }))
                    }
                    Some(source @ (CodeSource::Log { .. } | CodeSource::Endpoint { .. })) => {
                        // Targets deliver codes a moment after answering (cognito-local's log
                        // is written asynchronously), and a user may get several: wait for one
                        // this scenario has not used yet.
                        for attempt in 0..100 {
                            if attempt > 0 {
                                ctx.clock.sleep(std::time::Duration::from_millis(100)).await;
                            }
                            let codes = crate::target::delivered_codes(
                                source,
                                ctx.client,
                                ctx.log_path,
                                &pool,
                                &user,
                            )
                            .await
                            .map_err(|m| HelperFailure::new("CodesUnavailable", m))?;
                            let mut st = state()?;
                            let fresh =
                                codes.into_iter().rev().find(|c| !st.used_codes.contains(c));
                            if let Some(code) = fresh {
                                st.used_codes.insert(code.clone());
                                return Ok(json!({ "code": code }));
                            }
                        }
                        Err(HelperFailure::new(
                            "CodeNotFound",
                            format!("no new code for {user} in pool {pool} within 10 s"),
                        ))
                    }
                }
            }
        }
    }
}

/// The `paginate` helper: follows a listing's tokens to the end (see [`paginate`]).
async fn paginate(args: &Value, ctx: &HelperContext<'_>) -> Result<Value, HelperFailure> {
    let bad = |m: String| HelperFailure::new("BadArgument", m);
    let action = args
        .get("action")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("`action` (a List* action) is required".into()))?;
    let input = match args.get("input") {
        None => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => return Err(bad(format!("`input` must be an object, got {other}"))),
    };
    let paginator = crate::model::Model::get().paginators.get(action);
    // A member name: the argument, else the model's paginator.
    let member = |arg: &str, key: &str| -> Result<Option<String>, HelperFailure> {
        match args.get(arg) {
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(bad(format!("`{arg}` must be a string, got {other}"))),
            None => Ok(paginator
                .and_then(|p| p.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)),
        }
    };
    let required = |arg: &str, key: &str| -> Result<String, HelperFailure> {
        member(arg, key)?.ok_or_else(|| {
            bad(format!(
                "`{arg}` is required: the model has no paginator for {action}"
            ))
        })
    };
    let items = required("items", "result_key")?;
    let token_in = required("token_in", "input_token")?;
    let token_out = required("token_out", "output_token")?;
    let limit = match member("limit_member", "limit_key")? {
        None => None,
        Some(m) => match input.get(&m) {
            None => None,
            Some(v) => Some(
                v.as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| bad(format!("`input.{m}` must be a whole number, got {v}")))?,
            ),
        },
    };
    let max_pages = match args.get("max_pages") {
        None => 20,
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (1..=paginate::MAX_PAGES_LIMIT).contains(n))
            .ok_or_else(|| {
                bad(format!(
                    "`max_pages` must be 1 to {}, got {v}",
                    paginate::MAX_PAGES_LIMIT
                ))
            })?,
    };
    let key = match args.get("key") {
        None => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(other) => return Err(bad(format!("`key` must be a string, got {other}"))),
    };
    // For a listing the documentation calls eventually consistent (ListUsers): walk again until
    // every awaited key is listed or the time is up; the last walk is answered and judged.
    let wait_for: Vec<Value> = match args.get("wait_for") {
        None => Vec::new(),
        Some(Value::Array(v)) if key.is_some() => v.clone(),
        Some(Value::Array(_)) => return Err(bad("`wait_for` needs `key`".into())),
        Some(other) => return Err(bad(format!("`wait_for` must be an array, got {other}"))),
    };
    let within = match (args.get("within_ms"), wait_for.is_empty()) {
        (None, true) => std::time::Duration::ZERO,
        (Some(v), false) => v
            .as_u64()
            .filter(|ms| (1..=super::EVENTUALLY_MAX_MS).contains(ms))
            .map(std::time::Duration::from_millis)
            .ok_or_else(|| {
                bad(format!(
                    "`within_ms` must be 1 to {}, got {v}",
                    super::EVENTUALLY_MAX_MS
                ))
            })?,
        (None, false) => return Err(bad("`wait_for` needs `within_ms`".into())),
        (Some(_), true) => return Err(bad("`within_ms` needs `wait_for`".into())),
    };
    let spec = paginate::PageSpec {
        items,
        token_out,
        limit,
        max_pages,
    };
    let deadline = ctx.clock.now() + within;
    loop {
        let answer = walk(ctx, action, &input, &token_in, spec.clone())
            .await?
            .finish(key.as_deref());
        let listed = answer.get("keys").and_then(Value::as_array);
        let all_there = wait_for
            .iter()
            .all(|w| listed.is_some_and(|keys| keys.contains(w)));
        if all_there || ctx.clock.now() >= deadline {
            return Ok(answer);
        }
        ctx.clock.sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// One walk through every page of `action`.
async fn walk(
    ctx: &HelperContext<'_>,
    action: &str,
    input: &serde_json::Map<String, Value>,
    token_in: &str,
    spec: paginate::PageSpec,
) -> Result<paginate::Walk, HelperFailure> {
    let mut walk = paginate::Walk::new(spec);
    let mut request = input.clone();
    request.remove(token_in);
    for page in 1.. {
        let response = ctx
            .client
            .call(action, &Value::Object(request.clone()))
            .await
            .map_err(|e| HelperFailure::new("PageUnavailable", format!("page {page}: {e}")))?;
        if let Some(e) = response.error {
            // The target's own error, so a step can expect it like an action's.
            return Err(HelperFailure::new(
                &e.error_type,
                format!("page {page}: {}", e.message.unwrap_or_default()),
            ));
        }
        match walk
            .take(&response.body)
            .map_err(|e| HelperFailure::new(e.error_type(), e.to_string()))?
        {
            Some(token) => {
                request.insert(token_in.to_string(), Value::String(token));
            }
            None => break,
        }
    }
    Ok(walk)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Rewrites claims in a JWT's payload and keeps its header and signature, as an attacker would.
fn tamper(token: &str, changes: &serde_json::Map<String, Value>) -> Result<String, HelperFailure> {
    protocol::jwt::rewrite_claims(token, changes).ok_or_else(|| {
        HelperFailure::new(
            "BadArgument",
            "`token` is not a JWT with a base64url JSON payload",
        )
    })
}

/// Every code for a user in a target's code listing, in listing order. Listings differ
/// between targets, so this accepts any objects (at any depth) that name the pool, the user
/// and a code.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_helper_name_round_trips() {
        for h in ALL {
            assert_eq!(HelperStep::parse(h.name()), Ok(*h));
        }
        assert!(HelperStep::parse("srp")
            .unwrap_err()
            .contains("unknown helper"));
    }

    #[test]
    fn tampering_keeps_the_signature_and_changes_the_claims() {
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
        let changes = serde_json::Map::from_iter([("sub".to_string(), json!("b"))]);
        let t = tamper(token, &changes).unwrap();
        assert!(t.ends_with(".c2ln"));
        assert!(t.starts_with("eyJhbGciOiJSUzI1NiJ9."));
        let claims = crate::protocol::jwt::read_claims(&t).unwrap();
        assert_eq!(claims["sub"], "b");
        assert!(tamper("nope", &changes).is_err());
    }
}

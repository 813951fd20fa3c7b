//! Deleting what a scenario created, on every exit path, and sweeping leftovers of
//! interrupted runs. The runner's own calls here are judged on shape and protocol like any
//! step's: an emulator's DescribeUserPool is no less wrong because cogcheck sent it.

use std::time::Duration;

use serde_json::Value;

use crate::checks;
use crate::client::Client;
use crate::finding::Finding;
use crate::model::Model;

/// Deletes user pools a scenario created: first the domain a pool still has (Cognito refuses
/// to delete a pool with a domain), then deletion protection, then the pool. Returns what
/// could not be deleted.
/// Every answer is judged on shape and protocol like a step's (its findings have no step).
pub async fn cleanup(client: &Client, pools: &[String]) -> (Vec<String>, Vec<Finding>) {
    let mut errors = Vec::new();
    let mut findings = Vec::new();
    for id in pools {
        if let Err(e) = delete_pool_judged(client, id, &mut findings).await {
            errors.push(format!("{id}: {e}"));
        }
    }
    (errors, findings)
}

/// Deletes one user pool with whatever blocks its deletion.
pub async fn delete_pool(client: &Client, id: &str) -> Result<(), String> {
    delete_pool_judged(client, id, &mut Vec::new()).await
}

/// Calls `action` and adds the answer's shape and protocol findings to `findings`.
async fn judged_call(
    client: &Client,
    action: &str,
    input: &Value,
    findings: &mut Vec<Finding>,
) -> Result<crate::wire::Response, String> {
    let r = client
        .call(action, input)
        .await
        .map_err(|e| e.to_string())?;
    findings.extend(checks::shape_and_protocol(Model::get(), action, &r, None));
    Ok(r)
}

async fn delete_pool_judged(
    client: &Client,
    id: &str,
    findings: &mut Vec<Finding>,
) -> Result<(), String> {
    let describe = judged_call(
        client,
        "DescribeUserPool",
        &serde_json::json!({ "UserPoolId": id }),
        findings,
    )
    .await?;
    if describe
        .error
        .as_ref()
        .is_some_and(|e| e.error_type == "ResourceNotFoundException")
    {
        return Ok(()); // the scenario deleted it itself
    }
    let pool = describe
        .body
        .get("UserPool")
        .cloned()
        .unwrap_or(Value::Null);
    for key in ["Domain", "CustomDomain"] {
        if let Some(domain) = pool.get(key).and_then(Value::as_str) {
            let _ = judged_call(
                client,
                "DeleteUserPoolDomain",
                &serde_json::json!({ "UserPoolId": id, "Domain": domain }),
                findings,
            )
            .await;
        }
    }
    if pool.get("DeletionProtection").and_then(Value::as_str) == Some("ACTIVE") {
        let _ = judged_call(
            client,
            "UpdateUserPool",
            &serde_json::json!({ "UserPoolId": id, "DeletionProtection": "INACTIVE" }),
            findings,
        )
        .await;
    }
    // A pool can be busy for a moment after a change on real Cognito; retry briefly.
    for attempt in 0..3 {
        let r = judged_call(
            client,
            "DeleteUserPool",
            &serde_json::json!({ "UserPoolId": id }),
            findings,
        )
        .await?;
        match &r.error {
            None => return Ok(()),
            Some(e) if e.error_type == "ResourceNotFoundException" => return Ok(()),
            Some(e) if attempt == 2 => return Err(e.to_string()),
            Some(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
    Ok(())
}

/// Deletes every user pool whose name starts with `prefix` (leftovers of interrupted runs),
/// page by page. Returns how many were deleted and what could not be.
pub async fn sweep(client: &Client, prefix: &str) -> crate::error::Result<(usize, Vec<String>)> {
    let mut doomed = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = serde_json::json!({ "MaxResults": 60 });
        if let Some(t) = &token {
            input["NextToken"] = Value::String(t.clone());
        }
        let r = client.call("ListUserPools", &input).await?;
        if let Some(e) = r.error {
            return Err(crate::Error::Transport {
                endpoint: client.endpoint().to_string(),
                message: format!("ListUserPools failed: {e}"),
            });
        }
        for p in r.body["UserPools"].as_array().into_iter().flatten() {
            if p["Name"].as_str().is_some_and(|n| n.starts_with(prefix)) {
                if let Some(id) = p["Id"].as_str() {
                    doomed.push(id.to_string());
                }
            }
        }
        token = r.body["NextToken"].as_str().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let (errors, _) = cleanup(client, &doomed).await;
    Ok((doomed.len() - errors.len(), errors))
}

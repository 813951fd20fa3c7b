// Retry-matrix driver for the AWS SDK for JavaScript v3 (proxy/tests/faults_retry.rs).
//
// For each case in $CASES (JSON list): replace the proxy's fault rules with the case's rule
// through the admin API ($ADMIN), call ListUserPools through the proxy ($ENDPOINT) with the
// SDK's default retry strategy, and print one JSON line: the case, what the SDK finally threw,
// and how many requests the rule saw (= attempts the proxy saw).
import {
  CognitoIdentityProviderClient,
  ListUserPoolsCommand,
} from "@aws-sdk/client-cognito-identity-provider";

const ADMIN = process.env.ADMIN;
const ENDPOINT = process.env.ENDPOINT;

async function admin(method, path, body) {
  const resp = await fetch(ADMIN + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

function outcomeOf(e) {
  const status = e.$metadata?.httpStatusCode;
  if (e.$fault !== undefined && status !== undefined) return `${e.name} (${status})`;
  return e.code ? `${e.name}:${e.code}` : e.name;
}

for (const c of JSON.parse(process.env.CASES)) {
  await admin("DELETE", "/faults");
  await admin("POST", "/faults", c.rule);
  const client = new CognitoIdentityProviderClient({
    endpoint: ENDPOINT,
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    requestHandler: { requestTimeout: (c.read_timeout ?? 30) * 1000, connectionTimeout: 5000 },
  });
  const started = Date.now();
  let outcome = "ok";
  try {
    await client.send(new ListUserPoolsCommand({ MaxResults: 10 }));
  } catch (e) {
    outcome = outcomeOf(e);
  }
  client.destroy();
  const faults = await admin("GET", "/faults");
  const seen = faults.rules.filter((r) => r.id === c.rule.id).map((r) => r.selected);
  console.log(
    JSON.stringify({
      case: c.name,
      outcome,
      attempts: seen.length ? seen[0] : null,
      seconds: (Date.now() - started) / 1000,
    }),
  );
}
await admin("DELETE", "/faults");

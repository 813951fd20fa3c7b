// SDK-tolerance driver for the AWS SDK for JavaScript v3 (proxy/tests/sdk_tolerance.rs).
//
// For each case in $CASES (JSON list of {id, operation, params}), each variant (the conforming
// answer `base`, the `deviant` one) and each retry mode (`noretry`: maxAttempts 1; `default`:
// the SDK's defaults), send the operation's command to $SERVER/js/<mode>/<id>/<variant> (the
// test's server answers by path) and print one JSON line: what the application gets. A success
// is the output without $metadata; a service error (CognitoIdentityProviderServiceException) is
// the exception's class, name (the error code) and message; either keeps $metadata.requestId
// when the SDK set it. Anything else thrown (a parse error) is its class and message.
import { readFileSync } from "node:fs";
import * as sdk from "@aws-sdk/client-cognito-identity-provider";

const SERVER = process.env.SERVER;
const { CognitoIdentityProviderClient, CognitoIdentityProviderServiceException } = sdk;

// JSON for a parsed value, keeping the types JSON cannot tell apart.
function plain(value) {
  if (value instanceof Date) {
    return { $timestamp: Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString() };
  }
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString("base64") };
  if (Array.isArray(value)) return value.map(plain);
  if (value === undefined) return { $undefined: true };
  if (typeof value === "number" && !Number.isFinite(value)) return { $number: String(value) };
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const k of Object.keys(value).sort()) out[k] = plain(value[k]);
    return out;
  }
  return value;
}

async function call(c, mode, variant) {
  const client = new CognitoIdentityProviderClient({
    endpoint: `${SERVER}/js/${mode}/${c.id}/${variant}`,
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    maxAttempts: mode === "noretry" ? 1 : undefined,
    requestHandler: { requestTimeout: 10000, connectionTimeout: 5000 },
  });
  let result;
  let metadata = {};
  try {
    const { $metadata, ...output } = await client.send(new sdk[`${c.operation}Command`](c.params));
    metadata = $metadata;
    result = { output: plain(output) };
  } catch (e) {
    if (!(e instanceof CognitoIdentityProviderServiceException)) {
      return { raised: { class: e?.constructor?.name ?? typeof e, message: String(e?.message ?? e) } };
    }
    metadata = e.$metadata ?? {};
    result = { error: { class: e.constructor.name, code: e.name, message: e.message } };
  } finally {
    client.destroy();
  }
  if (metadata.requestId !== undefined) result["$metadata.requestId"] = metadata.requestId;
  return result;
}

const pkg = JSON.parse(
  readFileSync(
    new URL("./node_modules/@aws-sdk/client-cognito-identity-provider/package.json", import.meta.url),
  ),
);
console.log(JSON.stringify({ versions: { js_sdk: `${pkg.name} ${pkg.version}` } }));
for (const c of JSON.parse(process.env.CASES)) {
  for (const mode of ["noretry", "default"]) {
    for (const variant of ["base", "deviant"]) {
      const result = await call(c, mode, variant);
      console.log(JSON.stringify({ case: c.id, mode, variant, result }));
    }
  }
}

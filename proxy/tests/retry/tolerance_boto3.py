"""SDK-tolerance driver for boto3 (proxy/tests/sdk_tolerance.rs).

For each case in $CASES (JSON list of {"id", "operation", "params"}), each variant (the
conforming answer `base`, the `deviant` one) and each retry mode (`noretry`: one attempt;
`default`: the SDK's defaults), call the operation against
$SERVER/boto3/<mode>/<id>/<variant> (the test's server answers by path) and print one JSON
line: what the application gets. A success is the parsed output without ResponseMetadata; a
service error (ClientError) is the exception's class, `Error.Code` and `Error.Message`; either
keeps `ResponseMetadata.RequestId` when the SDK set it. Anything else the SDK raised (a parse
error) is its class and message.
"""
import base64
import datetime
import json
import os

import boto3
import botocore
from botocore.config import Config

SERVER = os.environ["SERVER"]


def plain(value):
    """JSON for a parsed value, keeping the Python types JSON cannot tell apart."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return {"$timestamp": value.isoformat() + " (naive)"}
        return {"$timestamp": value.astimezone(datetime.timezone.utc).isoformat()}
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def call(case, mode, variant):
    kwargs = {"connect_timeout": 5, "read_timeout": 10}
    if mode == "noretry":
        kwargs["retries"] = {"mode": "standard", "total_max_attempts": 1}
    client = boto3.client(
        "cognito-idp",
        endpoint_url="%s/boto3/%s/%s/%s" % (SERVER, mode, case["id"], variant),
        region_name="us-east-1",
        config=Config(**kwargs),
    )
    method = getattr(client, botocore.xform_name(case["operation"]))
    try:
        out = dict(method(**case["params"]))
        meta = out.pop("ResponseMetadata", {})
        result = {"output": plain(out)}
    except botocore.exceptions.ClientError as e:
        meta = e.response.get("ResponseMetadata", {})
        error = e.response.get("Error", {})
        result = {
            "error": {
                "class": type(e).__name__,
                "code": error.get("Code"),
                "message": error.get("Message"),
            }
        }
    except Exception as e:  # parse and transport errors: not a service error
        return {"raised": {"class": type(e).__name__, "message": str(e)}}
    finally:
        client.close()
    if "RequestId" in meta:
        result["ResponseMetadata.RequestId"] = meta["RequestId"]
    return result


print(
    json.dumps(
        {"versions": {"boto3": boto3.__version__, "botocore": botocore.__version__}}
    ),
    flush=True,
)
for case in json.loads(os.environ["CASES"]):
    for mode in ("noretry", "default"):
        for variant in ("base", "deviant"):
            result = call(case, mode, variant)
            line = {"case": case["id"], "mode": mode, "variant": variant, "result": result}
            print(json.dumps(line, sort_keys=True), flush=True)

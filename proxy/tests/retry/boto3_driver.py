"""Retry-matrix driver for boto3 (proxy/tests/faults_retry.rs).

For each case in $CASES (JSON list): replace the proxy's fault rules with the case's rule
through the admin API ($ADMIN), call ListUserPools through the proxy ($ENDPOINT) with the
case's retry configuration, and print one JSON line: the case, what the SDK finally raised,
and how many requests the rule saw (= attempts the proxy saw).
"""
import json
import os
import time
import urllib.request

import boto3
import botocore
from botocore.config import Config

ADMIN = os.environ["ADMIN"]
ENDPOINT = os.environ["ENDPOINT"]


def admin(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(ADMIN + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


def outcome_of(call):
    try:
        call()
        return "ok"
    except botocore.exceptions.ClientError as e:
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return "%s (%s)" % (e.response.get("Error", {}).get("Code"), status)
    except Exception as e:  # transport and parsing errors: the class is the outcome
        return type(e).__name__


print(
    json.dumps(
        {
            "case": "versions",
            "outcome": "boto3 %s, botocore %s" % (boto3.__version__, botocore.__version__),
            "attempts": 0,
        }
    ),
    flush=True,
)
for case in json.loads(os.environ["CASES"]):
    admin("DELETE", "/faults")
    admin("POST", "/faults", case["rule"])
    kwargs = {"connect_timeout": 5, "read_timeout": case.get("read_timeout", 30)}
    if case.get("retries") is not None:
        kwargs["retries"] = case["retries"]
    client = boto3.client(
        "cognito-idp",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        config=Config(**kwargs),
    )
    started = time.monotonic()
    outcome = outcome_of(lambda: client.list_user_pools(MaxResults=10))
    faults = admin("GET", "/faults")
    seen = [r["selected"] for r in faults["rules"] if r["id"] == case["rule"]["id"]]
    print(
        json.dumps(
            {
                "case": case["name"],
                "outcome": outcome,
                "attempts": seen[0] if seen else None,
                "seconds": round(time.monotonic() - started, 2),
            }
        ),
        flush=True,
    )
admin("DELETE", "/faults")

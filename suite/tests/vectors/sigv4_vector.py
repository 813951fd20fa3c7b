#!/usr/bin/env python3
"""Independent SigV4 reference for client::tests::signature_matches_botocore.

Run with any botocore: prints the Authorization header botocore computes for the
same request, credentials and time as the Rust test.
"""
import datetime
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
req = AWSRequest(
    method="POST",
    url="https://cognito-idp.us-east-1.amazonaws.com/",
    data=b'{"MaxResults":10}',
    headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService.ListUserPools",
    },
)
fixed = datetime.datetime(2023, 11, 14, 22, 13, 20)
with mock.patch("botocore.auth.get_current_datetime", return_value=fixed):
    SigV4Auth(creds, "cognito-idp", "us-east-1").add_auth(req)
print(req.headers["Authorization"])
print(req.headers["X-Amz-Date"])

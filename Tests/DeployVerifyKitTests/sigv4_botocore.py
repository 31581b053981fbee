#!/usr/bin/env python3
"""Signs requests with botocore's own SigV4 signers, for SigV4Tests to compare against.

Reads a JSON list on stdin; each item:

    {"method": "GET", "url": "https://host/path?query", "headers": [["Name", "value"], ...],
     "body_hex": "...", "unsigned": false, "service": "dynamodb", "region": "us-east-1",
     "access_key": "...", "secret_key": "...", "token": null, "date": "2015-08-30T12:36:00Z"}

and prints a JSON list with, for each, what botocore signed: the Authorization, X-Amz-Date and
X-Amz-Content-SHA256 headers, the canonical request and the string to sign.

The query is handed to botocore as parameters (`request.params`), decoded from the URL with
`urllib.parse.unquote` (a '+' stays a plus): botocore then re-encodes and sorts them, which is
the rule DeployVerify's signer follows for any URL. The signing time is fixed by replacing the
clock that botocore.auth reads (`get_current_datetime`, or `datetime.datetime` in botocore
releases before it existed), because `add_auth` overwrites `request.context['timestamp']`.
Exits 3 when botocore cannot be imported.
"""

import datetime
import json
import sys
import types
from urllib.parse import unquote, urlsplit

# All of stdin first: a writer still writing when this exits would get SIGPIPE.
ITEMS = json.loads(sys.stdin.buffer.read() or b"[]")

try:
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError as error:
    sys.stderr.write(f"botocore cannot be imported ({error}): pip install botocore\n")
    sys.exit(3)


class FixedClock:
    """Stands in for botocore.auth's clock: always the request's date."""

    now = None


def fixed_current_datetime(remove_tzinfo=True):
    value = FixedClock.now
    return value if remove_tzinfo else value.replace(tzinfo=datetime.timezone.utc)


if hasattr(botocore.auth, "get_current_datetime"):
    botocore.auth.get_current_datetime = fixed_current_datetime
else:
    class FixedDatetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return FixedClock.now

        @classmethod
        def now(cls, tz=None):
            return FixedClock.now if tz is None else FixedClock.now.replace(tzinfo=tz)

    botocore.auth.datetime = types.SimpleNamespace(datetime=FixedDatetime)


def query_parameters(url):
    """The URL's query as (name, value) pairs, percent-decoded, in order."""
    query = urlsplit(url).query
    if not query:
        return []
    pairs = []
    for piece in query.split("&"):
        name, _, value = piece.partition("=")
        pairs.append((unquote(name), unquote(value)))
    return pairs


def sign(item):
    FixedClock.now = datetime.datetime.strptime(item["date"], "%Y-%m-%dT%H:%M:%SZ")
    request = AWSRequest(method=item["method"], url=item["url"], data=bytes.fromhex(item.get("body_hex", "")))
    for name, value in item["headers"]:
        request.headers[name] = value
    params = query_parameters(item["url"])
    if params:
        request.params = params
    credentials = Credentials(item["access_key"], item["secret_key"], item.get("token"))
    if item["service"] == "s3":
        auth = botocore.auth.S3SigV4Auth(credentials, "s3", item["region"])
        if item.get("unsigned"):
            request.context["client_config"] = types.SimpleNamespace(s3={"payload_signing_enabled": False})
    else:
        auth = botocore.auth.SigV4Auth(credentials, item["service"], item["region"])
        if item.get("unsigned"):
            request.context["payload_signing_enabled"] = False

    captured = {}
    canonical_request, string_to_sign = auth.canonical_request, auth.string_to_sign

    def capture_canonical_request(request):
        captured["canonical_request"] = canonical_request(request)
        return captured["canonical_request"]

    def capture_string_to_sign(request, canonical):
        captured["string_to_sign"] = string_to_sign(request, canonical)
        return captured["string_to_sign"]

    auth.canonical_request = capture_canonical_request
    auth.string_to_sign = capture_string_to_sign
    auth.add_auth(request)
    return {
        "authorization": request.headers["Authorization"],
        "x_amz_date": request.headers["X-Amz-Date"],
        "x_amz_content_sha256": request.headers.get("X-Amz-Content-SHA256"),
        "x_amz_security_token": request.headers.get("X-Amz-Security-Token"),
        "canonical_request": captured.get("canonical_request"),
        "string_to_sign": captured.get("string_to_sign"),
    }


def main():
    json.dump([sign(item) for item in ITEMS], sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

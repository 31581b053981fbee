#!/usr/bin/env python3
"""A local CodeDeploy endpoint for PutLifecycleEventHookExecutionStatus that checks every
request's SigV4 signature with botocore's own signer (moto's server does not implement the
operation). Used by the tests (Tests/TestSupport/SignedCodeDeploy.swift).

usage: codedeploy_hook_server.py CONFIG_JSON

CONFIG_JSON: {"accessKey": "...", "secretKey": "...", "region": "us-east-1",
              "script": [{"status": 500, "type": "InternalFailure", "message": "..."}, ...],
              "completed": ["execution id", ...]}

- A request is accepted only when it is a CodeDeploy JSON 1.1 POST signed with SigV4 by
  accessKey for region/codedeploy, at most 15 minutes from now, signing host, x-amz-date,
  x-amz-target and content-type, and botocore's SigV4Auth given the same signed headers, body,
  date and keys computes the same Authorization header. Otherwise it is answered as AWS answers:
  MissingAuthenticationTokenException, IncompleteSignatureException, UnrecognizedClientException
  (another key), InvalidSignatureException (a wrong secret, a changed body), all HTTP 400.
- A signed PutLifecycleEventHookExecutionStatus first takes the next answer of "script" (an
  error of that status and type), then is validated as CodeDeploy does (Succeeded or Failed; an
  execution reported before, or listed in "completed", is LifecycleEventAlreadyCompletedException)
  and answered {"lifecycleEventHookExecutionId": ...}.
- Prints {"endpoint": "http://127.0.0.1:PORT"} once listening, then one line per request:
  {"record": {"time": epoch seconds, "target", "body", "signature": "valid" or the error code,
  "status": the HTTP status answered, "error": the error code or null}}.
- Serves until its parent process is gone (or SIGTERM). Exits 3 when botocore cannot be imported.
"""
import datetime
import hashlib
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.compat import HTTPHeaders
    from botocore.credentials import Credentials
except ImportError as error:
    print("MISSING " + str(error), flush=True)
    sys.exit(3)

CONFIG = json.loads(sys.argv[1])
REGION = CONFIG.get("region", "us-east-1")
LOCK = threading.Lock()
SCRIPT = list(CONFIG.get("script", []))
COMPLETED = set(CONFIG.get("completed", []))
REQUIRED_SIGNED = {"host", "x-amz-date", "x-amz-target", "content-type"}
AUTHORIZATION = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                           r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")

# botocore.auth reads the signing time from this clock; it is set to each request's X-Amz-Date
# (one request is verified at a time, under LOCK).
SIGNING_TIME = [datetime.datetime(2000, 1, 1)]


def fixed_current_datetime(remove_tzinfo=True):
    value = SIGNING_TIME[0]
    return value if remove_tzinfo else value.replace(tzinfo=datetime.timezone.utc)


if hasattr(botocore.auth, "get_current_datetime"):
    botocore.auth.get_current_datetime = fixed_current_datetime
else:  # botocore releases before get_current_datetime read datetime.datetime.utcnow()
    class FixedDatetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return SIGNING_TIME[0]

    botocore.auth.datetime = type("FixedDatetimeModule", (), {"datetime": FixedDatetime})


class SignedHeadersAuth(botocore.auth.SigV4Auth):
    """botocore's SigV4, signing exactly the headers the request says it signed (botocore's
    own list would leave out some, such as User-Agent, that a client may sign)."""

    def __init__(self, credentials, region, names):
        super().__init__(credentials, "codedeploy", region)
        self.names = names

    def headers_to_sign(self, request):
        found = HTTPHeaders()
        for name in self.names:
            if name in request.headers:
                found[name] = request.headers[name]
        return found


def verify(method, path, headers, body):
    """None when the request is signed correctly, else (code, message) as AWS answers."""
    authorization = headers.get("Authorization")
    if not authorization:
        return ("MissingAuthenticationTokenException", "Missing Authentication Token")
    match = AUTHORIZATION.match(authorization)
    if not match:
        return ("IncompleteSignatureException", "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.")
    key, day, region, service, signed, signature = match.groups()
    if key != CONFIG["accessKey"]:
        return ("UnrecognizedClientException", "The security token included in the request is invalid.")
    if region != REGION or service != "codedeploy":
        return ("InvalidSignatureException", f"Credential should be scoped to a valid region and to codedeploy, not '{region}/{service}'.")
    names = signed.split(";")
    if not REQUIRED_SIGNED.issubset(names) or names != sorted(names):
        return ("InvalidSignatureException", f"SignedHeaders must list host, x-amz-date, x-amz-target and content-type, sorted: {signed}")
    try:
        when = datetime.datetime.strptime(headers.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ")
    except ValueError:
        return ("IncompleteSignatureException", "X-Amz-Date is missing or not yyyyMMddTHHmmssZ")
    if when.strftime("%Y%m%d") != day:
        return ("InvalidSignatureException", "Date in Credential scope does not match X-Amz-Date.")
    if abs((datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - when).total_seconds()) > 900:
        return ("InvalidSignatureException", "Signature expired: the request time is more than 15 minutes from now.")
    declared = headers.get("X-Amz-Content-Sha256")
    if declared is not None and declared != hashlib.sha256(body).hexdigest():
        return ("InvalidSignatureException", "X-Amz-Content-SHA256 is not the body's hash.")
    request = AWSRequest(method=method, url=f"http://{headers.get('Host', '')}{path}", data=body)
    for name in names:
        value = headers.get(name)
        if value is None:
            return ("InvalidSignatureException", f"the signed header {name} is missing")
        request.headers[name] = value
    token = headers.get("X-Amz-Security-Token")
    SIGNING_TIME[0] = when
    SignedHeadersAuth(Credentials(CONFIG["accessKey"], CONFIG["secretKey"], token), REGION, names).add_auth(request)
    if request.headers["Authorization"] != authorization:
        return ("InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
    return None


def answer(target, body):
    """(status, document) for a signed request."""
    if target != "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus":
        return 400, {"__type": "UnknownOperationException", "message": f"{target} is not served here"}
    if SCRIPT:
        scripted = SCRIPT.pop(0)
        return scripted["status"], {"__type": scripted["type"], "message": scripted.get("message", "scripted")}
    try:
        request = json.loads(body)
    except ValueError:
        return 400, {"__type": "SerializationException", "message": "the body is not JSON"}
    deployment, execution, status = (request.get(k) for k in ("deploymentId", "lifecycleEventHookExecutionId", "status"))
    if not deployment:
        return 400, {"__type": "DeploymentIdRequiredException", "message": "At least one deployment ID must be specified."}
    if not execution:
        return 400, {"__type": "InvalidLifecycleEventHookExecutionIdException", "message": "A lifecycle event hook execution ID is required."}
    if status not in ("Succeeded", "Failed"):
        return 400, {"__type": "InvalidLifecycleEventHookExecutionStatusException",
                     "message": "The result of a Lambda validation function that verifies a lifecycle event is invalid. It should return Succeeded or Failed."}
    if execution in COMPLETED:
        return 400, {"__type": "LifecycleEventAlreadyCompletedException",
                     "message": f"The lifecycle event hook execution {execution[:16]}... has already completed for deployment {deployment}."}
    COMPLETED.add(execution)
    return 200, {"lifecycleEventHookExecutionId": execution}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *arguments):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        with LOCK:
            problem = verify("POST", self.path, self.headers, body)
            if problem is None and self.headers.get("Content-Type") != "application/x-amz-json-1.1":
                problem = ("UnknownOperationException", "expected Content-Type application/x-amz-json-1.1")
            if problem is not None:
                status, document = 400, {"__type": problem[0], "message": problem[1]}
            else:
                status, document = answer(target, body)
            record = {"time": time.time(), "target": target, "body": body.decode("utf-8", "replace"),
                      "signature": "valid" if problem is None else problem[0], "status": status,
                      "error": document.get("__type")}
            print(json.dumps({"record": record}), flush=True)
        payload = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


parent = os.getppid()
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
print(json.dumps({"endpoint": "http://127.0.0.1:%d" % server.server_address[1]}), flush=True)
while os.getppid() == parent:
    time.sleep(0.5)
server.shutdown()

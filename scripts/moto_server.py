#!/usr/bin/env python3
"""moto's server (PyPI moto[server]) on 127.0.0.1 as a test AWS, with signature checking on.

Starts the server on a free port, creates an IAM user with an allow-all inline policy and an
access key (the only requests moto lets through unsigned), then tells moto to check every later
request (/moto-api/reset-auth with 0: INITIAL_NO_AUTH_ACTION_COUNT=0 from then on), so a request
signed wrongly, or with any other key, fails. Prints one JSON line:
{"endpoint": "http://127.0.0.1:PORT", "key": ACCESS_KEY_ID, "secret": SECRET_ACCESS_KEY}
and serves until its parent process is gone (or SIGTERM). Used by the tests (Tests/TestSupport/
MotoServer.swift) and the benchmarks (bench/watch.sh).
"""
import json
import logging
import os
import sys
import threading
import time
import urllib.request

try:
    import boto3
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server
except ImportError as error:
    print("MISSING " + str(error), flush=True)
    sys.exit(3)


class OneAtATime:
    """moto's backends do not lock their tables, so two conditional writes to one DynamoDB item
    arriving together could both pass their condition. DynamoDB applies them one after the other;
    so does this: requests are served by many threads but applied one at a time."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            return list(self.app(environ, start_response))


logging.getLogger("werkzeug").setLevel(logging.ERROR)
parent = os.getppid()
server = make_server("127.0.0.1", 0, OneAtATime(DomainDispatcherApplication(create_backend_app)), threaded=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
host, port = server.server_address[:2]
url = "http://%s:%d" % (host, port)
iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="deployverify-tests")
iam.put_user_policy(UserName="deployverify-tests", PolicyName="everything", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="deployverify-tests")["AccessKey"]
request = urllib.request.Request(url + "/moto-api/reset-auth", data=b"0", method="POST",
                                 headers={"Content-Type": "text/plain"})
urllib.request.urlopen(request).read()
print(json.dumps({"endpoint": url, "key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}), flush=True)
while os.getppid() == parent:
    time.sleep(0.5)
server.shutdown()

#!/usr/bin/env python3
"""moto's server (PyPI moto[server]) on 127.0.0.1 as a test AWS, with signature checking on.

Starts the server on a free port, creates an IAM user with an allow-all inline policy and an
access key (the only requests moto lets through unsigned), then tells moto to check every later
request (/moto-api/reset-auth with 0: INITIAL_NO_AUTH_ACTION_COUNT=0 from then on), so a request
signed wrongly, or with any other key, fails. Prints one JSON line:
{"endpoint": "http://127.0.0.1:PORT", "key": ACCESS_KEY_ID, "secret": SECRET_ACCESS_KEY}
and serves until its parent process is gone (or SIGTERM). Used by the tests (Tests/TestSupport/
MotoServer.swift) and the benchmarks (bench/watch.sh, bench/dynamodb_requests.py,
bench/crash-campaign.sh).
"""
import copy
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


def transactions_backed_up_by_item():
    """moto 5's DynamoDB TransactWriteItems deep-copies the whole table before each item it writes
    (its way to roll back a cancelled transaction), so a transaction costs time in proportion to
    the table: a watcher's state table of a few thousand history and outbox items takes seconds a
    transaction, and a watcher's request timeout runs out. This applies a transaction the same
    way (the same checks, in the same order, the same errors) but keeps a copy of each item it
    writes instead, and on cancellation puts those back. Left as moto has it when moto's names
    differ (another moto version)."""
    try:
        from moto.dynamodb import models
        from moto.dynamodb.models.dynamo_type import DynamoType
        errors = (models.ConditionalCheckFailed, models.MultipleTransactionsException,
                  models.MockValidationException, models.TooManyTransactionsException,
                  models.TransactionCanceledException, models.TransactWriteSingleOpException)
        evaluate = models.get_filter_expression
    except (ImportError, AttributeError):
        return False
    ConditionalCheckFailed, MultipleTransactions, MockValidation, TooMany, Cancelled, SingleOp = errors

    def transact_write_items(self, transact_items):
        if len(transact_items) > 100:
            raise TooMany()
        written = []  # (table, hash key, range key, the item before, or None), in the order written
        targets = set()

        def put_back():
            for table, hash_value, range_value, before in reversed(written):
                if before is None:
                    table.delete_item(hash_value, range_value)
                elif range_value is None:
                    table.items[hash_value] = before
                else:
                    table.items[hash_value][range_value] = before

        outcomes = []  # (code, message, item) per transaction item; (None, None, None) when it applied
        for entry in transact_items:
            if len(entry) > 1:
                put_back()
                raise SingleOp()
            kind, operation = next(iter(entry.items()))
            old_image = None
            try:
                if kind not in ("ConditionCheck", "Put", "Delete", "Update"):
                    raise ValueError("Unsupported transaction operation")
                name = operation["TableName"]
                table = self.get_table(name)
                if kind == "Put":
                    key = {table.hash_key_attr: operation["Item"][table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = operation["Item"][table.range_key_attr]
                else:
                    key = operation["Key"]
                target = (name, str(sorted(key.items())))
                if target in targets:
                    raise MultipleTransactions()
                targets.add(target)
                condition = operation.get("ConditionExpression")
                names = operation.get("ExpressionAttributeNames")
                values = operation.get("ExpressionAttributeValues")
                current = self.get_item(name, key)
                if condition is not None and not evaluate(condition, names, values).expr(current):
                    if operation.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        old_image = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=old_image)
                if kind != "ConditionCheck":
                    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                    written.append((table, DynamoType(key[table.hash_key_attr]), range_value,
                                    copy.deepcopy(current)))
                expression = dict(condition_expression=condition, expression_attribute_names=names,
                                  expression_attribute_values=values)
                if kind == "Put":
                    self.put_item(name, operation["Item"], **expression)
                elif kind == "Delete":
                    self.delete_item(name, key, **expression)
                elif kind == "Update":
                    self.update_item(name, key, update_expression=operation["UpdateExpression"], **expression)
                outcomes.append((None, None, None))
            except (MultipleTransactions, MockValidation):
                put_back()
                raise
            except ConditionalCheckFailed as error:
                outcomes.append(("ConditionalCheckFailed", str(error.message), old_image))
            except Exception as error:  # as moto: any other failure cancels the transaction with its name
                outcomes.append((type(error).__name__, str(error), old_image))
        if any(code is not None for code, _, _ in outcomes):
            put_back()
            raise Cancelled(outcomes)

    models.DynamoDBBackend.transact_write_items = transact_write_items
    return True


logging.getLogger("werkzeug").setLevel(logging.ERROR)
transactions_backed_up_by_item()
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

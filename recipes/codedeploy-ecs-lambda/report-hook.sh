#!/bin/sh
# The body of a CodeDeploy hook Lambda for ECS or Lambda deployments: run hookrunner's phase,
# then tell CodeDeploy how it went. CodeDeploy waits for this call (up to an hour) and rolls the
# deployment back on "Failed".
#
# usage: report-hook.sh EVENT_JSON      (the Lambda event: {"DeploymentId": …, "LifecycleEventHookExecutionId": …})
# environment: PHASE (pre-traffic or post-traffic, set per function), VERSION, and the variables
# hooks.json uses (TEST_URL, LIVE_URL); AWS credentials come from the function's role.
set -u
event=$1
field() { printf '%s' "$event" | tr -d '\n' | sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p"; }
deployment_id=$(field DeploymentId)
execution_id=$(field LifecycleEventHookExecutionId)
if [ -z "$deployment_id" ] || [ -z "$execution_id" ]; then
  echo "report-hook: the event has no DeploymentId or LifecycleEventHookExecutionId: $event" >&2
  exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
"${HOOKRUNNER:-hookrunner}" "${PHASE:?set PHASE to pre-traffic or post-traffic}" --config "$here/hooks.json" \
  --var VERSION="${VERSION:?set VERSION}" --timeout 10m --no-color
code=$?
# 0: every check passed. 1: a check failed. 2: the checks file or a variable is wrong.
# 3: timed out or interrupted. Only 0 lets the deployment go on.
if [ "$code" -eq 0 ]; then status=Succeeded; else status=Failed; fi
echo "report-hook: hookrunner $PHASE exited $code: reporting $status for $deployment_id"
exec "${AWS:-aws}" deploy put-lifecycle-event-hook-execution-status \
  --deployment-id "$deployment_id" \
  --lifecycle-event-hook-execution-id "$execution_id" \
  --status "$status"

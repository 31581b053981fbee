#!/bin/sh
# CodeDeploy runs this for BeforeAllowTraffic, AfterAllowTraffic and ValidateService (see
# appspec.yml). hookrunner reads LIFECYCLE_EVENT to choose the phase and exits non-zero when a
# check fails, which fails the event and, with automatic rollback on, rolls the deployment back.
# Its --timeout stays under the hook's timeout in appspec.yml.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "${REPORT_DIR:-/var/log/checkout}"
exec "${HOOKRUNNER:-hookrunner}" \
  --config "$here/deploy/hooks.json" \
  --var VERSION="$(cat "$here/deploy/VERSION")" \
  --timeout 14m \
  --report "junit=${REPORT_DIR:-/var/log/checkout}/hookrunner-${LIFECYCLE_EVENT:-manual}.xml" \
  --no-color

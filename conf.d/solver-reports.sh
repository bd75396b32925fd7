#!/bin/sh
# collectd-anticaptcha: an exec-plugin program that turns your automation's
# result log into report requests. collectd's exec plugin runs it (see
# exec-reports.conf) and dispatches every PUTNOTIF line it prints.
#
# Log lines it understands (anything else is skipped):
#   2026-11-22T10:00:00Z solver result=REJECTED kind=recaptcha task=123456
#   2026-11-22T10:00:01Z solver result=ACCEPTED kind=recaptcha task=123457
#   2026-11-22T10:00:02Z solver result=REJECTED kind=image task=123458
log=${1:-/var/log/solver/results.log}
# With several accounts, name the one to report for.
instance=${2:+plugin_instance=$2}

tail -n 0 -F "$log" 2>/dev/null | while read -r _stamp _who result kind task; do
  case "$result $kind" in
    "result=REJECTED kind=recaptcha") severity=failure type=recaptcha ;;
    "result=ACCEPTED kind=recaptcha") severity=okay type=recaptcha ;;
    "result=REJECTED kind=image") severity=failure type=image ;;
    *) continue ;;
  esac
  id=${task#task=}
  # Only plain task ids: a wrong report costs money.
  case "$id" in '' | *[!0-9]*) continue ;; esac
  echo "PUTNOTIF severity=$severity time=$(date +%s) message=solver" \
    "plugin=anticaptcha $instance type=$type type_instance=$id"
done

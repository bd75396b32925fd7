#!/bin/sh
# The baseline bench/run compares the plugin with: what users do today.
# collectd's exec plugin runs this once per notification (NotificationExec),
# with the notification on standard input: "Name: value" header lines, an
# empty line, the message. It sends the report with curl, one request (and one
# process, one TCP connection) per notification.
# Usage: baseline-notify.sh API_URL CLIENT_KEY
url=$1
key=$2
plugin= severity= type= task=
while IFS= read -r line; do
  [ -z "$line" ] && break
  case $line in
    "Plugin: "*) plugin=${line#Plugin: } ;;
    "Severity: "*) severity=${line#Severity: } ;;
    "Type: "*) type=${line#Type: } ;;
    "TypeInstance: "*) task=${line#TypeInstance: } ;;
  esac
done
[ "$plugin" = anticaptcha ] || exit 0
case $task in '' | *[!0-9]*) exit 0 ;; esac
case $type/$severity in
  recaptcha/FAILURE) method=reportIncorrectRecaptcha ;;
  recaptcha/OKAY) method=reportCorrectRecaptcha ;;
  image/FAILURE) method=reportIncorrectImageCaptcha ;;
  *) exit 0 ;;
esac
exec curl -sS -o /dev/null --max-time 10 --noproxy '*' \
  -H 'Content-Type: application/json' \
  -d "{\"clientKey\":\"$key\",\"taskId\":$task}" "$url/$method"

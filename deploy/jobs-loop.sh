#!/bin/sh
# The timers' jobs where no systemd runs (the "jobs" container of deploy/compose.yaml): the same commands as
# digitalbus-remind.timer (every hour) and digitalbus-purge.timer (once a day, from 03:00 on, or at start when
# today's run is still missing). Both are safe to run on several machines at once.
set -u
cd /opt/digitalbus
flask() { /opt/digitalbus/.venv/bin/flask --app app "$@"; }
trap 'exit 0' TERM INT
purged=""
while :; do
    flask remind || echo "jobs: remind failed; trying again in an hour" >&2
    today=$(date -u +%F)
    if [ "$(date -u +%H)" -ge 2 ] && [ "$today" != "$purged" ]; then
        if flask purge; then purged=$today; else echo "jobs: purge failed; trying again in an hour" >&2; fi
    fi
    sleep 3600 &
    wait $!
done

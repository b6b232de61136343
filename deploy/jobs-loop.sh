#!/bin/sh
# The timers' jobs where no systemd runs (the "jobs" container of deploy/compose.yaml): the same commands as
# digitalbus-remind.timer (every hour), and digitalbus-purge.timer and digitalbus-backup.timer (once a day, from
# 02:00 UTC on, or at start when today's run is still missing). Remind and purge are safe to run on several
# machines at once; run the backup on one.
set -u
cd /opt/digitalbus
flask() { /opt/digitalbus/.venv/bin/flask --app app "$@"; }
trap 'exit 0' TERM INT
purged=""
while :; do
    flask remind || echo "jobs: remind failed; trying again in an hour" >&2
    today=$(date -u +%F)
    if [ "$(date -u +%H)" -ge 2 ] && [ "$today" != "$purged" ]; then
        if flask purge && flask backup create; then
            purged=$today
        else
            echo "jobs: purge or backup failed; trying again in an hour" >&2
        fi
    fi
    sleep 3600 &
    wait $!
done

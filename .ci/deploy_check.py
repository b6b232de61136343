"""The production set-up in deploy/, checked on this machine (run by .ci/deploy-check).

1. Every unit in deploy/systemd/ passes `systemd-analyze verify` with no complaint at all (an unknown setting is
   only a warning to systemd, and a failure here). The units name the install folder /opt/digitalbus; they are
   verified with it pointing at this checkout, so the programs they start must exist in its .venv.
2. On a throwaway PostgreSQL database, with deploy/digitalbus.env.example as the environment file, the commands
   the units start are run exactly as written in their ExecStart= lines: gunicorn (the app), the mail worker, and
   the purge and reminder jobs. Requests reach gunicorn as nginx sends them (Host, X-Forwarded-Proto: https).
   A seat is booked, its confirmation reaches a local SMTP server through the worker, the ticket opens, the jobs
   finish, nothing the processes logged holds the ticket's private link, and both services stop cleanly.

Usage: .ci/deploy-check [--pg postgresql://postgres@127.0.0.1:5432]
"""
from __future__ import annotations

import argparse
import base64
import http.client
import os
import re
import secrets
import shlex
import signal
import socket
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "deploy" / "systemd"
ENV_EXAMPLE = ROOT / "deploy" / "digitalbus.env.example"
INSTALL = "/opt/digitalbus"
HOST = "digitalbus.example.org"


def say(text: str) -> None:
    print(f"deploy-check: {text}", flush=True)


def fail(text: str) -> None:
    say(f"FAILED: {text}")
    raise SystemExit(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- 1. the units -------------------------------------------------------------------------------------------


def verify_units(tmp: Path) -> None:
    folder = tmp / "units"
    folder.mkdir()
    names = sorted(p.name for p in UNITS.iterdir() if p.suffix in (".service", ".timer"))
    if not names:
        fail("no units in deploy/systemd/")
    for name in names:
        (folder / name).write_text((UNITS / name).read_text().replace(INSTALL, str(ROOT)))
    run = subprocess.run(["systemd-analyze", "verify", "--man=no", *names], cwd=folder, capture_output=True,
                         text=True)
    said = (run.stdout + run.stderr).strip()
    if run.returncode or said:
        fail(f"systemd-analyze verify on {', '.join(names)}:\n{said}")
    say(f"systemd-analyze verify: {len(names)} units, no complaints ({', '.join(names)})")


def check_nginx(tmp: Path) -> None:
    """`nginx -t` on the site, with a throwaway certificate in place of the town's. Debian's nginx is not needed to
    run the app: .ci/deploy-check unpacks its package where it is not installed, and in CI a missing nginx fails."""
    import shutil

    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        if os.environ.get("CI"):  # .ci/deploy-check unpacks Debian's nginx where it is not installed
            fail("nginx is neither installed nor could its Debian package be unpacked: the site file is not checked")
        say("nginx is not installed here: the site file is not checked")
        return
    folder = tmp / "nginx"
    (folder / "logs").mkdir(parents=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", f"/CN={HOST}", "-days", "1", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem")], check=True, capture_output=True)
    site = (ROOT / "deploy" / "nginx" / "digitalbus.conf").read_text()
    site = site.replace(f"/etc/letsencrypt/live/{HOST}/fullchain.pem", str(folder / "cert.pem"))
    site = site.replace(f"/etc/letsencrypt/live/{HOST}/privkey.pem", str(folder / "key.pem"))
    site = site.replace("/var/log/nginx/", str(folder / "logs") + "/")
    (folder / "site.conf").write_text(site)
    (folder / "nginx.conf").write_text(
        f"pid {folder}/nginx.pid;\nerror_log {folder}/logs/error.log;\nevents {{}}\n"
        # Temporary files in the check's folder: an nginx unpacked from its package has no /var/lib/nginx.
        "http { access_log off; "
        + "".join(f"{kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        + f" include {folder}/site.conf; }}\n")
    run = subprocess.run([nginx, "-t", "-q", "-p", str(folder), "-c", str(folder / "nginx.conf")],
                         capture_output=True, text=True)
    if run.returncode or run.stderr.strip():
        fail(f"nginx -t on deploy/nginx/digitalbus.conf:\n{run.stderr}")
    say("nginx -t: the site file is valid")


def unit_settings(name: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key.strip(), []).append(value.strip())
    return settings


class Unit:
    """What a service unit starts: its command, working directory and environment, moved into this checkout."""

    def __init__(self, name: str, places: dict[str, str]):
        self.name = name
        settings = unit_settings(name)
        moved = lambda text: self._move(text, places)  # noqa: E731
        (command,) = settings["ExecStart"]
        self.argv = [moved(a) for a in shlex.split(command)]
        self.cwd = moved(settings["WorkingDirectory"][0])
        self.environment: dict[str, str] = {}
        for line in settings.get("Environment", []):
            for pair in shlex.split(line):
                key, _, value = pair.partition("=")
                self.environment[key] = moved(value)

    @staticmethod
    def _move(text: str, places: dict[str, str]) -> str:
        for old, new in places.items():
            text = text.replace(old, new)
        return text


def env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


# --- 2. the commands ----------------------------------------------------------------------------------------


@contextmanager
def throwaway_database(server: str):
    import psycopg

    name = f"busapp_deploy_{secrets.token_hex(4)}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def smtp_sink():
    from aiosmtpd.controller import Controller

    received: list = []

    class Handler:
        async def handle_DATA(self, _server, _session, envelope):  # noqa: N802 - aiosmtpd's name
            received.append(envelope)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, received
    finally:
        controller.stop()


class Http:
    """Requests as nginx passes them on: the public host, https, the visitor's address; cookies kept by hand
    (they are Secure, so a cookie jar would not send them over this plain connection)."""

    def __init__(self, port: int, forwarded: bool = True):
        self.port = port
        self.forwarded = forwarded
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7",
                "Accept-Language": "de"} if self.forwarded else {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        sent.update(headers or {})
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        data = response.read().decode("utf-8", "replace")
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        conn.close()
        return response.status, dict(response.getheaders()), data


def wait_for(check, what: str, timeout: float, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            fail(f"{what}: the process ended with {proc.returncode}")
        if time.monotonic() > deadline:
            fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.3)


def start(unit: Unit, env: dict, log: Path) -> subprocess.Popen:
    say(f"starting {unit.name}: {shlex.join(unit.argv)}")
    return subprocess.Popen(unit.argv, cwd=unit.cwd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(proc: subprocess.Popen, name: str, log: Path) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=45)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        fail(f"{name} did not stop within 45 s of SIGTERM:\n{log.read_text()[-3000:]}")
    if code not in (0, -signal.SIGTERM):  # systemd counts either as a clean stop
        fail(f"{name} stopped with exit code {code}:\n{log.read_text()[-3000:]}")
    say(f"{name} stopped cleanly on SIGTERM")


def run_job(unit: Unit, env: dict) -> str:
    run = subprocess.run(unit.argv, cwd=unit.cwd, env=env, capture_output=True, text=True, timeout=300)
    if run.returncode:
        fail(f"{unit.name} ({shlex.join(unit.argv)}) exited with {run.returncode}:\n{run.stdout}\n{run.stderr}")
    say(f"{unit.name}: {run.stdout.strip().splitlines()[-1] if run.stdout.strip() else 'done'}")
    return run.stdout + run.stderr


def future_workshop(db_url: str) -> int:
    import psycopg

    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT w.id FROM workshop w JOIN stop s ON s.id = w.stop_id WHERE w.status = 'published' AND "
            "s.status = 'published' AND w.starts_at > now() + interval '2 days' AND w.seats_taken < w.capacity "
            "ORDER BY w.starts_at LIMIT 1").fetchone()
    if row is None:
        fail("the demo tour has no bookable workshop")
    return row[0]


def smoke(http: Http, db_url: str, received: list) -> str:
    status, headers, page = http.request("GET", "/healthz")
    if status != 200 or '"database":true' not in page.replace(" ", ""):
        fail(f"/healthz answered {status}: {page[:300]}")
    status, headers, page = http.request("GET", "/")
    if status != 200 or "Digitalwerkstatt" not in page:
        fail(f"the home page answered {status}")
    if "Strict-Transport-Security" not in headers:
        fail("the home page over https (as nginx forwards it) has no Strict-Transport-Security")
    css = re.search(r'href="(/static/[^"]+\.css\?v=[0-9a-f]+)"', page)
    if not css or http.request("GET", css.group(1))[0] != 200:
        fail("the stylesheet named by the home page is not served")
    workshop = future_workshop(db_url)
    status, _, form = http.request("GET", f"/workshops/{workshop}/book")
    fields = dict(re.findall(r'name="(csrf_token|idempotency_key)"[^>]*value="([^"]+)"', form))
    if status != 200 or len(fields) != 2:
        fail(f"the booking form answered {status} without its tokens")
    from urllib.parse import urlencode, urlsplit

    body = urlencode({**fields, "name": "Rauchtest", "party_size": "2", "contact": "smoke@example.org",
                      "consent": "y"})
    status, headers, page = http.request("POST", f"/workshops/{workshop}/book", body=body)
    if status not in (302, 303):
        fail(f"booking answered {status}: {page[:500]}")
    path = urlsplit(headers["Location"]).path
    if not re.fullmatch(r"/t/[A-Za-z0-9_-]+", path):
        fail(f"booking led to {headers['Location']}, not to a ticket")
    status, _, ticket = http.request("GET", path)
    if status != 200 or "Rauchtest" not in ticket:
        fail(f"the ticket answered {status}")
    say(f"booked 2 seats of workshop {workshop}; the ticket opens")
    wait_for(lambda: any("smoke@example.org" in m.rcpt_tos for m in received), "confirmation mail sent", 60)
    say("the mail worker sent the confirmation to the local SMTP server")
    return path.rsplit("/", 1)[1]


def metric(text: str, name: str, labels: str = "") -> float:
    """One sample's value (labels in any order), or -1 when it is missing."""
    want = sorted(labels.split(",")) if labels else []
    for line in text.splitlines():
        found = re.fullmatch(r"([\w:]+)(?:\{(.*)\})? (\S+)", line)
        if found and found.group(1) == name and sorted(found.group(2).split(",") if found.group(2) else []) == want:
            return float(found.group(3))
    return -1.0


def monitoring(port: int, log: Path) -> None:
    """/readyz and /metrics as monitoring on the machine asks gunicorn, and the JSON request log lines."""
    direct, outside = Http(port, forwarded=False), Http(port)
    status, _, body = direct.request("GET", "/readyz")
    if status != 200 or '"ready"' not in body:
        fail(f"/readyz answered {status}: {body[:300]}")
    for _ in range(20):
        direct.request("GET", "/healthz")
    if outside.request("GET", "/metrics")[0] != 404:
        fail("/metrics answered a visitor from outside METRICS_NETWORKS")
    status, headers, text = direct.request("GET", "/metrics")
    if status != 200:
        fail(f"/metrics answered {status} on this machine")
    checks = {
        # Both gunicorn workers answered some of the 20: only the multi-process mode adds them up.
        ("busapp_http_requests_total", 'method="GET",route="/healthz",status="200"'): 20,
        ("busapp_http_requests_total", 'method="GET",route="/t/<token>",status="200"'): 1,
        ("busapp_bookings", 'status="confirmed"'): 1,
        ("busapp_mail_messages", 'status="sent"'): 1,
        ("busapp_database_up", ""): 1,
    }
    for (name, labels), least in checks.items():
        if metric(text, name, labels) < least:
            fail(f"/metrics: {name}{{{labels}}} is {metric(text, name, labels)}, expected at least {least}")
    for job in ("purge", "remind", "backup"):
        if metric(text, "busapp_job_last_run_timestamp_seconds", f'job="{job}"') < time.time() - 600:
            fail(f"/metrics does not show the {job} job's run")
    say("/readyz ready; /metrics adds up both workers' requests, shows bookings, mail and the jobs' last runs, "
        "and is a 404 from outside")
    import json

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith('{"')]
    requests = [entry for entry in lines if entry.get("logger") == "busapp.access"]
    if not requests or not all(re.fullmatch(r"[0-9a-f]{32}", e.get("request_id", "")) for e in requests):
        fail("the app's log has no JSON request lines with request ids (LOG_FORMAT=json)")
    if not any(e.get("route") == "/t/<token>" for e in requests):
        fail("the JSON request log does not name the ticket's route")
    say(f"the app logged {len(requests)} requests as JSON lines with request ids")


def restore_backup(flask: list[str], env: dict, folder: Path, server: str) -> None:
    """The night's backup restores into a new database, with the booking made above in it."""
    import psycopg

    archives = sorted(folder.glob("digitalbus-*.tar.gz"))
    if len(archives) != 1 or (archives[0].stat().st_mode & 0o077):
        fail(f"the backup job should leave one archive readable by its owner only in {folder}: {archives}")
    with throwaway_database(server) as other:
        run = subprocess.run(flask + ["backup", "restore", str(archives[0])], cwd=ROOT,
                             env=dict(env, DATABASE_URL=other), capture_output=True, text=True)
        if run.returncode:
            fail(f"flask backup restore failed:\n{run.stdout}\n{run.stderr}")
        with psycopg.connect(other) as conn:
            found = conn.execute("SELECT count(*) FROM booking WHERE name = 'Rauchtest'").fetchone()[0]
        if found != 1:
            fail("the restored database does not hold the booking made before the backup")
    say(f"the backup {archives[0].name} restores into a new database, the booking in it")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("DEPLOY_CHECK_PG_URL", "postgresql://postgres@127.0.0.1:5432"))
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="deploy-check-") as folder:
        tmp = Path(folder)
        verify_units(tmp)
        check_nginx(tmp)
        state, runtime = tmp / "state", tmp / "run"
        (runtime / "metrics").mkdir(parents=True)
        state.mkdir()
        places = {INSTALL: str(ROOT), "/var/lib/digitalbus": str(state), "/run/digitalbus": str(runtime)}
        app, worker = Unit("digitalbus.service", places), Unit("digitalbus-mail.service", places)
        purge, remind = Unit("digitalbus-purge.service", places), Unit("digitalbus-remind.service", places)
        nightly = Unit("digitalbus-backup.service", places)
        port = free_port()
        with throwaway_database(args.pg.rstrip("/")) as db_url, smtp_sink() as (smtp_port, received):
            env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "MAIL_", "DATABASE_"))}
            env.update(env_file(ENV_EXAMPLE))
            env.update({
                "TICKET_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
                "SECRET_KEY": secrets.token_urlsafe(48),
                "DATABASE_URL": db_url,
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "WEB_CONCURRENCY": "2",
                "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port), "MAIL_USE_TLS": "0",
                "MAIL_POLL_SECONDS": "1",
                "BACKUP_DIR": str(tmp / "backups"),
                # The example's /etc/digitalbus/town, as a town's IT makes it: a copy of a profile folder.
                "TOWN": str(shutil.copytree(ROOT / "towns" / "luebeck", tmp / "etc" / "town")),
            })
            if env.get("PUBLIC_BASE_URL") != f"https://{HOST}":
                fail(f"the example environment's PUBLIC_BASE_URL is not https://{HOST}")
            flask = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "app"]
            job_env = dict(env, **app.environment)
            job_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
            for step in (["db", "upgrade"], ["seed-demo", "--force"]):
                done = subprocess.run(flask + step, cwd=ROOT, env=job_env, capture_output=True, text=True)
                if done.returncode:
                    fail(f"flask {' '.join(step)} failed:\n{done.stdout}{done.stderr}")
            say("database migrated and the demo tour loaded")
            logs = {name: tmp / f"{name}.log" for name in ("app", "worker")}
            server = start(app, dict(env, **app.environment), logs["app"])
            mailer = None
            try:
                http = Http(port)
                wait_for(lambda: http.request("GET", "/healthz")[0] == 200, "gunicorn answering", 60, server)
                mailer = start(worker, dict(env, **worker.environment), logs["worker"])
                token = smoke(http, db_url, received)
                for job in (purge, remind, nightly):
                    output = run_job(job, dict(env, **job.environment))
                    if token in output:
                        fail(f"{job.name} printed a ticket's private link")
                restore_backup(flask, dict(job_env), tmp / "backups", args.pg.rstrip("/"))
                monitoring(port, logs["app"])
            finally:
                if mailer is not None:
                    stop(mailer, worker.name, logs["worker"])
                stop(server, app.name, logs["app"])
            for name, log in logs.items():
                if token in log.read_text():
                    fail(f"the {name}'s log holds a ticket's private link /t/{token}")
            say("no log names a ticket's private link")
    say(f"all good in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

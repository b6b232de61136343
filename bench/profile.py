"""Where a request's time goes: py-spy samples the gunicorn workers while wrk drives one case of `make bench`.

    .venv/bin/python bench/profile.py ticket                      # SQLite, 15 s of load
    .venv/bin/python bench/profile.py booking --backend postgresql --duration 20
    .venv/bin/python bench/profile.py api --keep /tmp/api.txt     # also keep the folded stacks

Cases: home, district, stop, api, ticket, booking (the same requests as bench/run.py). Needs `py-spy` (from PyPI,
`.venv/bin/pip install py-spy`; it reads other processes' memory, so it runs as root or with ptrace allowed) and wrk.

Prints the share of the workers' busy samples spent in (inclusive) and directly inside (own) each function, the
biggest first, and the shares of a few named groups of work (templates, ORM, database driver, ...). The shares are
what to trust on a shared machine; absolute rates move with other work.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import run  # noqa: E402

PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")

# Groups of work, by the file a frame comes from (first match wins for "own" time; inclusive counts every group on
# the stack once).
GROUPS = [
    ("jinja2 (templates)", r"\(jinja2/|\.html:"),
    ("flask_babel / babel (translations, dates)", r"\((flask_babel|babel)/"),
    ("sqlalchemy ORM", r"\(sqlalchemy/orm/"),
    ("sqlalchemy core and engine", r"\(sqlalchemy/(?!orm/)"),
    ("database driver (sqlite3 / psycopg)", r"\((sqlite3|psycopg|psycopg_c|psycopg_binary)/"),
    ("flask_wtf / wtforms (forms, CSRF)", r"\((flask_wtf|wtforms)/"),
    ("itsdangerous (signed cookies, tokens)", r"\(itsdangerous/"),
    ("flask_login", r"\(flask_login/"),
    ("json", r"\((json|simplejson|orjson)/"),
    ("qrcode", r"\(qrcode/"),
    ("cryptography", r"\(cryptography/"),
    ("werkzeug", r"\(werkzeug/"),
    ("gunicorn", r"\(gunicorn/"),
    ("busapp", r"\(busapp/"),
]


def cases(urls: dict, base: str, connections: int) -> dict:
    plans = {
        "home": run.Plan(paths=[urls["home"]]),
        "district": run.Plan(paths=[urls["district"]]),
        "stop": run.Plan(paths=[urls["stop"]]),
        "api": run.Plan(paths=[urls["api stops"]]),
        "ticket": run.Plan(paths=[urls["ticket"]]),
    }
    sessions, form_html = run.booking_sessions(base, urls["book"][0], connections)
    plans["booking"] = run.Plan(method="POST", paths=urls["book"], sessions=sessions,
                                body=run.booking_body(form_html))
    return plans


def frames(line: str) -> tuple[list[str], int]:
    stack, _, count = line.rpartition(" ")
    return stack.split(";"), int(count)


def summarise(folded: str, top: int) -> None:
    total = 0
    inclusive: Counter = Counter()
    own: Counter = Counter()
    group_incl: Counter = Counter()
    group_own: Counter = Counter()
    for line in folded.splitlines():
        if not line.strip():
            continue
        stack, n = frames(line)
        # The first frames name the process and thread; keep Python frames only.
        stack = [f for f in stack if "(" in f and not f.startswith(("process ", "thread "))]
        # Only the request handling of the worker threads (not the main thread waiting for connections).
        if not any(f.startswith("ThreadWorker.handle ") for f in stack):
            continue
        total += n
        for name in set(stack):
            inclusive[name] += n
        own[stack[-1]] += n
        seen = set()
        for frame in stack:
            for label, pattern in GROUPS:
                if re.search(pattern, frame):
                    seen.add(label)
                    break
        for label in seen:
            group_incl[label] += n
        for label, pattern in GROUPS:
            if re.search(pattern, stack[-1]):
                group_own[label] += n
                break
        else:
            group_own["other (stdlib, interpreter)"] += n
    if not total:
        print("no samples")
        return
    print(f"\n{total} samples of worker threads handling a request (reading it, the app, writing the answer)")
    print("\nGroups (inclusive: on the stack; own: the innermost frame)")
    for label, n in sorted(group_incl.items(), key=lambda kv: -kv[1]):
        print(f"  {100 * n / total:5.1f}% incl {100 * group_own.get(label, 0) / total:5.1f}% own  {label}")
    print(f"  {'':>5}       {100 * group_own.get('other (stdlib, interpreter)', 0) / total:5.1f}% own  other")
    print(f"\nFunctions, inclusive (top {top})")
    for name, n in inclusive.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {short(name)}")
    print(f"\nFunctions, own (top {top})")
    for name, n in own.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {short(name)}")


def short(frame: str) -> str:
    return re.sub(r"\(.*?/(site-packages|python3\.\d+|speed|main)/", "(", frame)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case", choices=("home", "district", "stop", "api", "ticket", "booking"))
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--gil", action="store_true",
                        help="only samples of the thread holding the GIL (Python work; leaves out waiting for it)")
    parser.add_argument("--idle", action="store_true",
                        help="also samples of threads that wait (for the database, a lock, the network): wall-clock time")
    parser.add_argument("--keep", help="write the folded stacks here too (for flame graph tools)")
    parser.add_argument("--no-spy", action="store_true",
                        help="no profiler: only the rate and the workers' CPU time per request, undisturbed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="busapp-profile-") as tmp:
        workdir = Path(tmp)
        database = (run.sqlite_database(workdir) if args.backend == "sqlite"
                    else run.postgres_database(args.pg))
        with database as url:
            info = run.seed(url)
            port = run.free_port()
            with run.gunicorn("app:app", run.app_env(url), args.workers, args.threads, port,
                              workdir / "app.log") as proc:
                base = f"http://127.0.0.1:{port}"
                plan = cases(info["urls"], base, args.connections)[args.case]
                if plan.method == "GET":
                    run.drive(port, "warm-up", plan, 2, args.connections, "wrk", workdir)
                out = workdir / "stacks.txt"
                cpu_before = run.worker_cpu(proc.pid)
                spy = None if args.no_spy else subprocess.Popen([PY_SPY, "record", "--pid", str(proc.pid), "--subprocesses", "--nonblocking",
                                        "--rate", str(args.rate), *(["--gil"] if args.gil else []), *(["--idle"] if args.idle else []), "--duration", str(int(args.duration)),
                                        "--format", "raw", "--output", str(out)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                result: dict = {}
                load = threading.Thread(target=lambda: result.setdefault("r", run.drive(
                    port, args.case, plan, args.duration, args.connections, "wrk", workdir)))
                load.start()
                load.join()
                cpu = run.worker_cpu(proc.pid) - cpu_before
                r = result["r"]
                print(f"{args.case} on {args.backend}: {r.rps:.0f} req/s, p50 {r.p50_ms:.1f} ms, "
                      f"p99 {r.p99_ms:.1f} ms, errors {r.errors}; workers' CPU {1000 * cpu / max(1, r.rps * args.duration):.2f} ms "
                      f"per request, {cpu / args.duration:.2f} cores; load average {os.getloadavg()[0]:.1f}"
                      + ("" if spy is None else " (under the profiler, which slows the workers)"))
                if spy is None:
                    return 0
                spy.wait(timeout=args.duration + 60)
                folded = out.read_text() if out.exists() else ""
                if not folded:
                    print(spy.stderr.read() if spy.stderr else "py-spy wrote nothing")
                if args.keep:
                    Path(args.keep).write_text(folded)
                summarise(folded, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())

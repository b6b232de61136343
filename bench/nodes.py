"""Throughput with one and with two app nodes on one PostgreSQL (bench/README.md, "Several nodes").

    .venv/bin/python bench/nodes.py [--duration 10] [--connections 32] [--workers 2] [--threads 4]

A throwaway PostgreSQL database (127.0.0.1:5432, or --pg / BENCH_PG_URL; dropped afterwards) gets the demo tour.
Each node is gunicorn serving the app on a port of its own with the same settings and keys, as two machines behind
nginx would be; the load generator (bench/run.py's: wrk, or bench/loadgen.py) drives each node with its share of
the connections at the same time, and the figures are added up. Cases: a stop page (from the page cache, which is
per process), the stops list API (rendered each time, two SQL statements) and the booking POST (sessions opened on
the first node are used on every node: they are signed cookies). After the booking runs, the overbooking check.

On one machine two nodes share its cores: this shows that a second node adds nothing wrong and what it costs, not
what a second machine would add. Not part of `make bench`.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (the load benchmark's plumbing: databases, seeding, gunicorn, load generator)


def drive_all(ports: list[int], name: str, plan: run.Plan, duration: float, connections: int, loadgen: str,
              workdir: Path) -> run.Result:
    """Drive every node at once, each with its share of the connections; the results added up."""
    results: list[run.Result] = []
    share = max(1, connections // len(ports))

    def one(i: int, port: int) -> None:
        folder = workdir / f"node{i}"
        folder.mkdir(exist_ok=True)
        results.append(run.drive(port, name, plan, duration, share, loadgen, folder))

    threads = [threading.Thread(target=one, args=(i, port)) for i, port in enumerate(ports)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = run.Result(name=name, requests=sum(r.requests for r in results),
                       duration_s=max(r.duration_s for r in results), errors=sum(r.errors for r in results))
    total.p50_ms = max(r.p50_ms for r in results)
    total.p99_ms = max(r.p99_ms for r in results)
    total.error_detail = "; ".join(r.error_detail for r in results if r.error_detail)
    return total


def measure(nodes: int, args, workdir: Path) -> dict:
    report: dict = {}
    with run.postgres_database(args.pg.rstrip("/"), prefix="busapp_nodes") as db_url, ExitStack() as stack:
        info = run.seed(db_url)
        urls = info["urls"]
        env = run.app_env(db_url)  # the per-address ceilings raised: every simulated visitor comes from loopback
        ports = []
        for i in range(nodes):
            port = run.free_port()
            runtime = workdir / f"{nodes}-{i}"
            runtime.mkdir()
            node_env = dict(env, XDG_RUNTIME_DIR=str(runtime))  # each node its own gunicorn control socket
            stack.enter_context(run.gunicorn("app:app", node_env, args.workers, args.threads, port,
                                             runtime / "gunicorn.log"))
            ports.append(port)
        base = f"http://127.0.0.1:{ports[0]}"
        sessions, form_html = run.booking_sessions(base, urls["book"][0], args.connections)
        cases = [
            ("stop", run.Plan(paths=[urls["stop"]])),
            ("api stops", run.Plan(paths=[urls["api stops"]])),
            ("booking POST", run.Plan(method="POST", paths=urls["book"], sessions=sessions,
                                      body=run.booking_body(form_html))),
        ]
        for name, plan in cases:
            if plan.method == "GET":
                drive_all(ports, name, plan, 2, args.connections, args.loadgen, workdir)
            result = drive_all(ports, name, plan, args.duration, args.connections, args.loadgen, workdir)
            report[name] = result
            print(f"  {nodes} node(s)  {name:<13} {result.rps:8.0f} req/s  p50 {result.p50_ms:6.1f} ms  "
                  f"p99 {result.p99_ms:6.1f} ms  errors {result.errors} {result.error_detail}", flush=True)
        report["overbooking"] = run.overbooking_check(db_url)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per case (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent clients in all (default 32)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per node (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432"))
    parser.add_argument("--loadgen", choices=["wrk", "python"], default="wrk" if run.WRK else "python")
    args = parser.parse_args()
    print(f"# {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, load generator {args.loadgen}, "
          f"{args.workers} workers x {args.threads} threads per node, {args.connections} connections in all")
    with tempfile.TemporaryDirectory(prefix="bench-nodes-") as folder:
        reports = {n: measure(n, args, Path(folder)) for n in (1, 2)}
    ok = True
    for n, report in reports.items():
        check = report["overbooking"]
        fine = not check["over_capacity"] and not check["mismatched"]
        ok &= fine
        print(f"{n} node(s): overbooking check {'ok' if fine else 'FAILED'} ({check['bookings']})")
    print("\n| case | 1 node req/s | 2 nodes req/s |\n|---|---|---|")
    for name in ("stop", "api stops", "booking POST"):
        print(f"| {name} | {reports[1][name].rps:.0f} | {reports[2][name].rps:.0f} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

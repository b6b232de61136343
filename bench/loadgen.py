"""A small HTTP/1.1 load generator for when wrk is not installed: keep-alive connections driven by asyncio.

    python bench/loadgen.py PLAN.json

PLAN.json is the request plan that bench/run.py also turns into a wrk Lua script (see `plan_requests` there):
{"host", "port", "connections", "duration", "method", "paths", "sessions", "body"}.
Prints one JSON line with the same fields the wrk script prints. One Python process drives all connections, so on a
fast server this generator is the bottleneck well before wrk would be: its figures are a lower bound.
"""
from __future__ import annotations

import asyncio
import json
import sys
import time


def build_request(plan: dict, conn_id: int, n: int) -> bytes:
    """The n-th request of connection conn_id: the same rotation over paths and sessions as the wrk script."""
    i = conn_id * 1_000_003 + n
    path = plan["paths"][i % len(plan["paths"])]
    headers = [f"Host: {plan['host']}:{plan['port']}", "User-Agent: bench-loadgen"]
    headers += [f"{name}: {value}" for name, value in plan.get("headers", {}).items()]
    body = b""
    if plan["sessions"]:
        session = plan["sessions"][i % len(plan["sessions"])]
        headers.append(f"Cookie: {session['cookie']}")
        if plan.get("body"):
            key = f"{plan['nonce']}-{conn_id}-{n}"
            body = plan["body"].replace("{token}", session["token"]).replace("{key}", key).encode()
            headers.append("Content-Type: application/x-www-form-urlencoded")
    if body:
        headers.append(f"Content-Length: {len(body)}")
    head = f"{plan['method']} {path} HTTP/1.1\r\n" + "\r\n".join(headers) + "\r\n\r\n"
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; returns (status, connection stays open)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if status in (204, 304):
        pass  # no body, whatever the headers say
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    else:
        await reader.read()
        return status, False
    return status, headers.get("connection", "").lower() != "close"


async def connection(plan: dict, conn_id: int, deadline: float, latencies: list[float], counts: dict) -> None:
    reader = writer = None
    n = 0
    while time.perf_counter() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(plan["host"], plan["port"])
            started = time.perf_counter()
            writer.write(build_request(plan, conn_id, n))
            await writer.drain()
            status, keep = await asyncio.wait_for(read_response(reader), timeout=plan.get("timeout", 10))
            latencies.append(time.perf_counter() - started)
            counts["requests"] += 1
            if status > 399:
                counts["errors_status"] += 1
            if not keep:
                writer.close()
                writer = None
        except asyncio.TimeoutError:
            counts["errors_timeout"] += 1
            writer.close()
            writer = None
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            counts["errors_read"] += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)
        n += 1
    if writer is not None:
        writer.close()


async def run(plan: dict) -> dict:
    latencies: list[float] = []
    counts = {"requests": 0, "errors_status": 0, "errors_timeout": 0, "errors_read": 0, "errors_connect": 0,
              "errors_write": 0}
    started = time.perf_counter()
    deadline = started + plan["duration"]
    await asyncio.gather(*(connection(plan, c, deadline, latencies, counts) for c in range(plan["connections"])))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))] * 1e6

    return {**counts, "duration_us": int(elapsed * 1e6), "p50_us": pct(50), "p99_us": pct(99),
            "mean_us": (sum(latencies) / len(latencies) * 1e6) if latencies else 0.0,
            "max_us": latencies[-1] * 1e6 if latencies else 0.0}


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(json.dumps(asyncio.run(run(json.load(f)))))

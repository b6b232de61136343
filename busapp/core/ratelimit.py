"""Fixed-window rate limits kept in the database, so every app process sees the same counts.

Use the `limit` decorator on a view, or `enforce()` / `hit()` inside one. Call them before the view writes anything:
the count is written on a connection of its own, which on SQLite would wait for the request's own write lock.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache, wraps

import sqlalchemy as sa
from flask import current_app, request
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.exceptions import TooManyRequests

from .extensions import db
from ..models import RateCounter

# Longest window a limit may use; rows older than this are certainly expired and get deleted.
MAX_WINDOW = 24 * 3600
_LIMIT = re.compile(r"^\s*(\d{1,9})\s*/\s*(\d{1,9})\s*$")


def parse(limit: str) -> tuple[int, int]:
    """'10/900' -> (10 hits, 900 seconds); a ValueError says what is wrong."""
    match = _LIMIT.match(limit or "")
    if not match:
        raise ValueError(f"a rate limit is written count/seconds, like 10/900, got {limit!r}")
    count, seconds = int(match[1]), int(match[2])
    if count < 1 or not 1 <= seconds <= MAX_WINDOW:
        raise ValueError(f"a rate limit needs at least 1 hit and a window of 1 to {MAX_WINDOW} seconds, got {limit!r}")
    return count, seconds


def _digest(value: str) -> str:
    # Keyed, so a counter row gives away neither an email address nor (by trying all IPv4 addresses) a client.
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]


def client_key() -> str:
    """The client's address, keyed and shortened; IPv6 clients count per /64 network, the block one line gets."""
    addr = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return addr[:64]
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class Hit:
    count: int
    allowed: int
    reset_at: int

    @property
    def ok(self) -> bool:
        return self.count <= self.allowed

    @property
    def retry_after(self) -> int:
        return max(1, self.reset_at - int(time.time()))


def count(scope: str, key: str, limit: str) -> Hit:
    """Count one hit for (scope, key) and return the window's count."""
    return count_all([(scope, key, limit)])[0]


def count_all(hits: list[tuple[str, str, str]], amount: int = 1) -> list[Hit]:
    """Count `amount` hits for each (scope, key, limit) and return the windows' counts, in the order given.

    One atomic INSERT ... ON CONFLICT DO UPDATE ... RETURNING on a connection of its own, committed at once, so
    concurrent processes never lose a hit and a later rollback of the request's work does not undo it. The rows go
    in key order, so two requests counting the same keys lock them in the same order (no deadlock).
    """
    now = int(time.time())
    rows, answers = [], []
    for scope, key, limit in hits:
        allowed, seconds = parse(limit)
        window = now // seconds * seconds
        full_key = _full_key(scope, key)
        rows.append((full_key, window))
        answers.append((full_key, window, allowed, seconds))
    rows.sort()
    params = {"amount": amount}
    for i, (full_key, window) in enumerate(rows):
        params[f"k{i}"], params[f"w{i}"] = full_key, window
    with _counting() as conn:
        statement = _count_statement(len(rows), conn.dialect.name == "postgresql")
        counts = {(k, w): n for k, w, n in conn.execute(statement, params)}
    result = [Hit(count=counts[(k, w)], allowed=allowed, reset_at=w + seconds) for k, w, allowed, seconds in answers]
    if any(hit.count == amount for hit in result):
        _forget_expired(now)
    return result


@contextmanager
def _counting():
    """A connection of its own for writing counters, committed when the block ends.

    SQLite: in autocommit, a single statement is its own transaction, which spares the BEGIN and COMMIT round trips.
    PostgreSQL: a transaction that does not wait for its commit to reach the disk (synchronous_commit off, for this
    transaction only, set by the counting statement itself, see _count_statement). A counter is a guard against
    floods, not a record: a crash of the database server can lose the last fraction of a second of counts, never a
    booking, and nothing is ever inconsistent. Waiting for the disk took about 14 ms per counter on the development
    machine, twice per booking, next to the booking's own commit, which still waits."""
    engine = db.engine
    if engine.dialect.name != "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn
        return
    with engine.begin() as conn:
        yield conn


@lru_cache(maxsize=32)
def _count_statement(rows: int, postgresql: bool) -> sa.TextClause:
    """The counting statement for `rows` keys, written once as SQL text: every request that books or signs in runs
    it, and building and keying it as an expression for SQLAlchemy's statement cache cost more than the statement
    itself. On PostgreSQL the rows come through a join with set_config('synchronous_commit', 'off', true), which
    turns off waiting for the disk for this transaction in the same round trip (the setting is read at commit)."""
    table = RateCounter.__table__.name
    values = ", ".join(f"(:k{i}, :w{i}, :amount)" for i in range(rows))
    if postgresql:
        rows_in = (f"SELECT v.k, v.w, v.n FROM (VALUES {values}) AS v (k, w, n) "
                   "CROSS JOIN (SELECT set_config('synchronous_commit', 'off', true)) AS no_disk_wait")
    else:
        rows_in = f"VALUES {values}"
    return sa.text(
        f'INSERT INTO {table} ("key", window_start, "count") {rows_in} '
        f'ON CONFLICT ("key", window_start) DO UPDATE SET "count" = {table}."count" + excluded."count" '
        'RETURNING "key", window_start, "count"'
    )


def _full_key(scope: str, key: str) -> str:
    return f"{scope[:80]}:{_digest(key)}"


def peek(scope: str, key: str, limit: str) -> Hit:
    """The window's count for (scope, key) without counting a hit: for limits that count failures only."""
    allowed, seconds = parse(limit)
    window = int(time.time()) // seconds * seconds
    with db.engine.connect() as conn:
        n = conn.scalar(sa.select(RateCounter.count).where(
            RateCounter.key == _full_key(scope, key), RateCounter.window_start == window))
    return Hit(count=(n or 0) + 1, allowed=allowed, reset_at=window + seconds)


def hold(scope: str, key: str, until: int) -> None:
    """Remember that (scope, key) must wait until the Unix time `until` (see wait_until)."""
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(RateCounter).values(key=_full_key(scope, key), window_start=until, count=0)
    with _counting() as conn:
        conn.execute(stmt.on_conflict_do_nothing(index_elements=[RateCounter.key, RateCounter.window_start]))


def wait_until(scope: str, key: str) -> int:
    """The latest time given to hold() for (scope, key), or 0."""
    with db.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.max(RateCounter.window_start)).where(
            RateCounter.key == _full_key(scope, key))) or 0


def _forget_expired(now: int) -> None:
    """Delete windows that ended for every limit; best effort, a failure here must not fail the request."""
    try:
        with db.engine.begin() as conn:
            conn.execute(sa.delete(RateCounter).where(RateCounter.window_start < now - MAX_WINDOW))
    except sa.exc.OperationalError:  # e.g. a deadlock with another process cleaning up at the same moment
        current_app.logger.warning("rate counter clean-up skipped", exc_info=True)


def hit(scope: str, key: str, limit: str) -> bool:
    """Count one hit; True while the count stays within the limit (always True when limits are switched off)."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    return count(scope, key, limit).ok


def enforce(scope: str, key: str, limit: str) -> None:
    """Count one hit and answer 429 Too Many Requests (with Retry-After) when the limit is passed."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    result = count(scope, key, limit)
    if not result.ok:
        raise TooManyRequests(retry_after=result.retry_after)


# Cookies that tell one device from another behind a shared address: the feedback form's device cookie, else the
# session's form token (both random, made by this app). Their values are only ever used keyed and hashed.
DEVICE_COOKIES = ("fbdev",)


def device_key() -> str | None:
    """A random value this device keeps (a cookie or its session's form token), or None for a device without."""
    from flask import session

    for name in DEVICE_COOKIES:
        value = request.cookies.get(name, "")
        if 20 <= len(value) <= 100:
            return value
    token = session.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    return token if isinstance(token, str) and token else None


def trusted_network() -> bool:
    """Whether the client's address lies in TRUSTED_NETWORKS (the bus router's range, say)."""
    networks = current_app.config.get("TRUSTED_NETWORKS") or ()
    try:
        ip = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in networks)


def parse_networks(value: str) -> tuple:
    """'10.8.0.0/24, 2001:db8::/48' -> networks; a ValueError names a bad entry."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in (value or "").split(",") if part.strip())


def enforce_device(scope: str, config_key: str) -> None:
    """Count one hit per device and address together (config_key), and one for the address as a whole, whose
    ceiling (config_key + "_ADDRESS", or RATELIMIT_TRUSTED for TRUSTED_NETWORKS) lets a full bus behind one router
    through. A client without a device value shares its address's per-device budget."""
    cfg = current_app.config
    if not cfg.get("RATELIMIT_ENABLED", True):
        return
    address = client_key()
    hits = [(scope, f"{device_key() or '-'}|{address}", cfg[config_key])]
    # Every limit counted per device has its address ceiling: a missing setting is a KeyError here, never a
    # silently unlimited address.
    ceiling = cfg["RATELIMIT_TRUSTED"] if trusted_network() else cfg[config_key + "_ADDRESS"]
    hits.append((scope + "-address", address, ceiling))
    refused = [hit for hit in count_all(hits) if not hit.ok]
    if refused:
        raise TooManyRequests(retry_after=max(hit.retry_after for hit in refused))


def limit(scope: str, config_key: str, methods: tuple[str, ...] = ("POST",)):
    """Decorator: answer 429 when a device (with its address) passes the limit configured under `config_key`, or
    the address passes its ceiling (see enforce_device)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if request.method in methods:
                enforce_device(scope, config_key)
            return view(*args, **kwargs)

        return wrapped

    return decorator


# --- seats per address -----------------------------------------------------------------------------------------

def origin() -> str | None:
    """Where a booking came from, as a keyed hash of the client's address (IPv6: its /64); None inside
    TRUSTED_NETWORKS (the bus's own router), whose bookings are not told apart by address."""
    if trusted_network():
        return None
    return _digest("origin|" + client_key())


def _seat_limit() -> str:
    cfg = current_app.config
    return cfg["RATELIMIT_SEATS_TRUSTED"] if trusted_network() else cfg["RATELIMIT_SEATS_ADDRESS"]


def claim_seats(n: int) -> Hit | None:
    """Count `n` seats booked from the client's address in the window of RATELIMIT_SEATS_ADDRESS
    (RATELIMIT_SEATS_TRUSTED inside TRUSTED_NETWORKS). Returns None within the limit; past it, takes the seats
    back out of the count (they were not booked) and returns the Hit, whose retry_after says when to try again."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return None
    result = count_all([("seats-address", client_key(), _seat_limit())], amount=n)[0]
    if result.ok:
        return None
    release_seats(n)
    return result


def release_seats(n: int) -> None:
    """Take `n` claimed seats back out of the address's count: the booking was refused after the claim."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    _allowed, seconds = parse(_seat_limit())
    window = int(time.time()) // seconds * seconds
    with _counting() as conn:
        conn.execute(sa.update(RateCounter).where(
            RateCounter.key == _full_key("seats-address", client_key()), RateCounter.window_start == window,
            RateCounter.count >= n,
        ).values(count=RateCounter.count - n))


def runs(rows: list, size: int, gap) -> list[list]:
    """Bursts: runs of at least `size` rows from one origin, each within `gap` of the one before. `rows` have
    `origin` and `created_at` and come ordered by origin, then time."""
    found: list[list] = []
    run: list = []
    for row in rows:
        if run and (row.origin != run[-1].origin or row.created_at - run[-1].created_at > gap):
            if len(run) >= size:
                found.append(run)
            run = []
        run.append(row)
    if len(run) >= size:
        found.append(run)
    return found

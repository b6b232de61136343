"""`flask opendata push`: bring a FIWARE context broker up to date with the tour's NGSI-LD entities: upsert what is
public, delete what left."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from itertools import islice
from urllib.parse import urlencode, urlsplit

import click
from flask import current_app
from flask.cli import AppGroup

from ..models import utcnow
from . import service

opendata = AppGroup("opendata", help="Open data: push the tour to a context broker.")
UPSERT = "/ngsi-ld/v1/entityOperations/upsert"
DELETE = "/ngsi-ld/v1/entityOperations/delete"
ENTITIES = "/ngsi-ld/v1/entities"
# Our entities in a broker, found by their full type IRIs (a query names no @context then) and our id prefix, so
# that another publisher's Events and PointOfInterests are never touched.
TYPE_IRIS = ("https://smartdatamodels.org/dataModel.TourismDestinations/Event",
             "https://smartdatamodels.org/dataModel.PointOfInterest/PointOfInterest")
OUR_IDS = f"^{service.NGSI_PREFIX}:(Event|PointOfInterest):digitalbus:"
PAGE = 1000


def batches(items, size: int):
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


class Broker:
    """The few NGSI-LD calls a push makes, with the broker's refusals turned into clear messages."""

    def __init__(self, base: str, tenant: str, timeout: float):
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise click.ClickException(f"--broker must be an http(s) address like http://broker:1026, got {base!r}")
        self.base, self.tenant, self.timeout = base.rstrip("/"), tenant, timeout

    def call(self, method: str, path: str, body=None, content_type: str = "application/json") -> tuple[int, bytes]:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        if self.tenant:
            headers["NGSILD-Tenant"] = self.tenant
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - the operator's address
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            raise click.ClickException(f"cannot reach the broker at {self.base}: {exc}") from None

    def ours(self) -> set[str]:
        """The ids of this app's entities the broker holds now."""
        found: set[str] = set()
        offset = 0
        while True:
            query = urlencode({"type": ",".join(TYPE_IRIS), "idPattern": OUR_IDS, "limit": PAGE, "offset": offset,
                               "options": "keyValues"})
            status, body = self.call("GET", f"{ENTITIES}?{query}")
            if status != 200:
                raise click.ClickException(f"the broker would not list its entities: {status} {_text(body)}")
            page = json.loads(body or b"[]")
            found.update(e["id"] for e in page if isinstance(e, dict) and "id" in e)
            if len(page) < PAGE:
                return found
            offset += PAGE


def _text(body: bytes) -> str:
    return body[:500].decode("utf-8", "replace")


def _partly(what: str, body: bytes) -> click.ClickException:
    """A 207: name the entities the broker refused and why (NGSI-LD's BatchOperationResult)."""
    try:
        errors = json.loads(body).get("errors", [])
        named = "; ".join(f"{e.get('entityId')}: {(e.get('error') or {}).get('title') or e.get('error')}"
                          for e in errors[:10])
    except (ValueError, AttributeError):
        named = _text(body)
    return click.ClickException(f"the broker {what} only part of a batch; refused: {named}")


def push(broker: str, batch_size: int = 100, tenant: str = "", timeout: float = 30) -> tuple[int, int]:
    """Upsert every public entity in batches, then delete this app's entities that are no longer public (a workshop
    or stop made a draft again, a place no stop uses); returns (upserted, deleted). A refusal raises
    click.ClickException naming what was refused."""
    client = Broker(broker, tenant, timeout)
    with current_app.test_request_context(base_url=current_app.config.get("PUBLIC_BASE_URL") or None):
        entities = list(service.all_ngsi_entities(utcnow()))
    sent = 0
    for batch in batches(entities, batch_size):
        status, body = client.call("POST", UPSERT, batch, content_type="application/ld+json")
        if status == 207:
            raise _partly("took", body)
        if status >= 300:
            raise click.ClickException(f"the broker refused the batch after {sent} entities: {status} {_text(body)}")
        sent += len(batch)
    gone = sorted(client.ours() - {e["id"] for e in entities})
    for batch in batches(gone, batch_size):
        status, body = client.call("POST", DELETE, batch)
        if status == 207:
            raise _partly("deleted", body)
        if status >= 300:
            raise click.ClickException(f"the broker refused to delete {len(batch)} entities: {status} {_text(body)}")
    return sent, len(gone)


@opendata.command("push")
@click.option("--broker", required=True, help="The context broker's base address, e.g. http://orion-ld:1026")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 1000))
@click.option("--tenant", default="", help="NGSILD-Tenant header, when the broker keeps several tenants.")
def push_command(broker: str, batch_size: int, tenant: str) -> None:
    """Upsert the places (PointOfInterest) and the tour and its workshops (Event) into a context broker."""
    sent, deleted = push(broker, batch_size, tenant)
    click.echo(f"Upserted {sent} entities into {broker} and deleted {deleted} that are no longer public.")

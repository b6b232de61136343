"""`flask opendata push`: upsert the tour's NGSI-LD entities into a FIWARE context broker."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from itertools import islice
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import AppGroup

from ..models import utcnow
from . import service

opendata = AppGroup("opendata", help="Open data: push the tour to a context broker.")
UPSERT = "/ngsi-ld/v1/entityOperations/upsert"


def batches(items, size: int):
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def push(broker: str, batch_size: int = 100, tenant: str = "", timeout: float = 30) -> int:
    """Upsert every entity, in batches; returns how many were sent. Raises click.ClickException on a refusal."""
    parts = urlsplit(broker)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.ClickException(f"--broker must be an http(s) address like http://broker:1026, got {broker!r}")
    url = broker.rstrip("/") + UPSERT
    sent = 0
    with current_app.test_request_context(base_url=current_app.config.get("PUBLIC_BASE_URL") or None):
        entities = list(service.all_ngsi_entities(utcnow()))
    for batch in batches(entities, batch_size):
        headers = {"Content-Type": "application/ld+json", "Accept": "application/json"}
        if tenant:
            headers["NGSILD-Tenant"] = tenant
        req = urllib.request.Request(url, data=json.dumps(batch, ensure_ascii=False).encode(), method="POST",
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - an address the operator gave
                status = resp.status
                body = resp.read()
        except urllib.error.HTTPError as exc:
            raise click.ClickException(
                f"the broker refused the batch after {sent} entities: {exc.code} {exc.read()[:500].decode('utf-8', 'replace')}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise click.ClickException(f"cannot reach the broker at {url}: {exc}") from None
        if status == 207:
            raise click.ClickException(f"the broker took only part of a batch: {body[:500].decode('utf-8', 'replace')}")
        sent += len(batch)
    return sent


@opendata.command("push")
@click.option("--broker", required=True, help="The context broker's base address, e.g. http://orion-ld:1026")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 1000))
@click.option("--tenant", default="", help="NGSILD-Tenant header, when the broker keeps several tenants.")
def push_command(broker: str, batch_size: int, tenant: str) -> None:
    """Upsert the places (PointOfInterest) and the tour and its workshops (Event) into a context broker."""
    sent = push(broker, batch_size, tenant)
    click.echo(f"Upserted {sent} entities into {broker}.")

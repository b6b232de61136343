"""Districts under /admin/districts: coordinators add one, rename one, or merge two (all places and stops of the one
move to the other, which keeps its address /d/<slug>; the merged one's address is gone). A tour import adds the
districts its file names (planning.tourcsv); `flask town districts` stores the town's official list (store())."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import click
import sqlalchemy as sa
from sqlalchemy.orm import undefer
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.auth import role_required
from ..core import districtfile
from ..core.districtfile import DistrictRow
from ..core.townprofile import town_cli
from ..core.extensions import db
from ..core.forms import clean_text, typed_id
from ..models import District, Place, Role, Stop, audit
from . import bp, service, tourcsv

coordinator = role_required(Role.COORDINATOR)


def _name(text: str | None) -> str:
    return " ".join(clean_text(text).split())[:80]


def _known(exclude: int | None = None) -> str:
    names = db.session.scalars(sa.select(District.name).where(District.id != (exclude or -1)).order_by(District.name))
    return ", ".join(names)


@dataclass
class Stored:
    """What store() did: numbers of the districts added, changed and left as they were, and the districts the
    database has that the list does not name (kept: they may have stops)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    same: list[str] = field(default_factory=list)
    not_listed: list[str] = field(default_factory=list)


def store(rows: list[DistrictRow], user=None, dry_run: bool = False) -> Stored:
    """Bring the districts up to the town's official list, matched by official number: a new number is added (with
    the list's slug, else one made from its name), a known one takes the list's name, point and boundary and keeps
    its address /d/<slug> (printed on posters). Nothing is deleted. With dry_run nothing is written."""
    if not dry_run:
        service._planning_lock()
    known = {d.number: d for d in db.session.scalars(sa.select(District).options(undefer(District.boundary)))}
    listed = {row.number for row in rows}
    names = {d.name.lower(): d.number for d in known.values()}
    for row in rows:
        other = names.get(row.name.lower())
        if other is not None and other != row.number and other not in listed:
            db.session.rollback()
            raise ValueError(f"district {row.number} {row.name!r}: district {other} already has this name; rename "
                             f"or merge it under /admin/districts first")
    slugs = set(db.session.scalars(sa.select(District.slug)))
    done = Stored(not_listed=sorted(n for n in known if n not in listed))
    for row in rows:
        district = known.get(row.number)
        values = {"name": row.name, "lat": row.lat, "lon": row.lon, "boundary": row.boundary}
        if district is None:
            slug = row.slug if row.slug and row.slug not in slugs and re.fullmatch(r"[a-z0-9-]{1,80}", row.slug) \
                else tourcsv.slug_for(row.name, slugs)
            slugs.add(slug)
            if not dry_run:
                db.session.add(District(number=row.number, slug=slug, **values))
            done.added.append(row.number)
        elif any(getattr(district, k) != v for k, v in values.items()):
            if not dry_run:
                for k, v in values.items():
                    setattr(district, k, v)
            done.changed.append(row.number)
        else:
            done.same.append(row.number)
    if dry_run:
        db.session.rollback()
        return done
    audit("district-import", None, user=user, added=done.added, changed=done.changed)
    db.session.commit()
    return done


def merge(source_id: int, target_id: int, user) -> tuple[District, int, int]:
    """Move every place and stop of `source` to `target` and delete `source`; returns (target, places, stops)."""
    service._planning_lock()
    source, target = db.session.get(District, source_id), db.session.get(District, target_id)
    if source is None or target is None or source.id == target.id:
        db.session.rollback()
        raise service.Refused({"target": [_("Please choose two different districts. Known districts: %(names)s",
                                            names=_known())]})
    places = db.session.execute(sa.update(Place).where(Place.district_id == source.id)
                                .values(district_id=target.id)).rowcount
    stops = db.session.execute(sa.update(Stop).where(Stop.district_id == source.id)
                               .values(district_id=target.id)).rowcount
    audit("district-merge", None, user=service._user(user), source=source.id, source_name=source.name,
          target=target.id, places=places, stops=stops)
    db.session.delete(source)
    db.session.commit()
    return target, places, stops


@bp.route("/districts", methods=["GET", "POST"])
@coordinator
def districts():
    """Add, rename and merge districts; every wrong entry is answered beside it, naming the known districts."""
    errors: dict[str, str] = {}
    typed = {k: request.form.get(k, "") for k in ("action", "name", "district", "source", "target")}
    user = current_user._get_current_object()
    if request.method == "POST":
        action = typed["action"]
        if action in ("add", "rename"):
            name = _name(typed["name"])
            district = None
            if action == "rename":
                district_id = typed_id(typed["district"])
                district = db.session.get(District, district_id) if district_id is not None else None
                if district is None:
                    errors["district"] = _("Please choose a district. Known districts: %(names)s", names=_known())
            if not name:
                errors["name"] = _("Please give the district a name.")
            elif db.session.scalar(sa.select(District.id).where(sa.func.lower(District.name) == name.lower(),
                                                                District.id != (district.id if district else -1))):
                errors["name"] = _("There is a district with this name already. Known districts: %(names)s",
                                   names=_known())
            if not errors:
                if district is None:
                    service._planning_lock()
                    made = tourcsv.new_district(name)
                    audit("district-create", None, user=service._user(user), district=made.id, name=name)
                    flash(_("The district “%(name)s” is added.", name=name), "success")
                else:
                    audit("district-rename", None, user=service._user(user), district=district.id,
                          before=district.name, after=name)
                    district.name = name
                    flash(_("The district is now called “%(name)s”.", name=name), "success")
                db.session.commit()
                return redirect(url_for("planning.districts"), code=303)
        elif action == "merge":
            ids = [typed_id(typed[k]) for k in ("source", "target")]
            if None in ids:
                errors["target"] = _("Please choose two different districts. Known districts: %(names)s",
                                     names=_known())
            else:
                try:
                    target, places, stops = merge(ids[0], ids[1], user)
                except service.Refused as refused:
                    errors["target"] = refused.errors["target"][0]
                else:
                    flash(_("Merged into “%(name)s”: %(places)d places and %(stops)d stops moved.",
                            name=target.name, places=places, stops=stops), "success")
                    return redirect(url_for("planning.districts"), code=303)
    rows = db.session.execute(
        sa.select(District, sa.select(sa.func.count(Place.id)).where(Place.district_id == District.id)
                  .scalar_subquery(),
                  sa.select(sa.func.count(Stop.id)).where(Stop.district_id == District.id).scalar_subquery())
        .order_by(District.name)).all()
    return render_template("planning/districts.html", rows=rows, errors=errors, typed=typed), 422 if errors else 200


@town_cli.command("districts")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--number-column", help="The column (or GeoJSON property) with the official number.")
@click.option("--name-column", help="The column (or GeoJSON property) with the name.")
@click.option("--dry-run", is_flag=True, help="Only say what would change.")
def districts_command(file: Path | None, number_column: str | None, name_column: str | None, dry_run: bool) -> None:
    """Load the official list of districts (CSV or GeoJSON; default: the profile's). Districts are matched by
    number: new ones are added, known ones take the list's name, point and boundary and keep their address."""
    path = file or current_app.config["TOWN_PROFILE"].districts_file
    try:
        rows = districtfile.read(path, {"number": number_column, "name": name_column})
        done = store(rows, dry_run=dry_run)
    except (districtfile.DistrictFileError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    with_boundary = sum(1 for r in rows if r.boundary)
    click.echo(f"{path.name}: {len(rows)} districts, {with_boundary} with a boundary.")
    would = "would be " if dry_run else ""
    click.echo(f"{len(done.added)} {would}added, {len(done.changed)} {would}changed, {len(done.same)} unchanged.")
    if done.not_listed:
        click.echo(f"Not in the list, kept: {', '.join(done.not_listed)} (merge them under /admin/districts).")

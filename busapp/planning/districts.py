"""Districts under /admin/districts: coordinators add one, rename one, or merge two (all places and stops of the one
move to the other, which keeps its address /d/<slug>; the merged one's address is gone). A tour import adds the
districts its file names (planning.tourcsv)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.auth import role_required
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

"""Import and export of the tour: CSV (mobile-library stop schema plus workshops) and iCalendar, in the browser and
as `flask tour import FILE [--dry-run]` and `flask tour export`; and the course catalogue as CSV with its texts in
every language (coursecsv.py), downloaded and read back on the catalogue's page."""
from __future__ import annotations

import sys
from datetime import timedelta

import click
import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask.cli import AppGroup
from flask_babel import force_locale, gettext as _, ngettext
from flask_login import current_user
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import RequestEntityTooLarge

from ..core import csvexport
from ..core.errors import render_error
from ..accounts.auth import role_required
from ..core.extensions import db
from ..models import Course, Role, Stop, audit, utcnow
from ..schedule.calendar import calendar_response, render_stops
from ..schedule.feeds import export_rows
from . import bp, coursecsv, service, tourcsv
from .forms import ImportForm

coordinator = role_required(Role.COORDINATOR)
tour_cli = AppGroup("tour", help="Import and export the tour as CSV.")


def _all_stops() -> list[Stop]:
    return list(db.session.scalars(
        sa.select(Stop).options(selectinload(Stop.workshops), selectinload(Stop.district)).order_by(Stop.starts_at)))


PROBLEMS_PER_PAGE = 100
STOPS_SHOWN = 200


def _preview(form, reading, staged, page: int = 1, status: int | None = None):
    """The transfer page, with the preview of a checked file: its problems one page at a time, or its stops."""
    problems = reading.problems() if reading is not None else []
    pages = max(1, -(-len(problems) // PROBLEMS_PER_PAGE))
    page = min(max(page, 1), pages)
    if status is None:
        status = 422 if form.errors or (reading is not None and reading.errors) else 200
    # What "add the rest" would add: the file without its stops that have a problem (only for a kept file).
    rest = tourcsv.without_problems(reading) if staged and reading is not None and reading.errors else None
    return render_template(
        "planning/transfer.html", form=form, reading=reading, staged=staged, rest=rest, columns=tourcsv.SCHEMA_COLUMNS,
        own_columns=tourcsv.COLUMNS, problems=problems[(page - 1) * PROBLEMS_PER_PAGE:page * PROBLEMS_PER_PAGE],
        problem_count=len(problems), page=page, pages=pages, stops_shown=STOPS_SHOWN, text_fields=tourcsv.TEXT_FIELDS,
        horizon_months=tourcsv.horizon_months()), status


@bp.errorhandler(RequestEntityTooLarge)
def _file_too_big(exc: RequestEntityTooLarge):
    """A tour file over the limit is answered on the import page, beside the file field, in the coordinator's words
    (the request is refused before the form is read, so the page is shown anew)."""
    if request.endpoint != "planning.import_csv":
        return render_error(413, headers=exc.get_headers())
    form = ImportForm(formdata=None)
    form.file.errors = [_("The file is too big: at most %(n)d MB.", n=tourcsv.MAX_BYTES // (1024 * 1024))]
    return _preview(form, None, None, status=413)


@bp.get("/transfer")
@coordinator
def transfer():
    """Import a tour file, or download the tour as CSV or iCalendar."""
    return _preview(ImportForm(), None, None)


@bp.url_value_preprocessor
def _allow_tour_files(endpoint, _values):
    # Runs before every before_request hook, so the CSRF check (which reads the form) already sees the larger limit
    # a tour file needs; every other request keeps the app's small MAX_CONTENT_LENGTH. The form memory limit is
    # raised with it: Werkzeug applies it to what the multipart parser holds at once, file parts included, so a
    # council's 380 kB timetable arriving over the network in chunks was refused with 413 under the small one.
    limit = {"planning.import_csv": tourcsv.MAX_BYTES, "planning.courses_import": coursecsv.MAX_BYTES}.get(endpoint)
    if limit is not None:
        request.max_content_length = request.max_form_memory_size = limit + 64 * 1024


@bp.post("/import")
@coordinator
def import_csv():
    """Check an uploaded tour file and show what it would do; with the confirmation, write all of it or nothing."""
    form = ImportForm()
    reading = staged = None
    user = current_user._get_current_object()
    if form.validate():
        if form.upload.data:
            reading = tourcsv.write_staged(form.upload.data, user, leave_out=form.leave_out.data == "yes")
            if reading is None:
                form.file.errors = [_("This file was added already, or it was checked more than an hour ago. "
                                      "Please choose it again.")]
            elif reading.ok:
                added = ngettext("%(num)d stop was added as a draft.", "%(num)d stops were added as drafts.",
                                 len(reading.stops))
                if reading.workshop_count:
                    added += " " + ngettext("Including %(num)d workshop.", "Including %(num)d workshops.",
                                            reading.workshop_count)
                if reading.left_out:
                    added += " " + ngettext("%(num)d stop with a problem was left out.",
                                            "%(num)d stops with a problem were left out.", reading.left_out)
                flash(added, "success")
                return redirect(url_for("planning.imports"), code=303)
            else:
                staged = form.upload.data
        else:
            upload = form.file.data
            data = upload.read(tourcsv.MAX_BYTES + 1) if upload else b""
            if not data:
                form.file.errors = [_("Please choose a CSV file.")]
            elif len(data) > tourcsv.MAX_BYTES:
                form.file.errors = [_("The file is too big: at most %(n)d MB.",
                                      n=tourcsv.MAX_BYTES // (1024 * 1024))]
            else:
                reading = tourcsv.read(data)
                if reading.ok or reading.rows:
                    # Kept also when rows are wrong, so that every problem can be read page by page.
                    staged = tourcsv.stage(data, user)
    return _preview(form, reading, staged)


@bp.get("/import/<token>")
@coordinator
def import_page(token: str):
    """Another page of a checked file's problems (the file is kept for an hour)."""
    data = tourcsv.kept_file(token, current_user._get_current_object())
    if data is None:
        flash(_("This file was added already, or it was checked more than an hour ago. Please choose it again."),
              "error")
        return redirect(url_for("planning.transfer"), code=303)
    return _preview(ImportForm(), tourcsv.read(data), token, request.args.get("page", 1, type=int))


@bp.get("/tour.csv")
@coordinator
def export_csv():
    """The whole tour (drafts and cancelled stops too) as CSV; the download is recorded in the audit log."""
    stops = _all_stops()
    schema = request.args.get("format") == "mobile-libraries"
    audit("tour-export", None, user=current_user._get_current_object(),
          format="mobile-libraries" if schema else "csv", stops=len(stops))
    db.session.commit()
    if schema:  # the schema's own format, as its other users read it: comma-separated UTF-8 without a mark
        return csvexport.download(tourcsv.export_schema(stops), "tour-mobile-libraries.csv")
    return csvexport.download(csvexport.BOM + tourcsv.export(stops), "tour.csv")


@bp.get("/tour.ics")
@coordinator
def export_ics():
    """Published and cancelled stops of the coming months as one iCalendar file."""
    stops, workshops = export_rows(utcnow() - timedelta(days=31))
    response = calendar_response(render_stops(stops, workshops, _("Digital workshop bus: tour"), "tour-export",
                                              feed=False), "tour.ics", attachment=True)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/courses.csv")
@coordinator
def courses_csv():
    """The course catalogue with its texts in every language, for a spreadsheet."""
    courses = list(db.session.scalars(sa.select(Course).order_by(Course.title, Course.id)))
    return csvexport.download(csvexport.BOM + coursecsv.export(courses), "courses.csv")


@bp.post("/courses/import")
@coordinator
def courses_import():
    """Read a course file back: all its courses changed or added, or nothing and its problems."""
    form = ImportForm()
    reading = None
    if form.validate():
        upload = form.file.data
        data = upload.read(coursecsv.MAX_BYTES + 1) if upload else b""
        if not data:
            form.file.errors = [_("Please choose a CSV file.")]
        elif len(data) > coursecsv.MAX_BYTES:
            form.file.errors = [_("The file is too big: at most %(n)d MB.", n=coursecsv.MAX_BYTES // (1024 * 1024))]
        else:
            reading = coursecsv.write(data, current_user._get_current_object())
            if reading.ok:
                flash(_("The course file is read. Added: %(added)d. Changed: %(changed)d.",
                        added=reading.added, changed=reading.changed), "success")
                return redirect(url_for("planning.courses"), code=303)
    return render_template("planning/courses.html", courses=service.courses(), import_form=form,
                           problems=reading.problems[:PROBLEMS_PER_PAGE] if reading else [],
                           problem_count=len(reading.problems) if reading else 0), 422


@tour_cli.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Check the file and report, write nothing.")
def tour_import(file, dry_run: bool) -> None:
    """Import stops and workshops from a CSV file: all of it, or nothing when any row is wrong."""
    data = file.read(tourcsv.MAX_BYTES + 1)
    if len(data) > tourcsv.MAX_BYTES:
        raise click.ClickException("the file is larger than 5 MB")
    with force_locale("en"):  # the command line speaks English throughout
        reading = tourcsv.read(data) if dry_run else tourcsv.write(data, None)
        problems = reading.problems()
    for p in problems:
        dates = ""
        if len(p.days) == 1:
            dates = f" (on {p.days[0].isoformat()})"
        elif p.days:
            dates = f" (on {len(p.days)} dates, first {p.days[0].isoformat()})"
        click.echo(f"line {p.line}, {p.column or '-'}: {p.message}{dates}", err=True)
    if reading.errors:
        raise click.ClickException(f"{len(problems)} problems; nothing was written")
    verb = "would add" if dry_run else "added"
    click.echo(f"{verb} {len(reading.stops)} stops and {reading.workshop_count} workshops (as drafts), "
               f"dates up to {reading.horizon.isoformat()}")
    if reading.new_districts:
        click.echo(f"new districts: {', '.join(reading.new_districts)}")


@tour_cli.command("export")
@click.option("--format", "fmt", type=click.Choice(["ours", "mobile-libraries"]), default="ours",
              help="ours: stops and workshops, one row per workshop; mobile-libraries: the stop schema's own columns.")
def tour_export(fmt: str) -> None:
    """Write the whole tour as CSV to standard output."""
    stops = _all_stops()
    sys.stdout.write(tourcsv.export_schema(stops) if fmt == "mobile-libraries" else tourcsv.export(stops))

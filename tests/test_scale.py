"""A long tour: pages and feeds stay bounded, page on through every stop, and feeds answer polls with a 304.

The statement counts are pinned at two tour sizes, 64 and 10,000 stops: a count that grows with the tour is an N+1
or an unbounded list. Speed itself is measured by bench/scale.py, not here.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from busapp.dev import demo
from busapp.core.extensions import db
from busapp.models import District, Stop, StopStatus, Workshop
from tests.sqlcount import statements

HX = {"HX-Request": "true"}


def card_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="stop-(\d+)-title"', page)]


def link(page: str, rel: str) -> str | None:
    match = re.search(rf'<a class="button button--secondary" rel="{rel}" href="([^"]+)"', page)
    return match.group(1).replace("&amp;", "&") if match else None


def budget_paths(client) -> dict[str, tuple[str, dict]]:
    """Every public page and feed, a later and an earlier page, and a conditional feed request."""
    district = db.session.scalar(sa.select(District).order_by(District.number).limit(1))
    stop_id = db.session.scalar(sa.select(Stop.id).where(Stop.starts_at > datetime.now(timezone.utc))
                                .order_by(Stop.starts_at).limit(1))
    last = db.session.execute(sa.select(Stop.starts_at, Stop.id).where(Stop.district_id == district.id)
                              .order_by(Stop.starts_at.desc()).limit(1)).one()
    key = f"{last.starts_at.astimezone(timezone.utc):%Y%m%dT%H%M%S}-{last.id}"
    later, earlier = f"/d/{district.slug}?from={key}", f"/d/{district.slug}?before={key}"
    tag = client.get("/tour.ics").headers["ETag"]
    return {
        "home": ("/", {}), "home, one district": (f"/?district={district.slug}", {}),
        "home fragment": ("/", HX), "district": (f"/d/{district.slug}", {}),
        "district, later": (later, {}), "district, later fragment": (later, HX), "district, earlier": (earlier, {}),
        "stop": (f"/s/{stop_id}", {}), "stop .ics": (f"/s/{stop_id}.ics", {}),
        "district .ics": (f"/d/{district.slug}.ics", {}), "tour.ics": ("/tour.ics", {}),
        "tour.ics, unchanged": ("/tour.ics", {"If-None-Match": tag}),
    }


def measure(client) -> dict[str, tuple[int, int]]:
    counts = {}
    for name, (path, headers) in budget_paths(client).items():
        client.get(path, headers=headers)
        with statements() as seen:
            response = client.get(path, headers=headers)
        assert response.status_code in (200, 304), (name, response.status_code)
        counts[name] = (len(seen), len(card_ids(response.get_data(as_text=True))))
    return counts


BUDGET = {
    "home": 4, "home, one district": 4, "home fragment": 4, "district": 3, "district, later": 3,
    "district, later fragment": 3, "district, earlier": 3, "stop": 2, "stop .ics": 3, "district .ics": 3,
    "tour.ics": 3, "tour.ics, unchanged": 1,
}


def test_statements_per_request_are_the_same_at_64_and_at_10000_stops(app, client, large_tour):
    large_tour(64)
    small = measure(client)
    large_tour(10_000)
    large = measure(client)
    assert {k: v[0] for k, v in small.items()} == BUDGET
    assert {k: v[0] for k, v in large.items()} == BUDGET
    # The large tour fills every page to its limit and no further.
    limit = app.config["SCHEDULE_PAGE_SIZE"]
    assert all(cards <= limit for _, cards in large.values())
    assert large["home"][1] == limit and large["district, later"][1] > 0


def test_a_district_pages_through_every_stop_both_ways(app, client, make_district, make_stop, now):
    app.config.update(SCHEDULE_WINDOW_DAYS=7, SCHEDULE_PAGE_SIZE=3)
    district = make_district(slug="moisling")
    other = make_district()
    days = [-40, -20, -3, -2, -2, -1, 0, 1, 1, 1, 1, 2, 9, 30, 31, 200]
    stops = [make_stop(district, starts_at=now + timedelta(days=d, hours=2 + i % 3)) for i, d in enumerate(days)]
    make_stop(other)
    make_stop(district, status=StopStatus.DRAFT)
    ordered = sorted(stops, key=lambda s: (s.starts_at, s.id))
    upcoming = [s.id for s in ordered if s.ends_at > now]

    first = client.get("/d/moisling").get_data(as_text=True)
    assert card_ids(first) == upcoming[:3]
    seen, page, pages = [], first, 0
    while True:
        seen += card_ids(page)
        later = link(page, "next")
        if not later:
            break
        page = client.get(later).get_data(as_text=True)
        assert len(card_ids(page)) <= 3
        pages += 1
        assert pages < 20
    assert seen == upcoming

    seen, page, pages = [], first, 0
    while (earlier := link(page, "prev")) is not None:
        page = client.get(earlier).get_data(as_text=True)
        assert card_ids(page), earlier
        seen = card_ids(page) + seen
        pages += 1
        assert pages < 20
    assert seen == [s.id for s in ordered if s.ends_at <= now]


def test_later_stops_is_a_plain_link_and_an_htmx_fragment(app, client, make_district, make_stop, now):
    app.config.update(SCHEDULE_WINDOW_DAYS=7)
    district = make_district(slug="moisling")
    soon, later = make_stop(district, starts_at=now + timedelta(days=1)), make_stop(
        district, starts_at=now + timedelta(days=20))
    page = client.get("/d/moisling").get_data(as_text=True)
    url = link(page, "next")
    assert card_ids(page) == [soon.id]
    assert f'hx-get="{url}"' in page.replace("&amp;", "&") and 'hx-target="#stops"' in page and 'hx-push-url="true"' in page
    whole = client.get(url).get_data(as_text=True)
    assert whole.startswith("<!doctype html>") and card_ids(whole) == [later.id]
    fragment = client.get(url, headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith(("{#", "<section id=\"stops\"")) and "<html" not in fragment
    assert card_ids(fragment) == [later.id]
    assert 'href="/d/moisling"' in fragment  # back to the upcoming stops


def test_a_rarely_visited_district_shows_its_next_dates_not_an_empty_page(app, client, make_district, make_stop, now):
    app.config.update(SCHEDULE_WINDOW_DAYS=7)
    district = make_district(slug="moisling")
    far = make_stop(district, starts_at=now + timedelta(days=60))
    assert card_ids(client.get("/d/moisling").get_data(as_text=True)) == [far.id]
    assert card_ids(client.get("/?district=moisling").get_data(as_text=True)) == [far.id]


def test_home_keeps_two_weeks_however_dense_and_pages_on(app, client, make_district, make_stop, now):
    app.config.update(SCHEDULE_PAGE_SIZE=5)
    district = make_district()
    stops = [make_stop(district, starts_at=now + timedelta(hours=1 + 2 * i)) for i in range(12)]
    page = client.get("/").get_data(as_text=True)
    assert card_ids(page) == [s.id for s in stops[:5]]
    second = client.get(link(page, "next")).get_data(as_text=True)
    assert card_ids(second) == [s.id for s in stops[5:10]]


@pytest.mark.parametrize("query", ["from=x", "from=20261301T000000-1", "before=99999999T999999-1",
                                   "from=20270101T000000-99999999999", "before=%00", "from=99991231T235959-1",
                                   "before=00010101T000000-1", "from=20270101T000000.5-1"])
def test_malformed_page_keys_show_the_first_page(client, make_stop, query):
    stop = make_stop()
    for path in (f"/d/{stop.district.slug}?{query}", f"/?{query}"):
        response = client.get(path)
        assert response.status_code == 200 and card_ids(response.get_data(as_text=True)) == [stop.id]


# --- Feeds -----------------------------------------------------------------------------------------------------------

def uids(response) -> set[str]:
    return {str(e["UID"]) for e in Calendar.from_ical(response.get_data()).walk("VEVENT")}


def test_feeds_hold_their_window_and_at_most_so_many_events(app, client, make_district, make_stop, now):
    district = make_district(slug="moisling")
    inside = [make_stop(district, starts_at=now - timedelta(days=25)), make_stop(district),
              make_stop(district, starts_at=now + timedelta(days=300))]
    outside = [make_stop(district, starts_at=now - timedelta(days=35)),
               make_stop(district, starts_at=now + timedelta(days=400))]
    expected = {f"stop-{s.id}@localhost" for s in inside}
    assert uids(client.get("/tour.ics")) == expected
    assert uids(client.get("/d/moisling.ics")) == expected
    assert not {f"stop-{s.id}@localhost" for s in outside} & uids(client.get("/tour.ics"))
    app.config.update(FEED_MAX_EVENTS=2, FEED_PAST_DAYS=40)
    assert uids(client.get("/tour.ics")) == {f"stop-{s.id}@localhost" for s in (outside[0], inside[0])}


def test_feed_has_validators_and_a_poll_of_an_unchanged_feed_is_a_cheap_304(client, make_workshop):
    workshop = make_workshop()
    for path in ("/tour.ics", f"/d/{workshop.stop.district.slug}.ics", f"/s/{workshop.stop_id}.ics"):
        first = client.get(path)
        tag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert tag.startswith('W/"') and modified.endswith("GMT")
        with statements() as seen:
            again = client.get(path, headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.get_data() == b"", path
        assert again.headers["ETag"] == tag
        assert len(seen) == 1, (path, seen)
        assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
        # If-None-Match decides when it is sent, even beside a matching If-Modified-Since.
        assert client.get(path, headers={"If-None-Match": '"other"', "If-Modified-Since": modified}).status_code == 200
        # Another language is another file.
        assert client.get(path + "?lang=en", headers={"If-None-Match": tag}).status_code == 200


@pytest.mark.parametrize("change", ["stop", "workshop", "new stop", "deleted stop", "district"])
def test_any_change_to_what_a_feed_shows_makes_a_new_version(client, make_workshop, make_stop, change):
    workshop = make_workshop()
    stop = workshop.stop
    spare = make_stop(stop.district)
    paths = ["/tour.ics", f"/d/{stop.district.slug}.ics"] + ([f"/s/{stop.id}.ics"] if "stop" != change[-4:] or
                                                             change == "stop" else [])
    tags = {p: client.get(p).headers["ETag"] for p in paths}
    if change == "stop":
        stop.place.name = "Neuer Ort"
    elif change == "workshop":
        workshop.title = "Neuer Titel"
    elif change == "new stop":
        make_stop(stop.district)
    elif change == "deleted stop":
        db.session.delete(spare)
    else:
        stop.district.name = "Neuer Name"
        paths = [p for p in paths if p != "/tour.ics"]  # the tour feed names districts only through its stops
    db.session.commit()
    for path in paths:
        response = client.get(path, headers={"If-None-Match": tags[path]})
        assert response.status_code == 200, (change, path)
        assert response.headers["ETag"] != tags[path]


def test_a_booking_changes_the_workshop_row(client, make_workshop):
    workshop = make_workshop()
    before = workshop.updated_at
    db.session.execute(sa.update(Workshop).where(Workshop.id == workshop.id).values(seats_taken=1))
    db.session.commit()
    db.session.refresh(workshop)
    assert workshop.updated_at >= before


def test_seed_demo_makes_a_large_tour_on_demand(runner):
    result = runner.invoke(args=["seed-demo", "--stops", "500"])
    assert result.exit_code == 0, result.output
    assert "500 stops" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Stop)) == 500
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Workshop)) == 1000
    first, last = db.session.execute(sa.select(sa.func.min(Stop.starts_at), sa.func.max(Stop.starts_at))).one()
    now = datetime.now(timezone.utc)
    assert first < now < last
    assert runner.invoke(args=["seed-demo", "--stops", "0"]).exit_code != 0


def test_a_tickets_calendar_file_has_validators_too(client, make_workshop):
    workshop = make_workshop()
    html = client.get(f"/workshops/{workshop.id}/book").get_data(as_text=True)
    data = {name: re.search(rf'name="{name}"[^>]*value="([^"]+)"', html).group(1)
            for name in ("csrf_token", "idempotency_key")}
    ticket = client.post(f"/workshops/{workshop.id}/book",
                         data={**data, "name": "Anna", "party_size": "1", "consent": "y"}).headers["Location"]
    first = client.get(ticket + ".ics")
    assert first.status_code == 200 and "BEGIN:VEVENT" in first.get_data(as_text=True)
    tag = first.headers["ETag"]
    again = client.get(ticket + ".ics", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.headers["Cache-Control"] == "private, no-cache"
    workshop.title = "Neuer Titel"
    db.session.commit()
    assert client.get(ticket + ".ics", headers={"If-None-Match": tag}).status_code == 200

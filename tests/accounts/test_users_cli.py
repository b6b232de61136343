"""`flask users`: create (password from a terminal or from a pipe), list, disable, enable, set-password."""
from __future__ import annotations

import click
import pytest
import sqlalchemy as sa

from busapp.accounts import commands as cli
from busapp.core.extensions import db
from busapp.models import AuditEvent, Role, User

GOOD = "a-long-enough-password"


def users() -> list[User]:
    db.session.expire_all()
    return db.session.scalars(sa.select(User).order_by(User.email)).all()


def test_create_reads_the_password_from_a_pipe(runner):
    result = runner.invoke(args=["users", "create", "Team@Example.org", "--role", "staff"], input=GOOD + "\n")
    assert result.exit_code == 0, result.output
    [user] = users()
    assert user.email == "team@example.org" and user.role == Role.STAFF and user.active
    assert user.password_hash != GOOD and GOOD not in user.password_hash
    assert user.password_hash.startswith("scrypt:") and user.check_password(GOOD)
    assert GOOD not in result.output
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user-create"))
    assert event.object_id == str(user.id) and event.detail == {"role": "staff"}


def test_create_keeps_spaces_inside_a_piped_password_and_drops_only_the_line_end(runner):
    result = runner.invoke(args=["users", "create", "a@example.org", "--role", "coordinator"],
                           input="two words here\r\n")
    assert result.exit_code == 0, result.output
    assert users()[0].check_password("two words here")


@pytest.fixture
def terminal(monkeypatch):
    """Make the command believe it runs on a terminal; CliRunner feeds the typed lines."""
    monkeypatch.setattr(cli, "_interactive", lambda: True)


def test_create_asks_twice_on_a_terminal(runner, terminal):
    result = runner.invoke(args=["users", "create", "b@example.org", "--role", "staff"], input=f"{GOOD}\n{GOOD}\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output and "Repeat for confirmation" in result.output
    assert GOOD not in result.output  # hidden input is not echoed
    assert users()[0].check_password(GOOD)


def test_terminal_asks_again_when_the_two_entries_differ(runner, terminal):
    result = runner.invoke(args=["users", "create", "c@example.org", "--role", "staff"],
                           input=f"{GOOD}\nsomething-else-entirely\n{GOOD}\n{GOOD}\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert users()[0].check_password(GOOD)


def test_terminal_prompt_hides_input(runner, monkeypatch):
    seen = {}

    def fake_prompt(text, **kwargs):
        seen.update(kwargs, text=text)
        return GOOD

    monkeypatch.setattr(cli, "_interactive", lambda: True)
    monkeypatch.setattr(click, "prompt", fake_prompt)
    result = runner.invoke(args=["users", "create", "d@example.org", "--role", "staff"])
    assert result.exit_code == 0, result.output
    assert seen["hide_input"] is True and seen["confirmation_prompt"] is True


def test_the_real_stdin_decides(monkeypatch):
    class Stdin:
        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty

    monkeypatch.setattr("sys.stdin", Stdin(True))
    assert cli._interactive() is True
    monkeypatch.setattr("sys.stdin", Stdin(False))
    assert cli._interactive() is False


@pytest.mark.parametrize("password, message", [
    ("short", "at least 10"), ("", "at least 10"), ("x" * 201, "at most 200"), (" spaced-password", "space"),
])
def test_create_refuses_a_bad_password(runner, password, message):
    result = runner.invoke(args=["users", "create", "e@example.org", "--role", "staff"], input=password + "\n")
    assert result.exit_code != 0
    assert message in result.output
    assert users() == []


def test_create_refuses_an_empty_pipe(runner):
    result = runner.invoke(args=["users", "create", "f@example.org", "--role", "staff"], input="")
    assert result.exit_code != 0 and users() == []


@pytest.mark.parametrize("email", ["not-an-address", "a@b", "two@@example.org", ""])
def test_create_refuses_a_bad_address(runner, email):
    result = runner.invoke(args=["users", "create", email, "--role", "staff"], input=GOOD + "\n")
    assert result.exit_code != 0 and users() == []


def test_create_refuses_an_unknown_role(runner):
    result = runner.invoke(args=["users", "create", "g@example.org", "--role", "admin"], input=GOOD + "\n")
    assert result.exit_code != 0 and users() == []


def test_create_refuses_a_second_account_for_one_address(runner, make_user):
    make_user(email="h@example.org")
    result = runner.invoke(args=["users", "create", "H@EXAMPLE.ORG", "--role", "staff"], input=GOOD + "\n")
    assert result.exit_code != 0 and "exists already" in result.output
    assert len(users()) == 1


def test_list(runner, make_user):
    assert "No accounts yet" in runner.invoke(args=["users", "list"]).output
    make_user(Role.STAFF, email="staff@example.org")
    make_user(Role.COORDINATOR, email="plan@example.org", active=False)
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert lines[0].split("\t")[:3] == ["plan@example.org", "coordinator", "disabled"]
    assert lines[1].split("\t")[:3] == ["staff@example.org", "staff", "active"]
    assert "never" in lines[1]


def test_disable_and_enable(runner, make_user):
    make_user(email="i@example.org")
    result = runner.invoke(args=["users", "disable", " I@example.org "])
    assert result.exit_code == 0, result.output
    assert users()[0].active is False
    assert runner.invoke(args=["users", "enable", "i@example.org"]).exit_code == 0
    assert users()[0].active is True
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"user-disable", "user-enable"} <= actions


def test_disable_unknown_account(runner):
    result = runner.invoke(args=["users", "disable", "nobody@example.org"])
    assert result.exit_code != 0 and "no account" in result.output


def test_set_password(runner, make_user):
    make_user(email="j@example.org")
    result = runner.invoke(args=["users", "set-password", "j@example.org"], input="brand-new-password\n")
    assert result.exit_code == 0, result.output
    assert users()[0].check_password("brand-new-password")
    result = runner.invoke(args=["users", "set-password", "j@example.org"], input="short\n")
    assert result.exit_code != 0
    assert users()[0].check_password("brand-new-password")

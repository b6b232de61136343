"""The production files in deploy/ agree with each other and with the app (`.ci/deploy-check` runs them)."""
from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml

from busapp import create_app

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes",
             "CapabilityBoundingSet": "", "User": "digitalbus"}


def settings(name: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


SERVICES = sorted(p.name for p in UNITS.glob("*.service"))


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_is_hardened_and_runs_in_the_install_folder(name):
    unit = settings(name)
    for key, value in HARDENING.items():
        assert unit.get(key) == [value], (name, key)
    assert unit["WorkingDirectory"] == ["/opt/digitalbus"]
    assert unit["EnvironmentFile"] == ["/etc/digitalbus/digitalbus.env"]
    assert "APP_ENV=production" in unit["Environment"][0]


def test_every_timer_starts_a_service_that_exists():
    timers = sorted(UNITS.glob("*.timer"))
    assert {t.stem for t in timers} >= {"digitalbus-purge", "digitalbus-remind"}
    for timer in timers:
        assert (UNITS / f"{timer.stem}.service").exists()
        assert settings(f"{timer.stem}.service")["Type"] == ["oneshot"]


def test_the_containers_start_the_commands_the_units_start():
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]

    def unit_command(name):
        (line,) = settings(name)["ExecStart"]
        return [a.replace("/opt/digitalbus/", "") for a in shlex.split(line)]

    assert compose["app"]["command"] == unit_command("digitalbus.service")
    assert compose["worker"]["command"] == unit_command("digitalbus-mail.service")
    jobs = (ROOT / "deploy" / "jobs-loop.sh").read_text()
    for job in ("purge", "remind"):
        assert unit_command(f"digitalbus-{job}.service")[-1] == job
        assert f"flask {job}" in jobs


def test_the_instance_folder_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "state"))
    app = create_app({"APP_ENV": "testing"})
    assert app.instance_path == str(tmp_path / "state")
    assert (tmp_path / "state").is_dir()

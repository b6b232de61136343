"""The README says what the code does: every setting the app reads from the environment is in the README's
settings table, and every name in the table is read somewhere; dependencies the code imports are declared."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Read from the environment, but set by the machinery around the app, not by whoever deploys it.
NOT_SETTINGS = {"PROMETHEUS_MULTIPROC_DIR", "FLASK_APP", "PATH", "HOME"}
# os.environ and config.py's readers (_int, _bool ...), not a request's WSGI environ.
_READ = re.compile(r'(?:os\.environ\.get\(|os\.environ\[|os\.getenv\(|\b_[a-z]+\()\s*"([A-Z][A-Z0-9_]+)"')


def env_settings() -> set[str]:
    sources = [*ROOT.joinpath("busapp").rglob("*.py"), ROOT / "gunicorn.conf.py"]
    return {name for path in sources for name in _READ.findall(path.read_text())} - NOT_SETTINGS


def readme_settings() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("| variable | default | meaning |")
    table = readme[start:readme.index("\n\n", start)]
    return {name for line in table.splitlines()[2:] for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])}


def test_the_readme_settings_table_and_the_code_agree():
    code, readme = env_settings(), readme_settings()
    assert sorted(code - readme) == [], "read by the code but missing from the README's settings table"
    assert sorted(readme - code) == [], "in the README's settings table but read nowhere"


def test_what_the_code_imports_is_declared():
    declared = " ".join(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]).lower()
    used = {"dateutil": "python-dateutil", "holidays": "holidays", "icalendar": "icalendar", "qrcode": "qrcode"}
    for module, package in used.items():
        assert any(re.search(rf"^\s*(from|import) {module}\b", p.read_text(), re.M)
                   for p in ROOT.joinpath("busapp").rglob("*.py")), module
        assert package in declared, package

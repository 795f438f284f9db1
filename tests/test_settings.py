"""advcore.settings: every environment variable in one typed object, the same list as docs/settings.md, checked
at start with a one-line message, and a variable set while the process runs taking effect."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from advcore import settings as S

ROOT = Path(__file__).resolve().parent.parent
VARIABLE = re.compile(r"\b(?:ADVLAB|ADVCORE)_[A-Z0-9_]*[A-Z0-9]\b")


def documented() -> dict[str, list[str]]:
    """docs/settings.md's settings table (its first table): variable -> its other cells."""
    lines = (ROOT / "docs" / "settings.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Variable |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.split("|")[1:-1]]
        rows.append((cells[0].strip("`"), cells[1:]))
    assert len(rows) == len(dict(rows)), "a variable is in the table twice"
    return dict(rows)


def test_the_documented_table_lists_exactly_the_settings():
    assert sorted(documented()) == sorted(S.names())


def _as_documented(value) -> str:
    if value is None or value == "":
        return "unset"
    if isinstance(value, bool):
        return str(int(value))
    return f"{value:,g}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else f"`{value}`"


def test_the_documented_defaults_and_units_are_the_settings():
    table = documented()
    for name in S.names():
        field = S.field_of(name)
        assert table[name][1:3] == [_as_documented(field.default), field.json_schema_extra["unit"]], name


def test_every_variable_the_code_and_deployment_name_is_a_setting():
    """A new ADVLAB_/ADVCORE_ variable in the library, the app, its pages or the deployment files must be declared
    in advcore.settings (and so documented); bench/ and tests keep their own."""
    files = [*ROOT.glob("advcore/**/*.py"), ROOT / "app.py", *ROOT.glob("pages/**/*.py"), ROOT / "Dockerfile",
             ROOT / "deploy" / "compose.yaml"]
    named = {(m, f.relative_to(ROOT).as_posix()) for f in files for m in VARIABLE.findall(f.read_text())}
    assert named, "the scan found nothing: the pattern or the paths are wrong"
    assert {(name, where) for name, where in named if name not in S.names()} == set()


# Modules that read variables of the system, not of AdvLab: the locale variables, as gettext reads them.
SYSTEM_VARIABLES = {"advcore/i18n.py"}


def test_no_module_reads_the_environment_but_settings():
    """Outside advcore/settings.py the library only sets TensorFlow's log level (before TensorFlow loads) and
    reads the system's locale variables."""
    offenders = []
    for path in ROOT.glob("advcore/**/*.py"):
        if path.relative_to(ROOT).as_posix() in {"advcore/settings.py", *SYSTEM_VARIABLES}:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"os\.environ|getenv", line) and "TF_CPP_MIN_LOG_LEVEL" not in line:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_settings_is_the_bottom_layer():
    """advcore.settings imports nothing from advcore but advcore.errors and advcore.i18n (its error line is
    translated), and advcore.i18n nothing but advcore.errors."""
    def inner(module):
        tree = ast.parse((ROOT / "advcore" / f"{module}.py").read_text())
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("advcore")):
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("advcore")}
        return found
    assert inner("settings") == {"errors", "i18n"}
    assert inner("i18n") in ({"errors"}, {"advcore.errors"})


def test_every_setting_has_a_description_and_an_error_phrase():
    for name in S.names():
        field = S.field_of(name)
        assert field.description, name
        assert field.json_schema_extra["must"] != "a valid value", name


def test_the_server_cannot_raise_the_librarys_ceilings():
    from advcore.attacks import registry

    def upper(name):
        return next(m.le for m in S.field_of(name).metadata if hasattr(m, "le"))

    assert upper("ADVLAB_MAX_STEPS") == registry.MAX_STEPS
    assert upper("ADVLAB_MAX_RESTARTS") == registry.MAX_RESTARTS


def test_the_modules_variable_names_are_settings():
    from advcore import byo, data, imagesets, zoo
    from advcore.classroom import rooms, store
    from advcore.ui import limits
    constants = [zoo.MODELS_DIR_ENV, zoo.USER_MODELS_ENV, zoo.MAX_MODELS_ENV, data.DATA_DIR_ENV, data.OFFLINE_ENV,
                 imagesets.USER_DATA_ENV, byo.UPLOAD_ENV, rooms.PASSWORD_ENV, rooms.IDLE_ENV, store.STORE_ENV,
                 store.STATE_DIR_ENV, limits.TRUSTED_PROXIES_ENV]
    assert [c for c in constants if c not in S.names()] == []


@pytest.mark.parametrize("name, value, message", [
    ("ADVLAB_MAX_WORK", "abc", "ADVLAB_MAX_WORK: must be an integer from 1,000 to 1,000,000,000,000 (got 'abc')"),
    ("ADVLAB_MAX_WORK", "999", "ADVLAB_MAX_WORK: must be an integer from 1,000 to 1,000,000,000,000 (got '999')"),
    ("ADVCORE_MAX_MODELS", "0", "ADVCORE_MAX_MODELS: must be a positive integer (got '0')"),
    ("ADVLAB_MAX_STEPS", "5000", "ADVLAB_MAX_STEPS: must be an integer from 1 to 1,000 (got '5000')"),
    ("ADVLAB_WARM", "maybe", "ADVLAB_WARM: must be 0 or 1 (got 'maybe')"),
    ("ADVLAB_LOG_LEVEL", "loud", "ADVLAB_LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL "
                                 "(got 'loud')"),
    ("ADVLAB_ROOM_IDLE_S", "30", "ADVLAB_ROOM_IDLE_S: must be a number of seconds, at least 60 (got '30')"),
    ("ADVLAB_TRUSTED_PROXIES", "10.0.0.0/8, nginx",
     "ADVLAB_TRUSTED_PROXIES: must be comma-separated IP addresses or networks (got '10.0.0.0/8, nginx')"),
])
def test_a_bad_value_is_one_line_naming_the_variable(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(S.SettingsError) as caught:
        S.settings()
    assert str(caught.value) == message


def test_good_values_parse_to_their_types(monkeypatch):
    monkeypatch.setenv("ADVLAB_MAX_WORK", "2000000")
    monkeypatch.setenv("ADVLAB_WARM", "0")
    monkeypatch.setenv("ADVLAB_LOG_LEVEL", "debug")
    monkeypatch.setenv("ADVCORE_USER_DATA", "/srv/user-data")
    s = S.settings()
    assert (s.max_work, s.warm, s.log_level, s.user_data) == (2_000_000, False, "DEBUG", Path("/srv/user-data"))


def test_an_empty_variable_counts_as_unset(monkeypatch):
    monkeypatch.setenv("ADVLAB_MAX_HEAVY", "")
    monkeypatch.setenv("ADVLAB_TEACHER_PASSWORD", "")
    s = S.settings()
    assert s.max_heavy == S.default("ADVLAB_MAX_HEAVY") and s.teacher_password is None


def test_a_variable_set_at_run_time_takes_effect_at_the_next_call(monkeypatch):
    from advcore import byo, zoo
    from advcore.classroom import rooms
    monkeypatch.delenv("ADVLAB_TEACHER_PASSWORD", raising=False)
    monkeypatch.delenv("ADVLAB_ALLOW_MODEL_UPLOAD", raising=False)
    assert not rooms.password_required() and not byo.upload_allowed()
    monkeypatch.setenv("ADVLAB_TEACHER_PASSWORD", "s3cret")
    monkeypatch.setenv("ADVLAB_ALLOW_MODEL_UPLOAD", "1")
    monkeypatch.setenv("ADVCORE_MAX_MODELS", "7")
    assert rooms.password_required() and byo.upload_allowed() and zoo.max_models() == 7
    monkeypatch.delenv("ADVLAB_TEACHER_PASSWORD")
    assert not rooms.password_required()


def test_the_teacher_password_is_never_shown(monkeypatch):
    monkeypatch.setenv("ADVLAB_TEACHER_PASSWORD", "s3cret-pw")
    s = S.settings()
    assert "s3cret-pw" not in repr(s) and "s3cret-pw" not in str(s.teacher_password)
    assert s.teacher_password.get_secret_value() == "s3cret-pw"


def test_settings_are_built_again_only_when_a_variable_changed(monkeypatch):
    first = S.settings()
    assert S.settings() is first
    monkeypatch.setenv("ADVLAB_MAX_QUERIES", str(first.max_queries + 1))
    assert S.settings() is not first and S.settings().max_queries == first.max_queries + 1


def test_the_server_start_stops_with_one_line(monkeypatch, capsys):
    from advcore.ui import startup
    monkeypatch.setenv("ADVLAB_MAX_HEAVY", "0")
    with pytest.raises(SystemExit) as caught:
        startup.prepare()
    assert caught.value.code == 2
    assert capsys.readouterr().err == "AdvLab: ADVLAB_MAX_HEAVY: must be an integer from 1 to 16 (got '0')\n"


def test_the_cli_stops_with_one_line_and_no_traceback(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ADVLAB_MAX_WORK": "abc", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-m", "advcore", "--help"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == ("error: ADVLAB_MAX_WORK: must be an integer from 1,000 to 1,000,000,000,000 "
                           "(got 'abc')\n")

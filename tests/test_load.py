"""A modest load test in CI: concurrent browser sessions on the real server, zero errors."""

import json
import os

import pytest

from .browser import chromium_available
from .conftest import ROOT

pytestmark = pytest.mark.load

if not chromium_available():
    if os.environ.get("ADVCORE_REQUIRE_BROWSER") == "1":
        raise RuntimeError("ADVCORE_REQUIRE_BROWSER=1 but Chromium is not installed")
    pytest.skip("Chromium is not installed; load test skipped", allow_module_level=True)


def test_concurrent_sessions_get_answers_without_errors():
    from .load import run_load
    sessions = int(os.environ.get("ADVLAB_LOAD_SESSIONS", "4"))
    report = run_load(sessions, float(os.environ.get("ADVLAB_LOAD_SECONDS", "15")))
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "load-report.json").write_text(json.dumps(report, indent=2))
    print(report)
    assert report["errors"] == 0, report["error_samples"]
    assert report["requests"] >= sessions
    assert report["rss_after_mb"] < 1.2 * report["rss_before_mb"] + 50, report

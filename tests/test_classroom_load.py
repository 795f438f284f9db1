"""The classroom load scenario (``bench.classroom_load``), small: a teacher presenting and two students
following over Streamlit's websocket protocol on the real server, then a challenge both answer. The
30-student figure comes from ``python -m bench.classroom_load --students 30 --seconds 60`` (bench/README.md).
The size is set by ADVLAB_CLASS_STUDENTS / ADVLAB_CLASS_SECONDS (default 2 students, 6 s of changes)."""

import json
import math
import os

import pytest

from bench.classroom_load import Change, Classroom

from .conftest import ROOT


def test_classroom_follow_latency_counts_each_change_once_per_student_and_flags_wrong_views():
    """Data-free: the bookkeeping behind follow_p50/p95 (a change counts from when it was sent to the
    student's first page run showing that version or a later one; a view whose metrics differ from
    the teacher's is an error; a change a student never showed is missed)."""
    c = Classroom("ws://unused", 2, 0, 0, 0, 1)
    c.views = {1: ("0.1", "7"), 2: ("0.2", "7"), 3: ("0.2", "2")}
    c.changes = [Change(0.0, 1, "link", c.views[1]), Change(10.0, 2, "eps", c.views[2]),
                 Change(20.0, 3, "image", c.views[3])]
    c.observed = {0: [(5.0, 1, c.views[1]), (10.5, 1, c.views[1]), (11.0, 2, c.views[2]), (20.75, 3, c.views[3])],
                  1: [(6.0, 1, c.views[1]), (12.0, 2, ("0.3", "7"))]}  # wrong metrics; never showed view 3
    samples, missed = c.follow_latencies()
    assert sorted(samples) == [0.75, 1.0, 2.0] and missed == 1
    assert c.errors == ["student 1: view 2 shows ('0.3', '7'), the teacher's ('0.2', '7')"]


@pytest.mark.load
@pytest.mark.needs_data
def test_classroom_load_followers_see_every_change_and_no_accepted_answer_is_lost():
    from bench.classroom_load import run_classroom
    students = int(os.environ.get("ADVLAB_CLASS_STUDENTS", "2"))
    report = run_classroom(students, float(os.environ.get("ADVLAB_CLASS_SECONDS", "6")), change_every_s=2,
                           ramp_s=1)
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "classroom-load-report.json").write_text(json.dumps(report, indent=2))
    print(report)
    assert report["errors"] == 0, report["error_samples"]
    assert report["joined"] == students and report["challenge"]
    assert report["teacher_changes"] >= 2  # eps moves during the follow phase, then the challenge image
    assert report["followers_updated"] == students  # every page showed the teacher's last view
    assert report["follow_missed"] == 0 and report["follow_samples"] == students * report["teacher_changes"]
    assert 0 < report["follow_p50_s"] <= report["follow_p95_s"] <= report["follow_max_s"] < 60
    assert report["submissions_accepted"] == students == report["submissions_in_store"]
    assert report["submissions_lost"] == 0
    assert report["teacher_saw"]["following you"] == students  # the teacher's presence counts
    assert report["requests"] > students * 5  # the pages kept polling, not just their first run
    assert all(isinstance(report[k], int) and not math.isnan(report[k]) for k in ("rss_before_mb", "rss_after_mb"))

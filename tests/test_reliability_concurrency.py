"""Reliability: many users at once get the same results as one at a time, and no saved case is lost.

- 20 app sessions run at once (AppTest, each in its own thread, as the Streamlit server runs sessions in
  threads), each answering a worked case question by question to its result and saving it: every
  session shows what the same case shows when run alone, and all 20 cases are in the store, whole.
- At the same time, 8 ``triage cases save`` processes on the same new SQLite file (they also race to
  create the schema): every one succeeds, and every case is stored with its own answers and result.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest.mock import MagicMock, patch

import pytest
import yaml
from streamlit import config as st_config
from streamlit.runtime import Runtime
from streamlit.runtime.caching.storage.dummy_cache_storage import MemoryCacheStorageManager
from streamlit.runtime.dataframe_source_manager import DataframeSourceManager
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
from streamlit.testing.v1 import AppTest, local_script_runner
from streamlit.testing.v1 import app_test as app_test_module
from streamlit.testing.v1.util import build_mock_config_get_option

from casework.store import Store
from knowledge.loader import load_knowledge
from rules.consult import consult

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
CASES = {c.id: c for c in load_knowledge().cases}
# short and long paths, four kinds of result: gap undefined, not worth it, risk of harm (referral and
# the safety guidance), mentoring after twelve questions
SESSIONS = ["bad-attitude"] * 6 + ["not-worth-it"] * 6 + ["risk-of-harm"] * 5 + ["career-transition"] * 3


@contextlib.contextmanager
def one_runtime_for_all_sessions():
    """Let AppTests run in parallel threads. Each ``AppTest.run()`` installs a mock Streamlit Runtime,
    a config patch and a fresh script cache as process globals and removes them afterwards, which is
    fine one at a time but not for runs that overlap. Here every session shares one runtime (media
    files, caches), one configuration and one compiled-script cache, as sessions do on a real server.
    The scripts are compiled once, before the sessions start: CPython 3.11.7's ``ast.parse`` (which
    Streamlit's "magic" runs on every script it compiles) is not safe while another thread parses
    too ("AST constructor recursion depth mismatch", CPython gh-106905, fixed in later releases)."""
    runtime = MagicMock(spec=Runtime)
    runtime.media_file_mgr = MediaFileManager(MemoryMediaFileStorage("/mock/media"))
    runtime.dataframe_source_mgr = DataframeSourceManager()
    runtime.cache_storage_manager = MemoryCacheStorageManager()
    scripts = ScriptCache()
    scripts.get_bytecode(APP)  # compiled before the sessions start (see above); the pages are modules, imported
    with patch.object(Runtime, "instance", classmethod(lambda cls: runtime)), \
            patch.object(Runtime, "exists", classmethod(lambda cls: True)), \
            patch.object(st_config, "get_option", build_mock_config_get_option({"global.appTest": True})), \
            patch.object(app_test_module, "patch_config_options", lambda overrides: contextlib.nullcontext()), \
            patch.object(app_test_module, "ScriptCache", lambda: scripts), \
            patch.object(local_script_runner, "ScriptCache", lambda: scripts):
        yield


def session(case_id: str, title: str) -> dict:
    """One user: answer the case's questions one at a time on the Diagnose page, read the result, save."""
    answers = CASES[case_id].answers
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["case"] = {"title": title, "who": "", "notes": ""}
    at.run()
    asked = []
    for _ in range(40):
        assert not at.exception, at.exception
        keys = [r.key for r in at.radio if r.key and r.key.startswith("q_")]
        if not keys:
            break
        asked.append(keys[0][2:])
        at.radio(key=keys[0]).set_value(answers.get(keys[0][2:], "dont_know"))
        at.button(key="next").click().run()
    seen = {
        "asked": asked,
        "answers": dict(at.session_state["answers"]),
        "alerts": [(kind, e.value) for kind in ("success", "warning", "error", "info") for e in getattr(at, kind)],
        "markdown": [m.value for m in at.markdown],
    }
    at.button(key="save_case").click().run()
    assert not at.exception, at.exception
    seen["saved_as"] = at.session_state["case_id"]
    return seen


def start_cli_savers(tmp_path: Path, url: str) -> list[tuple[str, subprocess.Popen]]:
    picks = ["call-centre", "presentation-skills", "risk-of-harm", "career-transition", "new-regulation",
             "merger-handoffs", "bad-attitude", "stalled-coaching"]
    procs = []
    for i, cid in enumerate(picks):
        f = tmp_path / f"{i}.yaml"
        f.write_text(yaml.safe_dump({"title": f"process {i}", "who": cid, "answers": CASES[cid].answers}))
        cmd = [sys.executable, "-m", "casework.cli", "cases", "--database", url, "save", str(f), "--format", "json"]
        procs.append((cid, subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    return procs


@pytest.mark.slow  # more than 5 s on a quiet machine
def test_twenty_app_sessions_and_eight_cli_processes_at_once_on_one_database(monkeypatch, tmp_path):
    """All at once on one new SQLite file: 8 ``triage cases save`` processes (racing to create the
    schema too) while the app serves 20 sessions in threads; then nothing is missing or mixed up."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    monkeypatch.setenv("TRIAGE_DATABASE_URL", url)
    procs = start_cli_savers(tmp_path, url)
    alone = {cid: session(cid, f"alone {cid}") for cid in dict.fromkeys(SESSIONS)}
    with one_runtime_for_all_sessions(), ThreadPoolExecutor(max_workers=len(SESSIONS)) as pool:
        together = list(pool.map(session, SESSIONS, [f"session {i}" for i in range(len(SESSIONS))]))
    saved_by_cli = []
    for cid, p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        saved_by_cli.append((cid, json.loads(out)["id"]))

    for cid, seen in zip(SESSIONS, together, strict=True):  # the same as one at a time
        want = alone[cid]
        assert seen["asked"] == want["asked"]
        assert seen["answers"] == want["answers"] == consult(CASES[cid].answers).answers
        assert seen["alerts"] == want["alerts"] and seen["markdown"] == want["markdown"]
    with Store(url) as store:  # and every case saved, whole
        saved = {c["title"]: c["id"] for c in store.list_cases()}
        assert len(saved) == len(SESSIONS) + len(alone) + len(procs)
        assert len({s["saved_as"] for s in together} | {i for _, i in saved_by_cli}) == len(SESSIONS) + len(procs)
        for i, (cid, seen) in enumerate(zip(SESSIONS, together, strict=True)):
            case = store.get_case(saved[f"session {i}"])
            expected = consult(CASES[cid].answers)
            assert case["id"] == seen["saved_as"] and case["answers"] == seen["answers"]
            assert (case["result_status"], case["primary"]) == (expected.status, expected.primary)
        for i, (cid, case_id) in enumerate(saved_by_cli):
            case = store.get_case(case_id)
            expected = consult(CASES[cid].answers)
            assert case["title"] == f"process {i}" and case["who"] == cid
            assert case["answers"] == {**expected.answers, **expected.ignored}
            assert (case["result_status"], case["primary"]) == (expected.status, expected.primary)

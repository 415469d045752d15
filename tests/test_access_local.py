"""The gate in-process (AppTest): local mode opens on the first question with no sign-in and says
so; with sign-in configured nothing but the sign-in page is shown before signing in."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from rules.consult import consult

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_local_mode_opens_on_the_first_question_without_sign_in():
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    first = consult({}).next_question.id
    assert [r.key for r in at.radio if r.key and r.key.startswith("q_")] == [f"q_{first}"]
    assert any("Local mode" in m.value for m in at.sidebar.markdown)
    assert not [b for b in at.button if b.label in ("Sign in", "Sign out")]


def test_with_sign_in_configured_nothing_shows_before_sign_in(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets["auth"] = {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": "a-test-secret-that-is-long-enough-0123456789",
        "client_id": "x",
        "client_secret": "y",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    }
    at.run()
    assert not at.exception, at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert not [r for r in at.radio if r.key and r.key.startswith("q_")]
    assert not any("Local mode" in m.value for m in at.sidebar.markdown)
    assert not (tmp_path / "triage.sqlite3").exists()  # nothing stored, not even an empty database


def test_an_unreadable_secrets_file_never_falls_back_to_local_mode(tmp_path, monkeypatch):
    import pytest
    from streamlit import config
    from streamlit.runtime.secrets import Secrets

    from app_pages import access_gate
    from casework.access import AccessConfigError

    broken = tmp_path / "secrets.toml"
    broken.write_text('[auth]\nclient_id = "x\n', encoding="utf-8")  # an unterminated string
    monkeypatch.setattr(config, "get_option", lambda k, _g=config.get_option: [str(broken)] if k == "secrets.files" else _g(k))
    monkeypatch.setattr(access_gate.st, "secrets", Secrets())
    with pytest.raises(AccessConfigError):
        access_gate.auth_configured()
    with pytest.raises(AccessConfigError):
        access_gate.current_actor()  # never the local operator
    broken.unlink()
    monkeypatch.setattr(access_gate.st, "secrets", Secrets())
    assert access_gate.auth_configured() is False  # no file at all: local mode

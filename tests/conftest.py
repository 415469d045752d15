"""Shared test fixtures."""

from __future__ import annotations

import pytest

from knowledge.loader import load_knowledge
from rules.model import load_rulebase


@pytest.fixture(autouse=True, scope="session")
def _private_data_dir(tmp_path_factory):
    """No test writes a case store into the working tree: the default data folder is temporary."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TRIAGE_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    mp.delenv("TRIAGE_DATABASE_URL", raising=False)
    yield
    mp.undo()


@pytest.fixture(scope="session")
def kb():
    return load_knowledge()


@pytest.fixture(scope="session")
def rb():
    return load_rulebase()

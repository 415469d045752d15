"""Shared test fixtures."""

from __future__ import annotations

import pytest

from knowledge.loader import load_knowledge
from rules.model import load_rulebase


@pytest.fixture(scope="session")
def kb():
    return load_knowledge()


@pytest.fixture(scope="session")
def rb():
    return load_rulebase()

"""A Griffe extension for the API pages (mkdocs.yml): docstrings written with Sphinx roles
(:class:`Store`, :func:`consult`, :meth:`Store.get_case`, :data:`SETTINGS`, :mod:`casework.audit`)
are shown as code, not as the role's raw text. Docstrings in the source are left as they are."""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|func|meth|data|mod|attr|exc|obj):`~?([^`]+)`")


class SphinxRolesAsCode(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(r"`\1`", obj.docstring.value)

"""Page script "Rule map": kept tiny; the code is in :mod:`app_pages.rule_map_view`."""

from app_pages.common import guard
from app_pages.rule_map_view import render

guard(render)

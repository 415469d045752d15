"""Page script "Rule map": kept tiny; the code is in :mod:`app_pages.rule_map_view`."""

from app_pages.rule_map_view import render
from app_pages.widgets import guard

guard(render)

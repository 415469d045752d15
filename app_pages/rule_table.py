"""Page script "Decision table": kept tiny; the code is in :mod:`app_pages.rule_table_view`."""

from app_pages.rule_table_view import render
from app_pages.widgets import guard

guard(render)

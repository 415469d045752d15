"""Page script "Worked cases": kept tiny; the code is in :mod:`app_pages.worked_cases_view`."""

from app_pages.widgets import guard
from app_pages.worked_cases_view import render

guard(render)

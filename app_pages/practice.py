"""Page script "Practice": kept tiny; the code is in :mod:`app_pages.practice_view`."""

from app_pages.practice_view import render
from app_pages.widgets import guard

guard(render)

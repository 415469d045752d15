"""Page script "Practice": kept tiny; the code is in :mod:`app_pages.practice_view`."""

from app_pages.common import guard
from app_pages.practice_view import render

guard(render)

"""Page script "Diagnose": kept tiny; the code is in :mod:`app_pages.diagnose_view`."""

from app_pages.diagnose_view import render
from app_pages.widgets import guard

guard(render)

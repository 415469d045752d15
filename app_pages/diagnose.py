"""Page script "Diagnose": kept tiny; the code is in :mod:`app_pages.diagnose_view`."""

from app_pages.common import guard
from app_pages.diagnose_view import render

guard(render)

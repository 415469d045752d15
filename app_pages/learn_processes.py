"""Page script "Processes": kept tiny; the code is in :mod:`app_pages.learn_processes_view`."""

from app_pages.common import guard
from app_pages.learn_processes_view import render

guard(render)

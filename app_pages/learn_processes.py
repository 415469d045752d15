"""Page script "Processes": kept tiny; the code is in :mod:`app_pages.learn_processes_view`."""

from app_pages.learn_processes_view import render
from app_pages.widgets import guard

guard(render)

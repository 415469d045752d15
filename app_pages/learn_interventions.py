"""Page script "Interventions compared": kept tiny; the code is in :mod:`app_pages.learn_interventions_view`."""

from app_pages.learn_interventions_view import render
from app_pages.widgets import guard

guard(render)

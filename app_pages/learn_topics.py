"""Page script "Study the topic": kept tiny; the code is in :mod:`app_pages.learn_topics_view`."""

from app_pages.learn_topics_view import render
from app_pages.widgets import guard

guard(render)

"""Page script "Study the topic": kept tiny; the code is in :mod:`app_pages.learn_topics_view`."""

from app_pages.common import guard
from app_pages.learn_topics_view import render

guard(render)

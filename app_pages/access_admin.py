"""Page script "Access and audit" (administrators): the code is in :mod:`app_pages.access_views`."""

from app_pages.access_views import page

page()

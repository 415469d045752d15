"""Page script "Access and audit" (administrators): the code is in :mod:`app_pages.access_admin_view`."""

from app_pages.access_admin_view import page

page()

"""Page script "Summary across cases" (L&D staff and administrators): the code is in
:mod:`app_pages.access_views`."""

from app_pages.access_views import summary_page

summary_page()

"""Page script "Summary across cases" (L&D staff and administrators): the code is in
:mod:`app_pages.case_summary_view`."""

from app_pages.case_summary_view import summary_page

summary_page()

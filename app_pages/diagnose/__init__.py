"""Diagnose: the questions one at a time, then the result (:mod:`app_pages.diagnose.diagnose`)."""

"""Casework: the saved cases (with their plan and monitoring tabs), batch triage, outcomes, the
organisation profile and the summary across cases; one module a page, with the Cases page's parts."""

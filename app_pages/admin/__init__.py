"""Administration: access and audit (administrators only, where users sign in)."""

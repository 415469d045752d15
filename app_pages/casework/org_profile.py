"""Organisation profile: the organisation's own support routes, offers, prices and approver
(casework.profile). An administrator edits it here; everyone else sees it read-only."""

from __future__ import annotations

import streamlit as st

from app_pages.access_gate import current_actor, require
from app_pages.logic import md_plain
from casework.profile import PROFILE_FILE, ProfileError, load_profile, save_profile, support_lines

EXAMPLE = """organisation: Example Ltd
currency: GBP
support:
  employee_assistance: {name: "Example EAP", contact: "0800 000 000"}
  occupational_health: {name: "Example OH", contact: "oh@example.org"}
  hr: {name: "People team", contact: "hr@example.org"}
  emergency: {contact: "999"}
coaching: {in_house_coaches: ["A. Coach"], cost_per_session: 0}
mentoring: {scheme: {name: "Mentoring scheme", contact: "mentoring@example.org"}}
training_catalogue:
  - {title: "Course title", provider: "Provider", days: 2, cost: 450, topics: ["topic"]}
consultancy: {framework: "Framework name", day_rate: 900}
budget: {approver: "Head of L&D"}
"""


def render() -> None:
    require("org_profile")
    st.title("Organisation profile")
    st.markdown(
        "The organisation's own routes and offers: the assistance programme and occupational health, HR, the "
        "emergency number, in-house coaches, the mentoring scheme, the course catalogue with prices, the "
        "consultancy framework and who approves the spend. Plans, first steps, safety guidance and reports name "
        "them; without a profile they use the generic text."
    )
    loaded = load_profile()
    st.caption(f"File: {md_plain(str(loaded.path), one_line=True)}"
               + ("" if loaded.exists else " (not there yet)") + f" — the setting TRIAGE_PROFILE names another; "
               f"the default is {PROFILE_FILE} in the data folder.")
    if loaded.problems:
        st.error("The profile cannot be used, so the generic text is shown: "
                 + md_plain("; ".join(loaded.problems)))
    text = loaded.path.read_text(encoding="utf-8", errors="replace") if loaded.exists else ""
    actor = current_actor()
    if actor is None or not actor.is_admin:
        if loaded.profile:
            st.markdown("**Support routes**")
            for line in support_lines(loaded.profile) or ["none given"]:
                st.markdown(f"- {md_plain(line, one_line=True)}")
        st.code(text or "(no profile)", language="yaml")
        st.caption("Only an administrator can change the profile.")
        return
    with st.form("profile_form"):
        new = st.text_area("Profile (YAML)", text or EXAMPLE, height=420, key="profile_text")
        if st.form_submit_button("Check and save"):
            try:
                prof = save_profile(new, loaded.path)
            except ProfileError as exc:
                st.error("Not saved; the file is unchanged:\n\n" + "\n".join(f"- {md_plain(p)}" for p in exc.problems))
            except OSError as exc:
                st.error(f"Not saved: cannot write {md_plain(str(loaded.path))} ({md_plain(exc.strerror or '')})")
            else:
                st.success(f"Saved: {md_plain(prof.organisation or 'profile', one_line=True)}.")


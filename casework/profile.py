"""The organisation profile: the organisation's own support routes, offers, prices and approver.

One YAML file, ``profile.yaml`` in the data folder (``TRIAGE_DATA_DIR``, default ``./data``) or the
file named by ``TRIAGE_PROFILE``, validated with pydantic. The rule base stays generic; this module
fills in the organisation's names where a person reads them: the referral's first step and the
safety guidance name the assistance programme and its contact, a mentoring plan names the scheme, a
training plan lists the matching courses with days and cost, and the report's options table gives
the organisation's costs. Without a profile nothing changes. A bad profile is reported with the
field named, and everything goes on with the generic text.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from casework.answers_io import AnswersFileError, _load_yaml
from casework.gap import field_problems

ENV_PROFILE = "TRIAGE_PROFILE"
PROFILE_FILE = "profile.yaml"
MAX_PROFILE_BYTES = 200_000

Text = Field(default="", max_length=300)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Contact(_Strict):
    name: str = Text
    contact: str = Text

    def line(self) -> str:
        return ", ".join(x for x in (self.name, self.contact) if x)


class Support(_Strict):
    employee_assistance: Contact | None = None
    occupational_health: Contact | None = None
    hr: Contact | None = None
    emergency: Contact | None = None


class Coaching(_Strict):
    in_house_coaches: list[str] = Field(default_factory=list, max_length=200)
    cost_per_session: float | None = Field(default=None, ge=0)


class Mentoring(_Strict):
    scheme: Contact | None = None


class Course(_Strict):
    title: str = Field(min_length=1, max_length=300)
    provider: str = Text
    days: float | None = Field(default=None, ge=0, le=365)
    cost: float | None = Field(default=None, ge=0)
    topics: list[str] = Field(default_factory=list, max_length=100)


class Consultancy(_Strict):
    framework: str = Text
    day_rate: float | None = Field(default=None, ge=0)


class Budget(_Strict):
    approver: str = Text


class Profile(_Strict):
    """The organisation's own resources. Every part is optional."""

    organisation: str = Field(default="", max_length=200)
    currency: str = Field(default="", max_length=10)
    support: Support = Field(default_factory=Support)
    coaching: Coaching = Field(default_factory=Coaching)
    mentoring: Mentoring = Field(default_factory=Mentoring)
    training_catalogue: list[Course] = Field(default_factory=list, max_length=2000)
    consultancy: Consultancy = Field(default_factory=Consultancy)
    budget: Budget = Field(default_factory=Budget)

    def money(self, amount: float | None) -> str:
        if amount is None:
            return ""
        text = f"{amount:,.0f}" if float(amount).is_integer() else f"{amount:,.2f}"
        return f"{self.currency} {text}".strip()


class ProfileError(ValueError):
    """The profile cannot be used; ``problems`` names each field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class Loaded:
    """What :func:`load_profile` found: the profile (or None), where, and the problems if it is bad."""

    profile: Profile | None
    path: Path
    problems: list[str]

    @property
    def exists(self) -> bool:
        return self.path.is_file()


def profile_path() -> Path:
    env = os.environ.get(ENV_PROFILE, "").strip()
    if env:
        return Path(env).expanduser()
    folder = Path(os.environ.get("TRIAGE_DATA_DIR", "").strip() or "data").expanduser()
    return folder / PROFILE_FILE


def parse_profile(text: str, name: str = PROFILE_FILE) -> Profile:
    """A profile from YAML text; raises :class:`ProfileError` naming each bad field."""
    if len(text.encode("utf-8", "replace")) > MAX_PROFILE_BYTES:
        raise ProfileError([f"{name}: larger than {MAX_PROFILE_BYTES:,} bytes"])
    if not text.strip():
        return Profile()
    try:
        data = _load_yaml(text, name)
    except AnswersFileError as exc:
        raise ProfileError([str(exc)]) from None
    except RecursionError:
        raise ProfileError([f"{name}: nested too deeply"]) from None
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ProfileError([f"{name}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}"]) from None
    if data is None:
        return Profile()
    if not isinstance(data, Mapping):
        raise ProfileError([f"{name}: expected a mapping (organisation, currency, support, …), found {type(data).__name__}"])
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(field_problems(exc, f"{name}: {{field}}: {{msg}}", {"extra_forbidden": "unknown field"})) from None


def load_profile(path: str | Path | None = None) -> Loaded:
    """The organisation profile from ``path`` (else :func:`profile_path`). Never raises: a missing
    file gives no profile; a bad one gives no profile and the problems."""
    p = Path(path) if path else profile_path()
    if not p.is_file():
        return Loaded(None, p, [])
    try:
        raw = p.read_bytes()
        if len(raw) > MAX_PROFILE_BYTES:
            raise ProfileError([f"{p}: larger than {MAX_PROFILE_BYTES:,} bytes"])
        text = raw.decode("utf-8-sig")
        return Loaded(parse_profile(text, str(p)), p, [])
    except OSError as exc:
        return Loaded(None, p, [f"{p}: cannot read ({exc.strerror})"])
    except UnicodeDecodeError as exc:
        return Loaded(None, p, [f"{p}: not UTF-8 text (byte {exc.start})"])
    except ProfileError as exc:
        return Loaded(None, p, exc.problems)


def current_profile() -> Profile | None:
    """The profile in force (None without one, or when it is bad)."""
    return load_profile().profile


def save_profile(text: str, path: str | Path | None = None) -> Profile:
    """Check ``text`` and write it as the profile (the file is replaced whole, only when valid)."""
    prof = parse_profile(text)
    p = Path(path) if path else profile_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(p)
    return prof


# --------------------------------------------------------------------------- applying it


def support_lines(prof: Profile | None) -> list[str]:
    """The organisation's support routes, one line each (empty without a profile)."""
    if prof is None:
        return []
    s = prof.support
    out = []
    for label, c in (
        ("Employee assistance programme", s.employee_assistance),
        ("Occupational health", s.occupational_health),
        ("HR", s.hr),
    ):
        if c and c.line():
            out.append(f"{label}: {c.line()}")
    if s.emergency and s.emergency.contact:
        out.append(f"In an emergency: {s.emergency.line()}")
    return out


def safety_guidance(text: str, prof: Profile | None) -> str:
    """Safety guidance with the organisation's emergency number and support routes appended."""
    lines = support_lines(prof)
    if not lines:
        return text
    who = f" at {prof.organisation}" if prof and prof.organisation else ""
    return text.rstrip() + f"\n\nContacts{who}:\n" + "\n".join(f"- {x}" for x in lines)


def first_step(text: str, intervention: str | None, prof: Profile | None) -> str:
    """The first step of a result with the organisation's own route named."""
    if prof is None or not text:
        return text
    extra = offer_line(intervention, prof)
    return f"{text.rstrip()} {extra}" if extra else text


_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.casefold()) if len(w) > 2}


def matching_courses(prof: Profile | None, about: str = "", limit: int = 5) -> list[Course]:
    """Courses of the catalogue whose topics or title share a word with ``about`` (the case's
    title, notes and measure); all courses (up to ``limit``) when none match or nothing is given."""
    if prof is None or not prof.training_catalogue:
        return []
    want = _words(about)
    scored = []
    for n, c in enumerate(prof.training_catalogue):
        have = _words(" ".join([c.title, *c.topics]))
        scored.append((-len(want & have), n, c))
    scored.sort(key=lambda x: (x[0], x[1]))
    hits = [c for score, _n, c in scored if score < 0]
    return (hits or [c for _s, _n, c in scored])[:limit]


def course_line(c: Course, prof: Profile) -> str:
    bits = [b for b in (c.provider, f"{c.days:g} days" if c.days is not None else "",
                        prof.money(c.cost) if c.cost is not None else "") if b]
    return c.title + (f" ({', '.join(bits)})" if bits else "")


def offer_line(intervention: str | None, prof: Profile | None, about: str = "") -> str:
    """One sentence naming the organisation's own offer for an intervention (empty when none)."""
    if prof is None or not intervention:
        return ""
    s = prof.support
    if intervention == "counselling_referral":
        parts = []
        if s.employee_assistance and s.employee_assistance.line():
            parts.append(f"the employee assistance programme ({s.employee_assistance.line()})")
        if s.occupational_health and s.occupational_health.line():
            parts.append(f"occupational health ({s.occupational_health.line()})")
        return ("Here: " + " or ".join(parts) + ".") if parts else ""
    if intervention == "mentoring" and prof.mentoring.scheme and prof.mentoring.scheme.line():
        return f"Here: the mentoring scheme ({prof.mentoring.scheme.line()})."
    if intervention == "coaching" and prof.coaching.in_house_coaches:
        return f"In-house coaches: {', '.join(prof.coaching.in_house_coaches)}."
    if intervention == "training":
        courses = matching_courses(prof, about, 3)
        return ("From the course catalogue: " + "; ".join(course_line(c, prof) for c in courses) + ".") if courses else ""
    if intervention == "consultancy" and prof.consultancy.framework:
        return f"Through {prof.consultancy.framework}."
    return ""


def cost_text(intervention: str, prof: Profile | None, about: str = "") -> str:
    """The organisation's cost for an intervention, in words (empty when the profile gives none)."""
    if prof is None:
        return ""
    if intervention == "coaching" and prof.coaching.cost_per_session is not None:
        per = prof.coaching.cost_per_session
        return "no charge (in-house coaches)" if per == 0 else f"{prof.money(per)} a session"
    if intervention == "training":
        courses = [c for c in matching_courses(prof, about, 3) if c.cost is not None]
        if courses:
            c = courses[0]
            return f"{prof.money(c.cost)} a place ({c.title}" + (f", {c.days:g} days)" if c.days is not None else ")")
    if intervention == "consultancy" and prof.consultancy.day_rate is not None:
        return f"{prof.money(prof.consultancy.day_rate)} a day"
    return ""


def who_delivers(intervention: str, prof: Profile | None, about: str = "") -> str:
    """Who delivers an intervention in this organisation (empty when the profile says nothing)."""
    if prof is None:
        return ""
    s = prof.support
    if intervention == "counselling_referral":
        names = [c.name for c in (s.employee_assistance, s.occupational_health) if c and c.name]
        return " or ".join(names)
    if intervention == "mentoring" and prof.mentoring.scheme and prof.mentoring.scheme.name:
        return prof.mentoring.scheme.name
    if intervention == "coaching" and prof.coaching.in_house_coaches:
        return "In-house coaches: " + ", ".join(prof.coaching.in_house_coaches[:3])
    if intervention == "training":
        courses = matching_courses(prof, about, 1)
        return courses[0].provider if courses and courses[0].provider else ""
    if intervention == "consultancy":
        return prof.consultancy.framework
    return ""


def apply_to_plan(plan: dict[str, Any], prof: Profile | None, about: str = "") -> dict[str, Any]:
    """A copy of an action plan with the organisation's offer added as its own section (the
    assistance programme for a referral, the scheme for mentoring, the matching courses with days and
    cost for training, coaches and cost for coaching, the framework for consultancy) and the safety
    notice carrying the organisation's contacts. Unchanged without a profile."""
    if prof is None:
        return plan
    out = copy.deepcopy(plan)
    if out.get("safety_notice"):
        out["safety_notice"] = safety_guidance(out["safety_notice"], prof)
    iv = out.get("intervention")
    items: list[str] = []
    if iv == "training":
        items = [course_line(c, prof) for c in matching_courses(prof, about)]
    elif iv == "counselling_referral":
        items = support_lines(prof)
    elif iv:
        line = offer_line(iv, prof, about)
        cost = cost_text(iv, prof, about)
        items = [x for x in (line, f"Cost: {cost}." if cost else "") if x]
    if items:
        org = prof.organisation or "the organisation"
        title = {"training": f"Courses in {org}'s catalogue"}.get(iv, f"What {org} offers")
        out["sections"] = [
            {"id": "organisation_offer", "title": title, "guidance": "", "fields": [],
             "checklist": [{"text": t, "detail": "", "done": False} for t in items],
             "items": [], "measures": False},
            *out.get("sections", []),
        ]
    if prof.budget.approver:
        out["approver"] = prof.budget.approver
    return out

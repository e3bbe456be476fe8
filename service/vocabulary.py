"""Enumerations fixed by the public API contract (docs/api.md, openapi/openapi.yaml).

The request schema, the response schema and the knowledge-base loader all read these, so
the contract's values live in exactly one place. Finding and cause ids are not here: they
are knowledge, and come from ``rules/``.
"""

SEXES = ("female", "male", "other", "unknown")
LOCATIONS = ("buttock", "buttock_bone", "hip", "sacrum", "low_back", "groin", "thigh")
SIDES = ("left", "right", "both", "unknown")
ONSETS = ("sudden", "gradual", "unknown")
COURSES = ("improving", "stable", "worsening", "recurrent", "unknown")
URGENCY_LEVELS = ("emergency", "urgent", "routine", "self_care")  # most urgent first
CONFIDENCES = ("high", "moderate", "low")
CARE_KINDS = ("self_care", "medication", "therapy", "referral", "monitoring")

AGE_RANGE = (0, 120)
GESTATIONAL_WEEK_RANGE = (1, 44)
SEVERITY_RANGE = (0, 10)
DURATION_RANGE = (0, 36500)  # days: the bands a rule draws lie within a lifetime

# The record's fields a context rule may test, declared once: the compiled patterns, the
# engine's record fact and the reference chainer all iterate these (with ``pregnant`` and
# the complaint's locations, which are tested apart).
CHOICE_FIELDS: dict[str, tuple[str, ...]] = {"sex": SEXES, "side": SIDES, "onset": ONSETS, "course": COURSES}
RANGE_FIELDS = ("age", "gestational_week", "severity", "duration_days")
# Durations are compared to the thousandth of a day (86.4 s), rounded down, so that a bound the
# rules write to three decimals is exact: "under 84 days" is max 83.999, and no duration between
# 83.999 and 84 is left on neither side of it.
DURATION_STEP_PER_DAY = 1000

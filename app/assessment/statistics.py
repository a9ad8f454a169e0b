"""Item statistics: how each item and each assessment performed, from the finished attempts.

Computed on request from one query per page (``statistics_queries``), with pandas, never
a query per item. Only FINISHED attempts count (submitted, or closed at the deadline) and
only their SCORED items. The definitions, as the pages state them (``DEFINITIONS``):

* **facility** — the share of the available marks earned on the item (every item is
  worth one mark, so: the proportion of responses that were correct);
* **discrimination** — the point-biserial correlation between the item's mark and the
  REST SCORE: the attempt's scored marks WITHOUT this item, as a share of the rest's
  available marks (for forms of one length, exactly the raw rest score). The rest score,
  not the total, so that an item is not correlated with itself;
* **upper–lower** — the item's facility among the top 27% of its respondents by rest score
  minus its facility among the bottom 27%;
* **Cronbach's alpha** (KR-20 for one-mark items) — k/(k−1) × (1 − Σ item variances /
  variance of the totals), with population variances. When attempts draw different items
  from a larger bank, k is the mean number of scored items per attempt and Σ item
  variances the mean, over attempts, of the variances of the items each drew: an
  estimate, equal to KR-20 when everyone answers the same items;
* **flags** — once an item has at least ``min_attempts`` responses (the setting
  ``ITEM_STATS_MIN_ATTEMPTS``, 50 by default): facility below 0.25 (too hard) or above 0.90
  (too easy), discrimination below 0.15, and possibly miskeyed — negative discrimination,
  or a wrong option chosen more often than the key (than the least chosen keyed option,
  for multiple response) by the STRONGER HALF of its respondents (those with the higher
  rest scores).

Why on request rather than stored in ``ItemStatistic`` rows: the figures are then always
those of the attempts as they stand (an attempt closed at its deadline, a late submit,
a bank's new version), with no refresh job and no stale table to explain; one assessment's
page is one query and a few vectorised pandas steps (timed on the demo's attempts in the
issue's note), and the list of assessments is aggregated entirely in the database.

The tables the pages show, and their CSV and XLSX exports, are in ``statistics_tables``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy.orm import Session

from app.assessment import statistics_queries as queries
from app.assessment.content import (
    AR_LETTERS,
    ASSERTION_REASON,
    ASSERTION_REASON_OPTIONS,
    MATCHING,
    MULTIPLE,
    SEQUENCING,
    SINGLE,
    TRUE_FALSE,
    TYPE_LABELS,
    item_from_data,
)

# --- the rules ----------------------------------------------------------------------------------

#: Responses an item needs before it is flagged (the setting ITEM_STATS_MIN_ATTEMPTS).
DEFAULT_MIN_ATTEMPTS = 50
FACILITY_LOW = 0.25
FACILITY_HIGH = 0.90
DISCRIMINATION_LOW = 0.15
#: The share of respondents in each of the upper and lower groups.
UPPER_LOWER_SHARE = 0.27

TOO_HARD = "Too hard"
TOO_EASY = "Too easy"
LOW_DISCRIMINATION = "Low discrimination"
MISKEYED = "Possibly miskeyed"
#: The flags, in the order a page lists them.
FLAGS = (MISKEYED, TOO_HARD, TOO_EASY, LOW_DISCRIMINATION)

NO_ANSWER = "none"

DEFINITIONS = {
    "facility": "Facility: the share of responses that earned the item's mark.",
    "discrimination": (
        "Discrimination: the point-biserial correlation between the item's mark and the "
        "rest score (the attempt's scored marks without this item, as a share of the marks "
        "the rest could earn), so the item is not correlated with itself."
    ),
    "upper_lower": (
        "Upper–lower: the item's facility among the 27% of its respondents with the "
        "highest rest scores minus its facility among the 27% with the lowest."
    ),
    "alpha": (
        "Alpha: Cronbach's alpha (KR-20 for one-mark items). Where attempts draw different "
        "items from a larger bank it is an estimate: k is the mean number of scored items "
        "per attempt and the item variances are averaged over the attempts."
    ),
    "scope": "Finished attempts only (submitted or closed at the deadline); scored items only.",
}


def flag_rule(min_attempts: int) -> str:
    return (
        f"Flags appear once an item has {min_attempts} responses: facility below "
        f"{FACILITY_LOW:.2f} (too hard) or above {FACILITY_HIGH:.2f} (too easy), "
        f"discrimination below {DISCRIMINATION_LOW:.2f}, and possibly miskeyed — a negative "
        "discrimination, or a wrong option chosen more often than the key by the stronger "
        "half of the respondents (the half with the higher rest scores)."
    )


# --- the values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerCount:
    """How often one answer (an option, true or false, a letter, a whole matching or
    order) was chosen, overall and by the stronger half of the item's respondents."""

    token: str
    label: str
    key: bool
    chosen: int
    strong: int


@dataclass(frozen=True)
class ItemStats:
    item_version_id: int
    code: str
    version: int
    type: str
    topic: str
    competency: str
    level: int
    responses: int
    facility: float | None
    discrimination: float | None
    upper_lower: float | None
    flags: tuple[str, ...]
    answers: tuple[AnswerCount, ...]
    #: the item version's snapshot (stem, options, key, rationales) for the detail page
    content: Mapping = field(default_factory=dict, repr=False)

    @property
    def type_label(self) -> str:
        return TYPE_LABELS.get(self.type, self.type)


@dataclass(frozen=True)
class AssessmentStats:
    assessment_id: int
    attempts: int
    people: int
    passed: int
    alpha: float | None
    #: mean share of the scored marks, per cent
    mean_percent: float | None
    items: tuple[ItemStats, ...]
    min_attempts: int

    @property
    def pass_rate(self) -> float | None:
        return self.passed * 100 / self.attempts if self.attempts else None

    @property
    def flagged(self) -> int:
        return sum(1 for i in self.items if i.flags)

    def item(self, item_version_id: int) -> ItemStats | None:
        return next((i for i in self.items if i.item_version_id == item_version_id), None)


def cronbach_alpha(
    items_per_attempt: float | None,
    attempts: int,
    item_variance_sum: float | None,
    total_variance: float | None,
) -> float | None:
    """Cronbach's alpha from its aggregates (see the module docstring): ``item_variance_sum``
    is Σ over items of (responses × the item's population variance), so divided by the
    attempts it is the mean over attempts of the sum of their items' variances. None when
    undefined: fewer than two attempts or items, or totals that do not vary."""
    if (
        items_per_attempt is None
        or item_variance_sum is None
        or total_variance is None
        or attempts < 2
        or items_per_attempt <= 1
        or total_variance <= 1e-12
    ):
        return None
    k = items_per_attempt
    return k / (k - 1) * (1 - (item_variance_sum / attempts) / total_variance)


# --- one assessment ------------------------------------------------------------------------------

RESPONSE_COLUMNS = ["attempt_id", "item_version_id", "marks", "max_marks", "answer"]


def assessment_statistics(
    session: Session, assessment_id: int, *, min_attempts: int = DEFAULT_MIN_ATTEMPTS
) -> AssessmentStats:
    """The assessment's statistics and every scored item's, from its finished attempts
    (three queries: the responses, the attempt counts, the item versions)."""
    rows = session.execute(queries.responses(assessment_id)).all()
    attempts, people, passed = queries.attempt_summary(session, assessment_id)
    frame = response_frame([tuple(r) for r in rows])
    versions = queries.item_versions(session, frame["item_version_id"].tolist())
    return compute_statistics(
        frame,
        versions,
        assessment_id=assessment_id,
        attempts=attempts,
        people=people,
        passed=passed,
        min_attempts=min_attempts,
    )


def response_frame(rows: list[tuple]) -> pd.DataFrame:
    """The responses as a frame; answers stay Python values (an int, a list, a bool, a
    mapping), never coerced to numbers."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(RESPONSE_COLUMNS)
    data = {name: list(values) for name, values in zip(RESPONSE_COLUMNS, columns, strict=True)}
    frame = pd.DataFrame({k: v for k, v in data.items() if k != "answer"})
    frame["answer"] = pd.Series(data["answer"], dtype=object)
    return frame


def compute_statistics(
    frame: pd.DataFrame,
    versions: Mapping[int, queries.ItemVersionRow],
    *,
    assessment_id: int,
    attempts: int,
    people: int,
    passed: int,
    min_attempts: int,
) -> AssessmentStats:
    """The statistics of ``frame`` (one row per scored response, ``RESPONSE_COLUMNS``)."""
    if frame.empty:
        return AssessmentStats(
            assessment_id, attempts, people, passed, None, None, (), min_attempts
        )
    df = frame.copy()
    df["marks"] = df["marks"].astype(float)
    df["max_marks"] = df["max_marks"].astype(float)
    per_attempt = df.groupby("attempt_id").agg(
        total=("marks", "sum"), top=("max_marks", "sum"), k=("marks", "size")
    )
    df = df.join(per_attempt, on="attempt_id")
    rest_top = df["top"] - df["max_marks"]
    df["rest"] = (df["total"] - df["marks"]) / rest_top.where(rest_top > 0)
    df["score"] = df["marks"] / df["max_marks"]

    by_item = df.groupby("item_version_id")
    n = by_item.size()
    facility = by_item["marks"].sum() / by_item["max_marks"].sum()
    discrimination = _point_biserial(df)
    df["rank"] = by_item["rest"].rank(method="first")
    df["n"] = df["item_version_id"].map(n)
    upper_lower = _upper_lower(df)
    df["strong"] = df["rank"] > (df["n"] - df["n"] // 2)

    item_var = by_item["marks"].var(ddof=0)
    totals = per_attempt["total"]
    alpha = cronbach_alpha(
        float(per_attempt["k"].mean()),
        len(per_attempt),
        float((item_var * n).sum()),
        float(((totals - totals.mean()) ** 2).mean()),
    )
    mean_percent = float((per_attempt["total"] / per_attempt["top"]).mean() * 100)
    counts = _answer_counts(df, versions)

    items = []
    for iv_id in sorted(n.index, key=lambda i: (versions[i].code, versions[i].number)):
        version = versions[iv_id]
        disc = _value(discrimination.get(iv_id))
        fac = _value(facility.get(iv_id))
        answers = _answers(version, counts.get(iv_id, {}))
        responses = int(n[iv_id])
        items.append(
            ItemStats(
                item_version_id=iv_id,
                code=version.code,
                version=version.number,
                type=version.type,
                topic=version.topic,
                competency=version.competency,
                level=version.level,
                responses=responses,
                facility=fac,
                discrimination=disc,
                upper_lower=_value(upper_lower.get(iv_id)),
                flags=item_flags(responses, fac, disc, answers, version.type, min_attempts),
                answers=answers,
                content=version.content,
            )
        )
    return AssessmentStats(
        assessment_id,
        attempts,
        people,
        passed,
        alpha,
        mean_percent,
        tuple(items),
        min_attempts,
    )


def _value(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _point_biserial(df: pd.DataFrame) -> pd.Series:
    """Per item: Pearson's r between the item's score and the rest score (the
    point-biserial correlation for a one-mark item); NaN where either does not vary."""
    valid = df[df["rest"].notna()].copy()
    valid["sr"] = valid["score"] * valid["rest"]
    valid["s2"] = valid["score"] ** 2
    valid["r2"] = valid["rest"] ** 2
    m = valid.groupby("item_version_id")[["score", "rest", "sr", "s2", "r2"]].mean()
    cov = m["sr"] - m["score"] * m["rest"]
    var_s = m["s2"] - m["score"] ** 2
    var_r = m["r2"] - m["rest"] ** 2
    ok = (var_s > 1e-12) & (var_r > 1e-12)
    return (cov / (var_s.where(ok) * var_r.where(ok)) ** 0.5).clip(-1.0, 1.0)


def _upper_lower(df: pd.DataFrame) -> pd.Series:
    """Per item: facility in its upper 27% by rest score minus its lower 27% (NaN under
    four respondents)."""
    group = (df["n"] * UPPER_LOWER_SHARE).round().clip(lower=1)
    upper = df[df["rank"] > df["n"] - group].groupby("item_version_id")["score"].mean()
    lower = df[df["rank"] <= group].groupby("item_version_id")["score"].mean()
    enough = df.groupby("item_version_id")["n"].first() >= 4
    return (upper - lower).where(enough)


def answer_tokens(item_type: str, answer: object) -> list[str]:
    """The choices a response made, as tokens: an option's index (single, multiple — one
    per chosen option), ``true``/``false``, a letter A-E, a whole matching or order (its
    canonical JSON); ``none`` for no answer."""
    if answer is None or answer == [] or answer == {}:
        return [NO_ANSWER]
    if item_type == SINGLE:
        return [str(answer)]
    if item_type == MULTIPLE and isinstance(answer, list):
        return [str(a) for a in answer]
    if item_type == TRUE_FALSE:
        return ["true" if answer is True else "false"]
    if item_type == ASSERTION_REASON:
        return [str(answer).upper()]
    return [json.dumps(answer, sort_keys=True)]


def _answer_counts(
    df: pd.DataFrame, versions: Mapping[int, queries.ItemVersionRow]
) -> dict[int, dict[str, tuple[int, int]]]:
    """Item version id -> token -> (chosen, chosen by the stronger half)."""
    types = {i: v.type for i, v in versions.items()}
    tokens = pd.DataFrame(
        {
            "item_version_id": df["item_version_id"],
            "token": [
                answer_tokens(types[i], a)
                for i, a in zip(df["item_version_id"], df["answer"], strict=True)
            ],
            "strong": df["strong"].astype(int),
        }
    ).explode("token")
    grouped = tokens.groupby(["item_version_id", "token"])["strong"].agg(["size", "sum"])
    out: dict[int, dict[str, tuple[int, int]]] = {}
    for (iv_id, token), size, strong in zip(
        grouped.index, grouped["size"], grouped["sum"], strict=True
    ):
        out.setdefault(int(iv_id), {})[str(token)] = (int(size), int(strong))
    return out


def _letter(i: int) -> str:
    return chr(ord("A") + i)


def _answers(
    version: queries.ItemVersionRow, counts: Mapping[str, tuple[int, int]]
) -> tuple[AnswerCount, ...]:
    """The answer table of an item: every option (single, multiple), true and false, the
    five assertion-reason options; for matching and sequencing the five most chosen whole
    answers and the rest together. No answer last, when any response left it blank."""
    item = item_from_data(version.content)
    if item.type in (MATCHING, SEQUENCING):
        out = _whole_answers(item, counts)
    else:
        out = [
            AnswerCount(token, label, is_key, *counts.get(token, (0, 0)))
            for token, label, is_key in _options(item)
        ]
    if counts.get(NO_ANSWER):
        out.append(AnswerCount(NO_ANSWER, "No answer", False, *counts[NO_ANSWER]))
    return tuple(out)


def _options(item) -> list[tuple[str, str, bool]]:
    """(token, label, is the key) of each answer an option-like item offers."""
    if item.type == TRUE_FALSE:
        return [("true", "True", item.answer is True), ("false", "False", item.answer is False)]
    if item.type == ASSERTION_REASON:
        return [
            (letter, f"{letter}. {ASSERTION_REASON_OPTIONS[letter]}", item.key() == letter)
            for letter in AR_LETTERS
        ]
    return [(str(i), f"{_letter(i)}. {o.text}", o.correct) for i, o in enumerate(item.options)]


def _whole_answers(item, counts: Mapping[str, tuple[int, int]]) -> list[AnswerCount]:
    """The five most chosen whole answers of a matching or sequencing item (the key
    always among them), then the other answers together."""
    whole = sorted(
        ((t, c) for t, c in counts.items() if t != NO_ANSWER), key=lambda tc: (-tc[1][0], tc[0])
    )
    key_token = json.dumps(item.key(), sort_keys=True)
    shown = [t for t, _ in whole[:5]]
    if key_token not in shown:
        shown = [*shown[:4], key_token]
    out = [
        AnswerCount(t, _whole_answer_label(item, t), t == key_token, *counts.get(t, (0, 0)))
        for t in shown
    ]
    rest = [c for t, c in whole if t not in shown]
    if rest:
        chosen, strong = sum(c for c, _ in rest), sum(s for _, s in rest)
        out.append(AnswerCount("other", "Other answers", False, chosen, strong))
    return out


def _whole_answer_label(item, token: str) -> str:
    """A matching answer as "premise id → response id" pairs; a sequencing answer as the
    step numbers in the order given (the steps are numbered in their correct order)."""
    answer = json.loads(token)
    if item.type == MATCHING and isinstance(answer, dict):
        order = {p.id: i for i, p in enumerate(item.premises)}
        pairs = sorted(answer.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
        return ", ".join(f"{p}→{r}" for p, r in pairs)
    if item.type == SEQUENCING and isinstance(answer, list):
        return ", ".join(str(int(s) + 1) for s in answer)
    return token


def item_flags(
    responses: int,
    facility: float | None,
    discrimination: float | None,
    answers: Iterable[AnswerCount],
    item_type: str,
    min_attempts: int,
) -> tuple[str, ...]:
    """The item's flags (``flag_rule``); none before ``min_attempts`` responses."""
    if responses < min_attempts:
        return ()
    flags = []
    if _miskeyed(discrimination, answers, item_type):
        flags.append(MISKEYED)
    if facility is not None and facility < FACILITY_LOW:
        flags.append(TOO_HARD)
    if facility is not None and facility > FACILITY_HIGH:
        flags.append(TOO_EASY)
    if discrimination is not None and discrimination < DISCRIMINATION_LOW:
        flags.append(LOW_DISCRIMINATION)
    return tuple(flags)


def _miskeyed(discrimination: float | None, answers: Iterable[AnswerCount], item_type: str) -> bool:
    if discrimination is not None and discrimination < 0:
        return True
    if item_type in (MATCHING, SEQUENCING):
        return False
    options = [a for a in answers if a.token not in (NO_ANSWER, "other")]
    keyed = [a.strong for a in options if a.key]
    wrong = [a.strong for a in options if not a.key]
    return bool(keyed and wrong) and max(wrong) > min(keyed)


# --- every assessment ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AssessmentSummary:
    id: int
    code: str
    title: str
    status: str
    attempts: int
    people: int
    passed: int
    alpha: float | None


def assessment_summaries(session: Session) -> list[AssessmentSummary]:
    """Every assessment with its finished attempts, people, passes and alpha (aggregated
    in the database, ``statistics_queries.assessment_summaries``)."""
    out = []
    for r in queries.assessment_summaries(session):
        variance = (
            None
            if r.total_mean is None or r.total_mean_square is None
            else max(r.total_mean_square - r.total_mean**2, 0.0)
        )
        alpha = cronbach_alpha(r.items_per_attempt, r.attempts, r.item_variance_sum, variance)
        out.append(
            AssessmentSummary(
                r.id, r.code, r.title, r.status, r.attempts, r.people, r.passed, alpha
            )
        )
    return out

"""GIFT, the plain-text question format of Moodle and many other LMSs: reading it into bank
items, and writing items (or a whole bank) back to it.

Reading follows Moodle's own importer (qformat_gift), so a file that imports into Moodle
reads the same here:

* questions are separated by blank lines; a question may run over several lines;
* ``//`` lines are comments. Comments are kept as the item's ``notes``; ``[id:...]`` and
  ``[tag:...]`` in them (Moodle 3.6+) give the item's id and tags; Moodle's own
  ``// question: 12  name: ...`` export lines are dropped;
* ``$CATEGORY: path`` switches the category of the questions after it;
* ``::name::`` names a question; ``[markdown]``, ``[html]``, ``[plain]`` or ``[moodle]``
  at the start of a text gives its format;
* ``\\~ \\= \\# \\{ \\} \\:`` are the characters themselves, ``\\n`` a new line, ``\\\\`` a
  backslash;
* answers sit in braces: ``{=right ~wrong}`` is single choice; ``{~%50%a ~%50%b ~%-100%c}``
  (no ``=``) is multiple response — an answer with a positive weight is a key;
  ``{T}``, ``{TRUE}``, ``{F}``, ``{FALSE}`` (in any case) is true/false, with
  ``#feedback if wrong#feedback if right``; ``{=premise -> response ...}`` is matching
  (``= -> response`` adds a response no premise takes);
* ``#text`` after an answer is that answer's feedback (the option's rationale);
  ``####text`` at the end of the braces is the general feedback.

What we cannot import — numerical ``{#...}``, short answer (only ``=`` answers), essay
``{}``, missing-word (text after the braces), descriptions (no braces) — gives one message
per question naming it and its line. Nothing of the file is imported when any question
fails (``GiftError``), unless the caller asks to skip those (``skip_unsupported``).

GIFT has no place for a bank's competency, level and topic, nor for sequencing and
assertion-reason items, scenarios or data packs. Writing adds them in one comment line per
question (``// pmo {json}``), which Moodle ignores: sequencing is written as matching
(step number -> step), assertion-reason as single choice of the five fixed options, a
scenario's case or a data pack as a description. Reading that line back gives the very same
items, so export → import round-trips exactly; Moodle reads a portable version of each.

Pure: no Flask, no ORM.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser

from app.assessment.content import (
    AR_LETTERS,
    ASSERTION_REASON,
    ASSERTION_REASON_OPTIONS,
    ITEM_ID_RE,
    MATCHING,
    MULTIPLE,
    SEQUENCING,
    SINGLE,
    TRUE_FALSE,
    BankContent,
    Choice,
    DataPackContent,
    ItemContent,
    Option,
    ScenarioContent,
    Step,
    block_text,
    one_line,
)

FORMATS = ("moodle", "html", "plain", "markdown")

#: The comment that carries what GIFT has no place for.
META_PREFIX = "pmo "

# --- escapes ------------------------------------------------------------------------------------

_BACKSLASH = "\ue000"
_ESCAPES = {
    ":": "\ue001",
    "#": "\ue002",
    "=": "\ue003",
    "{": "\ue004",
    "}": "\ue005",
    "~": "\ue006",
}
_NEWLINE = "\ue007"


def _protect(text: str) -> str:
    """Escaped characters out of the way of the parser (Moodle's escapedchar_pre)."""
    text = text.replace("\\\\", _BACKSLASH)
    for char, mark in _ESCAPES.items():
        text = text.replace("\\" + char, mark)
    return text.replace("\\n", _NEWLINE)


def _release(text: str) -> str:
    """The characters back, after parsing (Moodle's escapedchar_post)."""
    for char, mark in _ESCAPES.items():
        text = text.replace(mark, char)
    return text.replace(_NEWLINE, "\n").replace(_BACKSLASH, "\\")


def escape(text: str) -> str:
    """Text as GIFT writes it: the special characters escaped, new lines as ``\\n``."""
    text = text.replace("\\", "\\\\")
    for char in _ESCAPES:
        text = text.replace(char, "\\" + char)
    return text.replace("\r", "").replace("\n", "\\n")


def _escape_block(text: str) -> str:
    """Multi-line text (a stem, a case) on several physical lines: each line escaped; a
    blank line (which would end the question) and a line that would read as a comment are
    joined to the line before with ``\\n``."""
    out: list[str] = []
    for line in text.split("\n"):
        if out and (not line.strip() or line.lstrip().startswith("//")):
            out[-1] += "\\n" + escape(line)
        else:
            out.append(escape(line))
    return "\n".join(out)


# --- the result of reading -----------------------------------------------------------------------


@dataclass(frozen=True)
class GiftProblem:
    """A question we cannot import: where it starts, its name, and why."""

    line: int
    name: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.name}: {self.message}"


class GiftError(ValueError):
    """The file cannot be imported as it is; ``problems`` says why, one per question."""

    def __init__(self, problems: list[GiftProblem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class GiftQuestion:
    """One imported question: the item it became and where it came from. Items read
    from plain GIFT have no competency, level or topic yet (``""`` and 0): the importer
    sets them (the category often names the topic)."""

    line: int
    item: ItemContent
    category: str = ""
    #: the format of its text: moodle, html, plain or markdown
    text_format: str = "moodle"
    #: the scenario it answers from (written by us), or None
    scenario: str | None = None


@dataclass
class GiftImport:
    questions: list[GiftQuestion] = field(default_factory=list)
    #: questions left out (only when the caller asked to skip them)
    skipped: list[GiftProblem] = field(default_factory=list)
    #: every category named, in the file's order
    categories: list[str] = field(default_factory=list)
    scenarios: list[ScenarioContent] = field(default_factory=list)
    data_packs: list[DataPackContent] = field(default_factory=list)
    #: the bank's own details, when the file was written from a bank by ``bank_to_gift``
    bank: dict | None = None

    @property
    def items(self) -> list[ItemContent]:
        """The stand-alone items (not those of a scenario), in the file's order."""
        return [q.item for q in self.questions if q.scenario is None]

    def bank_content(self) -> BankContent:
        """The bank the file was written from (``bank_to_gift``); ValueError when the file
        does not carry a bank's details."""
        if self.bank is None:
            raise ValueError("the file does not come from a bank export")
        by_scenario: dict[str, list[ItemContent]] = {}
        for q in self.questions:
            if q.scenario is not None:
                by_scenario.setdefault(q.scenario, []).append(q.item)
        return BankContent(
            code=str(self.bank["code"]),
            title=str(self.bank["title"]),
            format=str(self.bank["format"]),
            author=str(self.bank["author"]),
            original_work=bool(self.bank["original_work"]),
            topics=tuple((str(c), str(n)) for c, n in self.bank["topics"]),
            items=tuple(self.items),
            scenarios=tuple(
                replace(s, items=tuple(by_scenario.get(s.id, ()))) for s in self.scenarios
            ),
            data_packs=tuple(self.data_packs),
        )


class _Unsupported(Exception):
    pass


# --- reading -------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\[(id|tag):((?:\\\]|[^\]\x00-\x1f])+)\]")
_MOODLE_EXPORT_LINE = re.compile(r"^question: \d+\s+name:")
_WEIGHT = re.compile(r"^%(-?\d{1,3}(?:\.\d*)?)%")
_TRUE_FALSE = {"T": True, "TRUE": True, "F": False, "FALSE": False}


@dataclass
class _Block:
    line: int  # the first line of the question text (or of the block, if all comments)
    comments: list[str]
    text: str


def _blocks(text: str) -> list[_Block]:
    """The file cut at blank lines; comment lines set apart."""
    blocks: list[_Block] = []
    comments: list[str] = []
    lines: list[str] = []
    start = first = 0
    for number, raw in enumerate([*text.split("\n"), ""], 1):
        if raw.strip():
            if not comments and not lines:
                first = number
            if raw.strip().startswith("//"):
                comments.append(raw.strip()[2:].strip())
            else:
                if not lines:
                    start = number
                lines.append(raw)
            continue
        if comments or lines:
            blocks.append(_Block(start if lines else first, comments, "\n".join(lines).strip()))
        comments, lines = [], []
    return blocks


def _decode(source: str | bytes) -> str:
    """Text with any byte-order mark dropped and line endings unified."""
    if isinstance(source, bytes):
        source = source.decode("utf-8-sig")
    return source.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _format(text: str) -> tuple[str | None, str]:
    """A leading ``[markdown]``-style marker, and the text after it."""
    match = re.match(r"\[(\w+)\]", text)
    if match and match.group(1).lower() in FORMATS:
        return match.group(1).lower(), text[match.end() :]
    return None, text


def _text(raw: str, default_format: str = "markdown") -> str:
    """A piece of text as an item holds it (Markdown): its own format marker or the
    question's format, the characters released, HTML turned into Markdown."""
    own, text = _format(raw.strip())
    return to_markdown(_release(text), own or default_format).strip()


_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]])")


def to_markdown(text: str, text_format: str) -> str:
    """Text of a GIFT format as Markdown: ``html`` (and ``moodle`` auto-format text that
    holds tags) converted; ``plain`` with Markdown's special characters escaped."""
    if text_format == "html" or (text_format == "moodle" and _TAG.search(text)):
        return html_to_markdown(text)
    if text_format == "plain":
        return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return text


class _HtmlToMarkdown(HTMLParser):
    _BLOCKS = {"p", "div", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6"}
    _MARKS = {"strong": "**", "b": "**", "em": "*", "i": "*"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.href: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCKS:
            self.out.append("\n\n")
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in self._MARKS:
            self.out.append(self._MARKS[tag])
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self.href.append(href if href.startswith(("http://", "https://")) else None)
            self.out.append("[" if self.href[-1] else "")
        elif tag == "img":
            self.out.append(dict(attrs).get("alt") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BLOCKS:
            self.out.append("\n\n")
        elif tag in self._MARKS:
            self.out.append(self._MARKS[tag])
        elif tag == "a" and self.href:
            href = self.href.pop()
            self.out.append(f"]({href})" if href else "")

    def handle_data(self, data: str) -> None:
        self.out.append(re.sub(r"\s+", " ", data))


def html_to_markdown(html: str) -> str:
    """HTML (as Moodle writes question text) as Markdown: paragraphs, line breaks, lists,
    bold, italics and links kept; other tags dropped; entities decoded."""
    parser = _HtmlToMarkdown()
    parser.feed(html)
    parser.close()
    text = "".join(parser.out)
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _meta(comments: list[str]) -> tuple[dict, str | None, list[str], str]:
    """From a block's comments: our metadata, the [id:], the [tag:]s, and the rest as
    notes (Moodle's own export lines dropped)."""
    meta: dict = {}
    ident: str | None = None
    tags: list[str] = []
    notes: list[str] = []
    for comment in comments:
        if comment.startswith(META_PREFIX + "{"):
            try:
                loaded = json.loads(comment[len(META_PREFIX) :])
            except ValueError as exc:
                raise _Unsupported(f"the '// pmo' comment is not valid JSON ({exc})") from exc
            meta.update(loaded if isinstance(loaded, dict) else {})
            continue
        for kind, value in _TOKEN.findall(comment):
            value = value.replace("\\]", "]").strip()
            if kind == "id" and ident is None:
                ident = value
            elif kind == "tag":
                tags.append(value)
        rest = _TOKEN.sub("", comment).strip()
        if rest and not _MOODLE_EXPORT_LINE.match(rest):
            notes.append(rest)
    return meta, ident, tags, "\n".join(notes)


def _name_of(text: str) -> tuple[str, str]:
    """``::name::`` at the start of a question, and the text after it."""
    if text.startswith("::"):
        end = text.find("::", 2)
        if end != -1:
            return _release(text[2:end]).strip(), text[end + 2 :].strip()
    return "", text


def _label(name: str, text: str) -> str:
    if name:
        return name
    words = " ".join(_release(text).split())
    return words if len(words) <= 50 else words[:50].rsplit(" ", 1)[0] + "…"


def _split_answers(answers: str, marker: str) -> list[str]:
    parts = [p.strip() for p in answers.split(marker)]
    return [p for p in parts[1:] if p] if not parts[0] else [p for p in parts if p]


def _choices(answers: str, fmt: str) -> list[tuple[float, str, str]]:
    """(weight in per cent, text, feedback) of each answer of a choice question."""
    out = []
    for answer in _split_answers(answers.replace("=", "~="), "~"):
        weight = 0.0
        if answer.startswith("="):
            weight, answer = 100.0, answer[1:]
        elif match := _WEIGHT.match(answer):
            weight, answer = float(match.group(1)), answer[match.end() :]
        text, _, feedback = answer.partition("#")
        out.append((weight, one_line(_text(text, fmt)), one_line(_text(feedback, fmt))))
    return out


def _kind(answers: str) -> str:
    """The question type, decided as Moodle decides it."""
    if not answers:
        raise _Unsupported(
            "essay questions ({}) cannot be imported: items are marked automatically"
        )
    if answers.startswith("#"):
        raise _Unsupported(
            "numerical questions ({#...}) cannot be imported: items have no numeric answers"
        )
    if "~" in answers:
        return "choice"
    if "=" in answers and "->" in answers:
        return MATCHING
    if answers.partition("#")[0].strip().upper() in _TRUE_FALSE:
        return TRUE_FALSE
    raise _Unsupported(
        "short-answer questions (only = answers) cannot be imported: learners choose their "
        "answers, they do not type them"
    )


def _base(meta: dict, ident: str | None, tags: list[str], notes: str, name: str) -> dict:
    """The fields every item has, from our metadata where the file carries it."""
    item_id = str(meta.get("id") or ident or "")
    return {
        "id": item_id if ITEM_ID_RE.match(item_id) else "",
        "topic": str(meta.get("topic", "")),
        "competency": str(meta.get("competency", "")),
        "level": int(meta.get("level", 0)),
        "tags": tuple(sorted({one_line(t) for t in tags if one_line(t)})),
        "author": one_line(meta.get("author", "")),
        "data_pack": meta.get("data_pack"),
        "name": "" if name == item_id else one_line(name),
        "notes": block_text(notes),
    }


def _choice_item(
    base: dict, meta: dict, stem: str, answers: str, feedback: str, fmt: str
) -> ItemContent:
    options = _choices(answers, fmt)
    if len(options) < 2:
        raise _Unsupported("a choice question needs at least two answers")
    single = "=" in answers
    if single:
        partial = [w for w, _, _ in options if 0 < w < 100]
        if partial:
            raise _Unsupported(
                f"single choice with partial credit (an answer worth {partial[0]:g}%) cannot be "
                "imported: an item gives its one mark for the key only"
            )
    elif not any(w > 0 for w, _, _ in options):
        raise _Unsupported("no answer is marked correct (= or a positive %weight%)")
    built = [Option(text, rationale, weight > 0) for weight, text, rationale in options]
    if meta.get("type") == ASSERTION_REASON:
        head, _, reason = stem.rpartition("\n\n**Reason:** ")
        lead, _, assertion = head.rpartition("**Assertion:** ")
        key = next(i for i, o in enumerate(built) if o.correct)
        return ItemContent(
            type=ASSERTION_REASON,
            stem=block_text(lead),
            assertion=block_text(assertion),
            reason=block_text(reason),
            answer=AR_LETTERS[key],
            rationales=tuple(zip(AR_LETTERS, (o.rationale for o in built), strict=False)),
            feedback=feedback,
            **base,
        )
    return ItemContent(
        type=SINGLE if single else MULTIPLE,
        stem=stem,
        options=tuple(built),
        select=meta.get("select"),
        feedback=feedback,
        **base,
    )


def _matching_item(
    base: dict, meta: dict, stem: str, answers: str, feedback: str, fmt: str
) -> ItemContent:
    pairs: list[tuple[str, str]] = []
    extra: list[str] = []
    for answer in _split_answers(answers, "="):
        if "->" not in answer:
            raise _Unsupported("each answer of a matching question is 'premise -> response'")
        premise, _, response = answer.partition("->")
        premise, response = one_line(_text(premise, fmt)), one_line(_text(response, fmt))
        if premise:
            pairs.append((premise, response))
        elif response:
            extra.append(response)
    if not pairs:
        raise _Unsupported("a matching question needs at least one 'premise -> response'")
    texts = list(dict.fromkeys([r for _, r in pairs] + extra))
    if meta.get("type") == SEQUENCING:
        lines = feedback.split("\n")
        why = _rationale_lines([r for _, r in pairs], lines)
        return ItemContent(
            type=SEQUENCING,
            stem=stem,
            steps=tuple(Step(text, w) for (_, text), w in zip(pairs, why, strict=True)),
            feedback=block_text("\n".join(lines[len(pairs) + 1 :])),
            **base,
        )
    premise_ids = meta.get("premises") or [f"P{i}" for i in range(1, len(pairs) + 1)]
    response_ids = meta.get("response_ids") or [f"R{i}" for i in range(1, len(texts) + 1)]
    if len(premise_ids) != len(pairs) or len(response_ids) != len(texts):
        raise _Unsupported("the '// pmo' comment does not fit the question's answers")
    id_of = dict(zip(texts, response_ids, strict=True))
    by_id = {v: k for k, v in id_of.items()}
    order = meta.get("response_order") or response_ids
    rationales: tuple[tuple[str, str], ...] = ()
    if meta.get("rationales"):  # written by us: the rationales lead the general feedback
        lines = feedback.split("\n")
        why = _rationale_lines([p for p, _ in pairs], lines)
        rationales = tuple((i, w) for i, w in zip(premise_ids, why, strict=True) if w)
        feedback = block_text("\n".join(lines[len(pairs) + 1 :]))
    return ItemContent(
        type=MATCHING,
        stem=stem,
        premises=tuple(Choice(i, p) for i, (p, _) in zip(premise_ids, pairs, strict=True)),
        responses=tuple(Choice(i, by_id[i]) for i in order),
        pairs=tuple((i, id_of[r]) for i, (_, r) in zip(premise_ids, pairs, strict=True)),
        rationales=rationales,
        feedback=feedback,
        **base,
    )


def _rationale_lines(texts: list[str], lines: list[str]) -> list[str]:
    """The rationale of each premise or step, from general feedback lines
    ``<text> — <rationale>`` (as ``_rationale_feedback`` writes them)."""
    out = []
    for text, line in zip(texts, lines + [""] * len(texts), strict=False):
        prefix = f"{text} — "
        out.append(one_line(line[len(prefix) :] if line.startswith(prefix) else ""))
    return out


def _true_false_item(
    base: dict, meta: dict, stem: str, answers: str, feedback: str, fmt: str
) -> ItemContent:
    answer, _, rest = answers.partition("#")
    wrong, _, right = rest.partition("#")
    value = _TRUE_FALSE[answer.strip().upper()]
    wrong, right = one_line(_text(wrong, fmt)), one_line(_text(right, fmt))
    lead, statement = "", stem
    if meta.get("lead"):
        lead, _, statement = stem.rpartition("\n\n")
    return ItemContent(
        type=TRUE_FALSE,
        stem=block_text(lead),
        statement=block_text(statement),
        answer=value,
        rationale_true=right if value else wrong,
        rationale_false=wrong if value else right,
        feedback=feedback,
        **base,
    )


def _question(block: _Block, category: str, out: GiftImport) -> None:
    """Read one block into ``out``; _Unsupported when it cannot be imported."""
    meta, ident, tags, notes = _meta(block.comments)
    name, text = _name_of(_protect(block.text))
    fmt = _format(text)[0] or "moodle"
    opening, closing = text.find("{"), text.find("}")
    if opening == -1 and closing == -1:
        body = block_text(_text(text, fmt))
        if meta.get("kind") == "scenario":
            out.scenarios.append(ScenarioContent(str(meta["id"]), one_line(name), body))
            return
        if meta.get("kind") == "data-pack":
            out.data_packs.append(DataPackContent(str(meta["id"]), one_line(name), body))
            return
        raise _Unsupported("a description (text with no answers in braces) is not a question")
    if closing == -1:
        raise _Unsupported("the answers' braces do not match: a { without its }")
    if opening == -1 or closing < opening:
        raise _Unsupported("the answers' braces do not match: a } without its {")
    if text[closing + 1 :].strip():
        raise _Unsupported(
            "missing-word questions (text after the answers' braces) cannot be imported"
        )
    stem = block_text(_text(text[:opening], fmt))
    answers = text[opening + 1 : closing].strip()
    general = ""
    if "####" in answers:  # the last #### starts the general feedback, as in Moodle
        answers, _, general = answers.rpartition("####")
    answers = answers.strip()
    feedback = block_text(_text(general, fmt))
    kind = _kind(answers)
    base = _base(meta, ident, tags, notes, name)
    build = {
        "choice": _choice_item,
        MATCHING: _matching_item,
        TRUE_FALSE: _true_false_item,
    }[kind]
    item = build(base, meta, stem, answers, feedback, fmt)
    out.questions.append(
        GiftQuestion(
            line=block.line,
            item=item,
            category=category,
            text_format=fmt,
            scenario=meta.get("scenario"),
        )
    )


def parse_gift(source: str | bytes, *, skip_unsupported: bool = False) -> GiftImport:
    """Read a GIFT file (text, or UTF-8 bytes with or without a byte-order mark). Raises
    GiftError with one problem per question that cannot be imported — and then nothing of
    the file is imported — unless ``skip_unsupported``: then those are left out and listed
    in ``skipped``."""
    out = GiftImport()
    problems: list[GiftProblem] = []
    category = ""
    for block in _blocks(_decode(source)):
        if not block.text:
            meta = _meta_quietly(block.comments)
            if meta.get("kind") == "bank":
                out.bank = meta
            continue
        if block.text.startswith("$CATEGORY:"):
            category = _release(_protect(block.text[len("$CATEGORY:") :])).strip()
            out.categories.append(category)
            continue
        try:
            _question(block, category, out)
        except _Unsupported as exc:
            name, text = _name_of(_protect(block.text))
            problems.append(GiftProblem(block.line, _label(name, text), str(exc)))
    if problems and not skip_unsupported:
        raise GiftError(problems)
    out.skipped = problems
    return out


def _meta_quietly(comments: list[str]) -> dict:
    try:
        return _meta(comments)[0]
    except _Unsupported:
        return {}


# --- writing -------------------------------------------------------------------------------------


def _tokens(item: ItemContent) -> str:
    def token(kind: str, value: str) -> str:
        return f"[{kind}:{value.replace(']', chr(92) + ']')}]"

    parts = [token("id", item.id)] if item.id else []
    return " ".join(parts + [token("tag", t) for t in item.tags])


def _meta_line(doc: dict) -> str:
    return "// " + META_PREFIX + json.dumps(doc, ensure_ascii=False, sort_keys=True)


def _rationale_feedback(texts: Iterable[str], rationales: Iterable[str], feedback: str) -> str:
    lines = [f"{t} — {r}" for t, r in zip(texts, rationales, strict=True)]
    return "\n".join(lines) + (f"\n\n{feedback}" if feedback else "")


def _weight(n: int) -> str:
    return f"{100 / n:.5f}".rstrip("0").rstrip(".")


def write_item(item: ItemContent, *, scenario: str | None = None) -> str:
    """One item as a GIFT question (see the module docstring for what each type
    becomes); its comments carry the id, tags, notes and what GIFT has no place for."""
    meta: dict[str, object] = {
        "type": item.type,
        "topic": item.topic,
        "competency": item.competency,
        "level": item.level,
    }
    if item.author:
        meta["author"] = item.author
    if item.data_pack:
        meta["data_pack"] = item.data_pack
    if scenario:
        meta["scenario"] = scenario
    lines = (
        [f"// {line}" if line else "//" for line in item.notes.split("\n")] if item.notes else []
    )
    if tokens := _tokens(item):
        lines.append(f"// {tokens}")
    text, answers, feedback = _BODIES[item.type](item, meta)
    lines.append(_meta_line(meta))
    head = f"::{escape(item.name or item.id)}::" if (item.name or item.id) else ""
    lines.append(f"{head}[markdown]{_escape_block(text)} {{")
    lines += [f"\t{a}" for a in answers]
    if feedback:
        lines.append(f"\t####{escape(feedback)}")
    lines.append("}")
    return "\n".join(lines)


def _choice_body(item: ItemContent, meta: dict) -> tuple[str, list[str], str]:
    """Single choice with ``=`` on the key; multiple response with the keys sharing 100%
    and -100% on each wrong option, so that in Moodle too a wrong pick loses the mark
    (Moodle still gives part marks for some of the keys and no wrong pick)."""
    if item.select is not None:
        meta["select"] = item.select
    keys = sum(o.correct for o in item.options)
    answers = []
    for o in item.options:
        if item.type == SINGLE:
            mark = "=" if o.correct else "~"
        else:
            mark = f"~%{_weight(keys)}%" if o.correct else "~%-100%"
        answers.append(f"{mark}{escape(o.text)}#{escape(o.rationale)}")
    return item.stem, answers, item.feedback


def _true_false_body(item: ItemContent, meta: dict) -> tuple[str, list[str], str]:
    text = item.statement
    if item.stem:
        meta["lead"] = True
        text = f"{item.stem}\n\n{item.statement}"
    right, wrong = (
        (item.rationale_true, item.rationale_false)
        if item.answer
        else (item.rationale_false, item.rationale_true)
    )
    word = "TRUE" if item.answer else "FALSE"
    return text, [f"{word}#{escape(wrong)}#{escape(right)}"], item.feedback


def _matching_body(item: ItemContent, meta: dict) -> tuple[str, list[str], str]:
    """Pairs in the premises' order, then ``= -> response`` for each response no premise
    takes; the rationales lead the general feedback."""
    responses = {r.id: r.text for r in item.responses}
    pairs = dict(item.pairs)
    premises = [p for p in item.premises if pairs.get(p.id) in responses]
    used = [pairs[p.id] for p in premises]
    extra = [r.id for r in item.responses if r.id not in used]
    meta["premises"] = [p.id for p in premises]
    meta["response_ids"] = list(dict.fromkeys(used + extra))
    meta["response_order"] = [r.id for r in item.responses]
    answers = [f"={escape(p.text)} -> {escape(responses[pairs[p.id]])}" for p in premises]
    answers += [f"= -> {escape(responses[r])}" for r in extra]
    if not item.rationales:
        return item.stem, answers, item.feedback
    meta["rationales"] = True
    why = dict(item.rationales)
    feedback = _rationale_feedback(
        (p.text for p in premises), (why.get(p.id, "") for p in premises), item.feedback
    )
    return item.stem, answers, feedback


def _sequencing_body(item: ItemContent, meta: dict) -> tuple[str, list[str], str]:
    """Matching: ``Step 1 -> the first step`` and so on."""
    answers = [f"=Step {i} -> {escape(s.text)}" for i, s in enumerate(item.steps, 1)]
    feedback = _rationale_feedback(
        (s.text for s in item.steps), (s.rationale for s in item.steps), item.feedback
    )
    return item.stem, answers, feedback


def _assertion_reason_body(item: ItemContent, meta: dict) -> tuple[str, list[str], str]:
    """Single choice of the five fixed options, the assertion and reason in the text."""
    why = dict(item.rationales)
    text = f"**Assertion:** {item.assertion}\n\n**Reason:** {item.reason}"
    if item.stem:
        text = f"{item.stem}\n\n{text}"
    answers = [
        f"{'=' if letter == item.answer else '~'}{escape(f'{letter}. {label}')}"
        f"#{escape(why.get(letter, ''))}"
        for letter, label in ASSERTION_REASON_OPTIONS.items()
    ]
    return text, answers, item.feedback


#: Each type's (question text, answer lines, general feedback).
_BODIES = {
    SINGLE: _choice_body,
    MULTIPLE: _choice_body,
    TRUE_FALSE: _true_false_body,
    MATCHING: _matching_body,
    SEQUENCING: _sequencing_body,
    ASSERTION_REASON: _assertion_reason_body,
}


def write_gift(items: Iterable[ItemContent], *, category: str | None = None) -> str:
    """Items as a GIFT file (optionally under one category)."""
    blocks = [f"$CATEGORY: {category}"] if category else []
    blocks += [write_item(item) for item in items]
    return "\n\n".join(blocks) + "\n"


def _category(*names: str) -> str:
    return "$course$/top/" + "/".join(n.replace("/", "//") for n in names)


def bank_to_gift(bank: BankContent) -> str:
    """A whole bank as a GIFT file: the bank's details in a leading comment, a category
    per topic, data packs and scenario cases as descriptions, then the items. Moodle
    imports the items it knows; ``parse_gift(...).bank_content()`` gives the bank back."""
    topics = bank.topic_names()
    details = {
        "kind": "bank",
        "code": bank.code,
        "title": bank.title,
        "format": bank.format,
        "author": bank.author,
        "original_work": bank.original_work,
        "topics": [list(t) for t in bank.topics],
    }
    blocks = [
        f"// {bank.title} ({bank.code}), exported from PMO Pathways. Every item is original "
        "work, written for this bank.\n" + _meta_line(details)
    ]
    for pack in bank.data_packs:
        blocks.append(
            _meta_line({"kind": "data-pack", "id": pack.id})
            + f"\n::{escape(pack.title)}::[markdown]{_escape_block(pack.content)}"
        )
    current = None

    def switch(topic: str) -> None:
        nonlocal current
        if topic != current:
            blocks.append(f"$CATEGORY: {_category(bank.title, topics.get(topic, topic))}")
            current = topic

    for item in bank.items:
        switch(item.topic)
        blocks.append(write_item(item))
    for scenario in bank.scenarios:
        blocks.append(
            _meta_line({"kind": "scenario", "id": scenario.id})
            + f"\n::{escape(scenario.title)}::[markdown]{_escape_block(scenario.case)}"
        )
        for item in scenario.items:
            switch(item.topic)
            blocks.append(write_item(item, scenario=scenario.id))
    return "\n\n".join(blocks) + "\n"

"""Stage 2: turn documents into `Record`s, and check what only the whole set can show.

Single-file problems are located with the document's node tree while it is in memory.
Cross-record problems (a clash between two files, an unknown related slug) are rare, so their
positions are found by reading the file again only when one occurs: the valid path keeps no
node trees around.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple, cast

from pydantic import BaseModel, ValidationError

from .errors import ContentErrors, Problem, Suggestions, did_you_mean, field_path
from .load import Document, read_document
from .model import (
    SLUG_RE,
    Evidence,
    FaqEntry,
    PlatformCheck,
    Record,
    SiteConfig,
    Source,
    ValidationContext,
    slugify,
)

_MODELS_AT: dict[tuple[str, ...], type[BaseModel]] = {
    (): Record,
    ("sources",): Source,
    ("faq",): FaqEntry,
    ("evidence",): Evidence,
    ("platform_checks",): PlatformCheck,
}


class Head(NamedTuple):
    """What other pages show of a record (listings, feeds, the search index, related links)
    and what the whole-site checks read. A build keeps this for every record; what the
    record's own page shows travels pickled (`Entry.pickled`) and is unpickled only where
    that page is rendered. (A tuple: ten thousand of them are unpickled by every build.)"""

    title: str
    summary: str
    platform: str
    category: str
    tags: tuple[str, ...]
    updated: dt.date
    signature: str
    also_seen_as: tuple[str, ...]
    examples: tuple[str, ...]
    related: tuple[str, ...]
    aliases: tuple[str, ...]

    @classmethod
    def of(cls, rec: Record) -> Head:
        return cls(rec.title, rec.summary, rec.platform, rec.category, tuple(rec.tags),
                   rec.updated, rec.signature, tuple(rec.also_seen_as), tuple(rec.examples),
                   tuple(rec.related), tuple(rec.aliases))


@dataclass(frozen=True)
class Entry:
    """A valid record and where it came from."""

    head: Head
    slug: str
    platform_slug: str
    file: str
    """The record file's path, as text: a `Path` costs more to unpickle than the rest of
    the entry, and is needed only to read the file again to locate a problem."""
    display: str
    pickled: bytes | memoryview = field(default=b"", repr=False)
    """What its page shows of the record (`render.RecordPart`), pickled: ten thousand
    records as objects would dominate a build's memory, and every process but the one
    rendering the page only needs the head. Empty until the build makes it from the record
    (`build._process`), and for a record a rebuild took from its cache until its page is to
    be rendered again."""

    @property
    def record(self) -> Record:
        """The full record, where validation has just made it (in the process that read the
        file); elsewhere only `head` and `pickled` travel."""
        made = self.__dict__.get("_record")
        if made is None:
            raise LookupError(f"{self.display}: the record was not validated in this process")
        return cast(Record, made)

    @property
    def path(self) -> Path:
        return Path(self.file)

    @cached_property
    def url_path(self) -> str:
        return f"/{self.platform_slug}/{self.slug}/"

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the record object: only the process that validated it has one."""
        state = {k: v for k, v in self.__dict__.items() if k != "_record"}
        state["pickled"] = bytes(self.pickled)  # a view of a build's shared buffer, perhaps
        return state


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    text = str(value)
    return f"'{text[:40]}…'" if len(text) > 40 else f"'{text}'"


def _message(err: dict[str, Any], model: type[BaseModel] | None) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    loc = err["loc"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        choices = model.model_fields if model is not None else ()
        return f"unknown field{did_you_mean(str(loc[-1]), choices)}"
    if kind == "string_type":
        return f"must be text, found {_describe(value)} (put it in quotes)"
    if kind == "list_type":
        return f"must be a list, found {_describe(value)}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"must be a mapping of fields, found {_describe(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number, found {_describe(value)}"
    if kind.startswith("date") or kind.startswith("datetime"):
        return f"must be a real date written YYYY-MM-DD, found {_describe(value)}"
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        options = re.findall(r"'([^']*)'", expected)
        hint = did_you_mean(str(value), options)
        return f"{_describe(value)} is not allowed{hint}; use one of: {', '.join(options)}"
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return "must not be empty"
        return f"is {len(value)} characters; at least {ctx['min_length']} needed"
    if kind == "string_too_long":
        return f"is {len(value)} characters; at most {ctx['max_length']} allowed"
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return f"needs at least {n} item{'s' if n != 1 else ''}"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"must be between 100 and 599, found {_describe(value)}"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    msg = str(err["msg"])
    return msg[:1].lower() + msg[1:]


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    return _MODELS_AT.get(tuple(p for p in loc if isinstance(p, str)))


def validation_problems(doc: Document, err: ValidationError) -> list[Problem]:
    """Pydantic's errors as located problems, in file order."""
    problems = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        is_key = e["type"] == "extra_forbidden"
        model = _model_at(loc[:-1]) if is_key else None
        line, col = doc.locate(loc, key=is_key)
        problems.append(Problem(doc.display, line, col, field_path(loc), _message(e, model)))
    return sorted(problems)


def load_site(path: Path, display: str) -> SiteConfig:
    """Read and validate `content/site.yaml`."""
    if path.is_symlink() and not path.resolve().is_relative_to(path.parent.resolve()):
        raise ContentErrors([Problem(display, 0, 0, "", "a link to a file outside content/")])
    if not path.is_file():
        raise ContentErrors([Problem(display, 0, 0, "", "missing: the site's settings file")])
    doc = read_document(path, display)
    try:
        return SiteConfig.model_validate(doc.data)
    except ValidationError as err:
        raise ContentErrors(validation_problems(doc, err)) from None


def validate_record(path: Path | str, display: str, ctx: ValidationContext,
                    raw: bytes | None = None) -> Entry:
    """Read, validate and place one record file; raise `ContentErrors` listing all its problems.

    The path may be text (a build passes the text it listed): no `Path` is made of it."""
    doc = read_document(path, display, raw)
    problems: list[Problem] = []
    file = os.fspath(path)
    slug = os.path.splitext(os.path.basename(file))[0]
    if not SLUG_RE.match(slug):
        suggestion = slugify(slug) or "error-name"
        problems.append(Problem(display, 0, 0, "",
                                f"the file name '{slug}' is not a slug; rename it to {suggestion}.yaml"
                                " (lowercase letters, digits and hyphens)"))
    try:
        record = Record.model_validate(doc.data, context=ctx)
    except ValidationError as err:
        problems.extend(validation_problems(doc, err))
        raise ContentErrors(problems) from None
    folder = os.path.basename(os.path.dirname(file))
    if slugify(record.platform) != folder:
        line, col = doc.locate(("platform",))
        problems.append(Problem(
            display, line, col, "platform",
            f"'{record.platform}' has the slug '{slugify(record.platform)}' but the record is in"
            f" content/{folder}/; move the file or fix the platform",
        ))
    if problems:
        raise ContentErrors(problems)
    entry = Entry(Head.of(record), slug, folder, file, display)
    entry.__dict__["_record"] = record
    return entry


def _normalise_signature(text: str) -> str:
    return " ".join(text.casefold().split())


def _form_at(form: int) -> tuple[str | int, ...]:
    """Where a record's signature (form 0) or its `also_seen_as` entries (1...) are."""
    return ("also_seen_as", form - 1) if form else ("signature",)


def _at(entry: Entry, loc: tuple[str | int, ...]) -> tuple[int, int]:
    """Position of a field, found by reading the file again (only done to report a problem)."""
    try:
        return read_document(entry.path, entry.display).locate(loc)
    except ContentErrors:
        return 0, 0


def _problem(entry: Entry, loc: tuple[str | int, ...], message: str) -> Problem:
    line, col = _at(entry, loc)
    return Problem(entry.display, line, col, field_path(loc), message)


located_problem = _problem
"""A problem at a field of a valid record (link.py uses it too; the file is read again)."""


def check_entries(entries: Iterable[Entry], invalid_slugs: Iterable[str] = ()) -> list[Problem]:
    """Problems only the whole set shows: clashes between files and dangling references.

    `invalid_slugs` are records that exist but failed validation: a link to one is not reported
    again, since that file's own problems already are. Every check is a dictionary look-up per
    record, so the cost stays linear in the record count.
    """
    broken = set(invalid_slugs)
    entries = sorted(entries, key=lambda e: e.display)
    problems: list[Problem] = []
    by_slug: dict[str, Entry] = {}
    signatures: dict[str, tuple[Entry, int]] = {}  # normalised form -> first (entry, form)
    platform_names: dict[str, Entry] = {}
    paths: dict[str, tuple[Entry, str]] = {}

    for entry in entries:
        rec = entry.head
        if (other := by_slug.get(entry.slug)) is not None:
            problems.append(Problem(entry.display, 0, 0, "",
                                    f"the slug '{entry.slug}' is already used by {other.display};"
                                    " slugs are unique across platforms (related links use them)"))
        else:
            by_slug[entry.slug] = entry
        if (first := platform_names.setdefault(entry.platform_slug, entry)) is not entry and (
            first.head.platform != rec.platform
        ):
            problems.append(_problem(entry, ("platform",),
                                     f"'{rec.platform}' is spelled '{first.head.platform}'"
                                     f" in {first.display}; use one spelling per platform"))
        for i, text in enumerate((rec.signature, *rec.also_seen_as)):
            key = _normalise_signature(text)
            first = signatures.get(key)
            if first is None:
                signatures[key] = (entry, i)
            elif first[0] is not entry:
                other, other_form = first
                problems.append(_problem(entry, _form_at(i),
                                         f"duplicates {field_path(_form_at(other_form))} of"
                                         f" {other.display} (compared ignoring case and spacing)"))
        for i, alias in enumerate((entry.url_path, *rec.aliases)):
            owner = paths.get(alias.lower())
            if owner is not None and owner[0] is not entry:
                problems.append(_problem(entry, ("aliases", i - 1) if i else (),
                                         f"the path {alias} is already {owner[1]} of {owner[0].display}"))
            elif i and owner is not None:
                problems.append(_problem(entry, ("aliases", i - 1),
                                         f"{alias} is this record's own address or listed twice"))
            else:
                paths[alias.lower()] = (entry, "the address" if i == 0 else "an alias")

    suggest = Suggestions(by_slug)
    for entry in entries:
        for i, slug in enumerate(entry.head.related):
            if slug == entry.slug:
                problems.append(_problem(entry, ("related", i), "a record cannot be related to itself"))
            elif slug not in by_slug and slug not in broken:
                hint = suggest(slug)
                problems.append(_problem(entry, ("related", i), f"no record has the slug '{slug}'{hint}"))
    return sorted(problems)

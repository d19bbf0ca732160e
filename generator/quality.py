"""Warnings about weak content: valid records that would still make a poor page.

These do not break the contract, so they do not fail a build unless `check --strict` asks them
to. They catch what the seed pages got wrong: the same filler sentence on every page, stale
dates, unsourced claims, titles that search snippets cut, and "a OpenRouter".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import pickle
import re
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress, repeat
from operator import le
from typing import NamedTuple

from .errors import ContentErrors, Problem, Severity, field_path
from .load import Document, read_document
from .model import Record
from .validate import Entry

TITLE_SNIPPET = 60
SUMMARY_SNIPPET = 160
STALE_AFTER = dt.timedelta(days=365)
REPEAT_LIMIT = 3
MIN_SENTENCE_WORDS = 6

# A sentence ends at white space after . ! or ? before what can start one. The punctuation is
# part of the match (it is in no word, so no sentence loses a word): a pattern that starts with a
# character set lets the regex engine skip ahead, where a leading look-behind is tried everywhere.
_SENTENCE_GAP = r"\s+(?=[A-Z0-9`\"'(*])"
_SENTENCE_END = re.compile("[.!?]" + _SENTENCE_GAP)
# "a"/"A" as a word, then the next word. Same look-behind as (?<![\w'’]) before the article, but
# placed after it so that the engine only tries it where there is an "a".
_A_WORD = re.compile(r"([Aa])(?<![\w'’][Aa]) ([A-Za-z][\w-]*)")
_VOWEL_LETTER_ACRONYM = frozenset("AEFHILMNORSX")
_YOU_SOUND = re.compile(r"^(u[bcdfgjklmnprstvz][aeiouy]|uu|eu|ewe|one\b|once\b|ur[aeio])", re.I)
_SILENT_H = re.compile(r"^(hour|honest|honou?r|heir)", re.I)
Location = tuple[str | int, ...]


def _texts(rec: Record) -> Iterator[tuple[Location, str]]:
    """Every prose field of a record with its field path (not the signature: it is quoted)."""
    yield ("title",), rec.title
    yield ("summary",), rec.summary
    yield ("quick_fix",), rec.quick_fix
    yield ("meaning",), rec.meaning
    yield ("why",), rec.why
    for name in ("causes", "quick_fixes", "steps", "prevention"):
        for i, text in enumerate(getattr(rec, name)):
            yield (name, i), text
    for i, check in enumerate(rec.platform_checks):
        yield ("platform_checks", i, "check"), check.check
    yield ("evidence", "note"), rec.evidence.note
    for i, faq in enumerate(rec.faq):
        yield ("faq", i, "q"), faq.q
        yield ("faq", i, "a"), faq.a


_CODE = re.compile(r"`[^`]*`")
_WORD = re.compile(r"[\w'’-]+")
# For ASCII text, _WORD.findall(text.casefold()) is text.lower() with every character outside
# [A-Za-z0-9_'-] read as a space, split: one bytes.translate does it without a regex.
_WORD_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789_'-"
_ASCII_WORDS = bytes(c + 32 if 65 <= c <= 90 else c if c in _WORD_BYTES else 32 for c in range(256))


def _strip_code(text: str) -> str:
    return _CODE.sub("", text) if "`" in text else text


_NOT_LETTER = re.compile(r"[^A-Za-z]")


@lru_cache(maxsize=4096)
def needs_an(word: str) -> bool:
    """True when `word` starts with a vowel sound, so it takes "an" (an API, an hour, an SDK).

    Cached: the same few words follow "a" again and again across records.
    """
    letters = _NOT_LETTER.sub("", word)
    if not letters:
        return False
    if len(letters) >= 2 and letters.isupper():
        return letters[0] in _VOWEL_LETTER_ACRONYM
    if _SILENT_H.match(word):
        return True
    if _YOU_SOUND.match(word):
        return False
    return word[0].lower() in "aeiou"


def article_problems(text: str, code_stripped: bool = False) -> list[str]:
    """Each "a <vowel sound>" in the text, quoted, e.g. "a OpenRouter"."""
    prose = text if code_stripped else _strip_code(text)
    if "a " not in prose and "A " not in prose:  # every match has one: skip the scan
        return []
    return [f"{m.group(1)} {m.group(2)}" for m in _A_WORD.finditer(prose)
            if needs_an(m.group(2))]


def _sentences(prose: str) -> Iterator[bytes]:
    """Normalised sentences of six words or more, UTF-8 (prose: code spans already removed).

    A sentence's words are casefolded and joined by one space. ASCII text, nearly all of it,
    takes a translate-and-split path that gives the same words as the regex, several times faster.
    """
    if prose.isascii():
        for sentence in _SENTENCE_END.split(prose):
            words = sentence.encode().translate(_ASCII_WORDS).split()
            if len(words) >= MIN_SENTENCE_WORDS:
                yield b" ".join(words)
        return
    for sentence in _SENTENCE_END.split(prose):
        words = _WORD.findall(sentence.casefold())
        if len(words) >= MIN_SENTENCE_WORDS:
            yield " ".join(words).encode()


class _Locator:
    """Finds field positions by re-reading a file, once per file, only for files with warnings."""

    def __init__(self) -> None:
        self._docs: dict[str, Document | None] = {}

    def problem(self, entry: Entry, loc: Location, message: str) -> Problem:
        if entry.display not in self._docs:
            try:
                self._docs[entry.display] = read_document(entry.path, entry.display)
            except ContentErrors:  # the file changed since it was validated: no position
                self._docs[entry.display] = None
        doc = self._docs[entry.display]
        line, col = doc.locate(loc) if doc else (0, 0)
        return Problem(entry.display, line, col, field_path(loc), message, Severity.WARNING)


@dataclass(frozen=True)
class Notes:
    """One record's own findings: its warnings (not yet located) and a digest per sentence.

    Computed per record (in parallel, and cached with the record) so that the cross-record
    part, counting repeated sentences, is a cheap pass over digests.
    """

    warnings: tuple[tuple[Location, str], ...]
    sentences: tuple[tuple[bytes, Location], ...]


def record_notes(rec: Record, today: dt.date) -> Notes:
    warnings: list[tuple[Location, str]] = []
    if len(rec.title) > TITLE_SNIPPET:
        warnings.append((("title",), f"{len(rec.title)} characters; search results cut titles"
                                     f" after about {TITLE_SNIPPET}"))
    if len(rec.summary) > SUMMARY_SNIPPET:
        warnings.append((("summary",), f"{len(rec.summary)} characters; search snippets cut"
                                       f" descriptions after about {SUMMARY_SNIPPET}"))
    if today - rec.updated > STALE_AFTER:
        warnings.append((("updated",), f"{rec.updated.isoformat()} is over a year ago; re-check"
                                       " the record and its sources"))
    for i, source in enumerate(rec.sources):
        if source.checked is None:
            warnings.append((("sources", i),
                             "no `checked` date: say when the source was last read"))
    sentences: dict[bytes, Location] = {}
    texts = list(_texts(rec))
    joined = _TEXT_BREAK.join([text for _, text in texts])
    if (joined.isascii() and _SENTENCE_BREAK not in joined
            and joined.count(_TEXT_BREAK) == len(texts) - 1):
        # Code spans removed from all texts at once: a span cannot cross a break mark, so
        # this is the join of the texts stripped one by one (as the general path below).
        _ascii_notes(texts, _CODE_NO_BREAK.sub("", joined) if "`" in joined else joined,
                     warnings, sentences)
        return Notes(tuple(warnings), tuple(sentences.items()))
    proses = [_strip_code(text) for _, text in texts]
    joined = _TEXT_BREAK.join(proses)
    if (joined.isascii() and _SENTENCE_BREAK not in joined
            and joined.count(_TEXT_BREAK) == len(proses) - 1):
        _ascii_notes(texts, joined, warnings, sentences)
        return Notes(tuple(warnings), tuple(sentences.items()))
    for (loc, _), prose in zip(texts, proses, strict=True):
        for phrase in article_problems(prose, code_stripped=True):
            warnings.append((loc, f"'{phrase}': use 'an' before a vowel sound"))
        for sentence in _sentences(prose):
            key = hashlib.blake2b(sentence, digest_size=8).digest()
            sentences.setdefault(key, loc)
    return Notes(tuple(warnings), tuple(sentences.items()))


_TEXT_BREAK = "\x01"
_SENTENCE_BREAK = "\x00"
_CODE_NO_BREAK = re.compile("`[^`\x01]*`")
"""`_CODE`, kept inside one text of several joined by `_TEXT_BREAK`."""
# _ASCII_WORDS, except that the two break marks stay themselves (they are in no word).
_ASCII_WORDS_MARKED = b"\x00\x01" + _ASCII_WORDS[2:]
# _SENTENCE_END for text whose `!` and `?` were made `.`: a pattern that starts with a literal
# is searched for several times faster than one that starts with a set. Its matches are the
# same: each is a mark, the white space after it and a look at the next character, so no two
# overlap. (The marks themselves are dropped with every other character in no word.)
_SENTENCE_END_DOT = re.compile(r"\." + _SENTENCE_GAP)
# _A_WORD on lowercased text (ASCII only: positions and classes unchanged), with the literal
# "a " to search for.
_A_WORD_LOWER = re.compile(r"a (?<![\w'’]a )([a-z][\w-]*)")
_DIGEST8 = hashlib.blake2b(digest_size=8)
"""An empty 8-byte blake2b, copied for each sentence: cheaper than making one with its
keyword argument each time, and the same digest."""


def _ascii_notes(texts: list[tuple[Location, str]], joined: str,
                 warnings: list[tuple[Location, str]], sentences: dict[bytes, Location]) -> None:
    """`record_notes`' per-text findings for a record whose prose is all ASCII (and holds no
    break mark), found with a few regex passes and one translate over all its texts joined
    by `_TEXT_BREAK` (code spans removed) rather than several calls per text and per
    sentence: the same findings in the same order, since no match and no word spans the mark
    (it is neither a word character nor white space)."""
    if "a " in joined or "A " in joined:
        for m in _A_WORD_LOWER.finditer(joined.lower()):
            word = joined[m.start(1):m.end(1)]
            if needs_an(word):
                loc = texts[joined.count(_TEXT_BREAK, 0, m.start())][0]
                warnings.append((loc, f"'{joined[m.start()]} {word}': use 'an' before a vowel sound"))
    marked = _SENTENCE_END_DOT.sub(_SENTENCE_BREAK, joined.replace("!", ".").replace("?", "."))
    blank = _DIGEST8.copy
    chunks = marked.encode().translate(_ASCII_WORDS_MARKED).split(b"\x01")
    for (loc, _), chunk in zip(texts, chunks, strict=True):
        for part in chunk.split(b"\x00"):
            words = part.split()
            if len(words) >= MIN_SENTENCE_WORDS:
                h = blank()
                h.update(b" ".join(words))
                sentences.setdefault(h.digest(), loc)


class PackedNotes(NamedTuple):
    """A record's `Notes` as the build keeps and caches them: its warnings located already
    (positions are found by reading the file again, so once per version of the file, not
    once per build); its sentence digests in one bytes object, so that counting them across
    ten thousand records runs in C; and their locations pickled, unpickled only for a record
    one of whose sentences repeats."""

    warnings: tuple[Problem, ...]
    digests: bytes
    locations: bytes

    @classmethod
    def of(cls, entry: Entry, notes: Notes) -> PackedNotes:
        digests = b"".join(key for key, _ in notes.sentences)
        if len(digests) != _DIGEST.itemsize * len(notes.sentences):
            raise ValueError("sentence digests must be 8 bytes each")
        at = _Locator()
        locations = tuple(loc for _, loc in notes.sentences)
        return cls(tuple(at.problem(entry, loc, message) for loc, message in notes.warnings),
                   digests,
                   pickle.dumps(locations, protocol=pickle.HIGHEST_PROTOCOL) if locations else b"")

    def sentences(self) -> Iterator[tuple[int, Location]]:
        """(digest as a number, location) for each sentence, in the record's order."""
        locations: tuple[Location, ...] = pickle.loads(self.locations) if self.locations else ()
        return zip(array(_DIGEST.typecode, self.digests), locations, strict=True)


_DIGEST = array("Q")
"""An 8-byte sentence digest read as one unsigned number."""


def content_warnings(items: Sequence[tuple[Entry, PackedNotes]]) -> list[Problem]:
    """Every weak-content warning for a set of valid records, located, in file order."""
    at = _Locator()
    warnings = [problem for _, notes in items for problem in notes.warnings]
    # Count first (in C), then gather places only for the few sentences that repeat.
    counts = Counter(array(_DIGEST.typecode, b"".join(notes.digests for _, notes in items)))
    repeated = set(compress(counts, map(le, repeat(REPEAT_LIMIT), counts.values())))
    seen_in: dict[int, list[tuple[Entry, Location]]] = defaultdict(list)
    if repeated:
        for entry, notes in items:
            if not repeated.isdisjoint(array(_DIGEST.typecode, notes.digests)):
                for key, loc in notes.sentences():
                    if key in repeated:
                        seen_in[key].append((entry, loc))
    for places in seen_in.values():
        for entry, loc in places:
            others = [e.display for e, _ in places if e is not entry]
            shown = ", ".join(others[:2]) + (f" and {len(others) - 2} more" if len(others) > 2 else "")
            warnings.append(at.problem(entry, loc,
                                       f"the same sentence appears in {len(places)} records (also"
                                       f" {shown}); write what is true of this error alone"))
    return sorted(warnings)

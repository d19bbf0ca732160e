"""Find the record for a pasted error: one algorithm, here and in `templates/static/search.js`.

People paste what their terminal printed: a log line with a timestamp and a request id, a JSON
body with escaped quotes, a stack trace. `normalise` strips that noise down to the words that
identify the failure; `build_index` turns every record's signature and `also_seen_as` forms
into token lists with IDF weights (document frequencies count the `examples` too, so words
that every pasted log carries weigh little); `search` scores each form by how much of it the
paste contains, with a bonus for word pairs in the same order, and answers nothing rather
than a wrong page when no record is confidently close.

The browser runs the same steps on the same JSON index, and must rank exactly as Python does.
So the index carries the normalisation patterns, stop words and scoring constants defined
here (one copy of each rule), and the weights already computed (no logarithms at query time);
text is lowercased for ASCII letters only, tokens are ASCII, and scores come from the same
sums in the same order. The steps themselves are written twice: a change to `normalise`,
`_prepare` or `_rank` must be made in search.js too; the browser tests compare both, query by
query, to the last bit of every score.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, pairwise
from typing import TYPE_CHECKING, Any

from .cache import digest
from .errors import ContentErrors, Problem, Severity, field_path
from .load import read_document

if TYPE_CHECKING:  # `fixdex lookup` on a built index needs neither Pydantic nor the models
    from .validate import Entry, Head

INDEX_VERSION = 1
MAX_TOKENS = 4000
THRESHOLD = 0.5
"""The least score a record needs to be offered at all."""
MARGIN = 0.3
"""Other records are listed only when they score within this of the best one."""
PAIR_SHARE = 0.4
"""How much of a form's score depends on its word pairs appearing in order."""
PART_EVIDENCE = 2.5
"""A paste holding only part of a form needs this much matched weight, counted in tokens
that occur in a single record (weight `unit`), and at least three tokens."""
PART_CAP = 0.9
"""A part of a form never scores as high as the whole form."""

_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_MONTH = "(?<![a-z])(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
_DAY = "(?<![a-z])(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*"
_SOURCE_EXT = (
    "(?:py|pyc|js|mjs|cjs|jsx|ts|tsx|go|rb|java|"
    "kt|scala|cs|cpp|rs|php|swift|dart|exs?|lua|sh)"
)

# The normalisation rules travel inside the index (`norm`), so the browser applies exactly
# these patterns: they use only syntax that Python's `re` and JavaScript's RegExp read alike.
_BEFORE_ESCAPES = (
    # Windows paths, before "\n" in "C:\new" can be taken for an escape.
    r"(?<![a-z0-9])[a-z]:(?:\\+[a-z0-9_.@~+$%-]+)+(?::[0-9]+){0,2}",
)
_ESCAPES = r"\\+(?:u([0-9a-f]{4})|[nrtbf])"
_NOISE_RULES = (
    # Request and trace ids, as key-value pairs and as prefixed ids (req_..., sk-...).
    r"(?:request|trace|span|correlation)[_ -]?id[\"']?[ =:]+[\"']?[a-z0-9][a-z0-9._:-]*",
    r"(?<![a-z0-9])(?:req|sk|chatcmpl|cmpl|msg|org|proj|user|call|run|thread|asst|batch|resp"
    r"|gen)[_-][a-z._-]*[0-9*][a-z0-9*._-]*",
    # UUIDs and 0x-prefixed hex.
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    r"0x[0-9a-f]+",
    # Timestamps: ISO 8601, RFC 1123 (HTTP Date headers), nginx, syslog, bare times.
    r"[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}(?:[t ]?[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?"
    r"(?:[.,][0-9]+)?)?(?:z|[+-][0-9]{2}:?[0-9]{2})?",
    _DAY + r",? [0-9]{1,2}[ -]" + _MONTH + r"[ -][0-9]{4}",
    r"[0-9]{1,2}/" + _MONTH + r"/[0-9]{4}",
    _MONTH + r" {1,2}[0-9]{1,2},? (?:[0-9]{4} )?(?=[0-9]{1,2}:[0-9]{2})",
    r"[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]+)?(?: ?(?:z|[+-][0-9]{2}:?[0-9]{2}))?",
    # File paths, source files and line numbers.
    r"(?<![a-z0-9_.:/\\-])(?:~|\.\.?)?(?:/[a-z0-9_.@~+$%-]+){2,}/?(?::[0-9]+){0,2}",
    r"(?<![a-z0-9_$.-])[a-z0-9_$.-]*\." + _SOURCE_EXT + r"(?::[0-9]+){0,2}(?![a-z0-9])",
    r"(?<![a-z])line [0-9]+",
    r":[0-9]+:[0-9]+",
    # Decimals, versions, thousands separators and IP addresses.
    r"[0-9]+(?:[.,][0-9]+)+",
)
_TOKENS = r"[a-z0-9]+(?:_[a-z0-9]+)*"
_ESCAPE = re.compile(_ESCAPES)
_TOKEN = re.compile(_TOKENS)
_DIGIT = re.compile(r"[0-9]")
_HEX = re.compile(r"^[0-9a-f]+$")


def _compiled(rules: Sequence[str], parts: Sequence[str]) -> list[re.Pattern[str]]:
    """The rules compiled, each checked to hold its `part`: `_strip_noise` names the rules by
    position and skips each where it cannot match, so a rule edited, added or moved without
    updating it fails at import instead of quietly matching less."""
    if len(rules) != len(parts) or any(
            part not in rule for rule, part in zip(rules, parts, strict=True)):
        raise RuntimeError("lookup: NORM_RULES changed; update _strip_noise and its tests too")
    return [re.compile(rule) for rule in rules]


_MONTHS = "(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
_PATH_PART = "[a-z0-9_.@~+$%-]"
(_WINDOWS_PATH,) = _compiled(_BEFORE_ESCAPES, ("[a-z]:(?:\\\\+",))
(_REQUEST_ID, _PREFIXED_ID, _UUID, _HEX_NUMBER, _ISO_TIME, _HTTP_DATE, _NGINX_DATE,
 _SYSLOG_DATE, _CLOCK, _PATH, _SOURCE_FILE, _LINE_NO, _LINE_COL, _NUMBER) = _compiled(
    _NOISE_RULES, (
        "(?:request|trace|span|correlation)[_ -]?id", "|thread|asst|batch|resp|gen)[_-]",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-", "0x[0-9a-f]+", "[0-9]{4}[-/.][0-9]{1,2}[-/.]",
        _DAY + ",? [0-9]{1,2}[ -]" + _MONTH, "[0-9]{1,2}/" + _MONTH,
        "(?=[0-9]{1,2}:[0-9]{2})", "[0-9]{1,2}:[0-9]{2}:[0-9]{2}", f"(?:/{_PATH_PART}+){{2,}}",
        r"\." + _SOURCE_EXT + "(?::[0-9]+){0,2}(?![a-z0-9])", "line [0-9]+", ":[0-9]+:[0-9]+",
        "[0-9]+(?:[.,][0-9]+)+",
    ))
# Short patterns every match of a rule contains, without the rule's leading look-behind (which
# keeps `re` from skipping ahead to where a match could start): cheap to search for first.
_PREFIXED_ID_PART = re.compile(r"[_-][a-z._-]*[0-9*]")
_UUID_PART = re.compile(r"-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-")
_HTTP_DATE_PART = re.compile("[0-9][ -]" + _MONTHS)
_SYSLOG_DATE_PART = re.compile(":[0-9]{2}")
_CLOCK_PART = re.compile(":[0-9]{2}:[0-9]{2}")
_PATH_PARTS = re.compile(f"/{_PATH_PART}+/{_PATH_PART}")
# A line number after the extension starts with ":", which is neither letter nor digit.
_SOURCE_FILE_PART = re.compile(r"\." + _SOURCE_EXT + "(?![a-z0-9])")

STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do",
    "does", "for", "from", "had", "has", "have", "if", "in", "into", "is", "it", "its", "of",
    "on", "or", "our", "please", "so", "than", "that", "the", "their", "then", "there", "these",
    "this", "those", "to", "was", "we", "were", "will", "with", "you", "your",
    "error", "errors", "message", "code", "type", "param", "status", "none", "null", "nil",
    "undefined", "true", "false", "http", "https", "www", "com", "utc", "gmt", "line",
))
"""Words every error message carries (and JSON keys); they say nothing about which error."""

NORM_RULES: dict[str, Any] = {
    "before": list(_BEFORE_ESCAPES),
    "escape": _ESCAPES,
    "noise": list(_NOISE_RULES),
    "token": _TOKENS,
    "stop": sorted(STOPWORDS),
    "max": MAX_TOKENS,
}
"""Everything `normalise` needs besides code, as shipped to the browser in the index."""

SCORING: dict[str, float] = {
    "threshold": THRESHOLD, "margin": MARGIN, "pair_share": PAIR_SHARE,
    "part_evidence": PART_EVIDENCE, "part_cap": PART_CAP,
}


def _unescape(match: re.Match[str]) -> str:
    """`\\uXXXX` as the ASCII letter or digit it stands for, anything else (and `\\n` etc.)
    as a space."""
    code = match.group(1)
    if code is None:
        return " "
    char = chr(int(code, 16))
    return char.lower() if char.isascii() and char.isalnum() else " "


@lru_cache(maxsize=1 << 16)
def _keep(token: str) -> bool:
    """Drop noise tokens: one letter, stop words, numbers that are not HTTP statuses, ids.

    Cached (bounded): the same words recur in nearly every text, so most calls are lookups.
    """
    if len(token) < 2 or token in STOPWORDS:
        return False
    if token[0] in "0123456789":
        return len(token) == 3 and token.isdigit() and 100 <= int(token) <= 599
    if _DIGIT.search(token):
        return len(token) < 8 and not (len(token) >= 6 and _HEX.match(token))
    return True


def _strip_noise(text: str) -> str:
    """Blank out ids, timestamps, paths and numbers: `_NOISE_RULES`, in order.

    Each rule is tried only when the text holds something every match of it contains (a
    character, or one of the `_..._PART` patterns): most texts hold no uuid, date or path, and
    running all the rules over every text was most of what `normalise` cost. Skipping a rule
    that cannot match changes nothing, so the output is exactly that of the plain loop.
    """
    # The rules only blank text out, so a text without a digit here never gains one.
    digits = _DIGIT.search(text) is not None
    if "id" in text:
        text = _REQUEST_ID.sub(" ", text)
    if ("_" in text or "-" in text) and _PREFIXED_ID_PART.search(text):
        text = _PREFIXED_ID.sub(" ", text)
    if "-" in text and _UUID_PART.search(text):
        text = _UUID.sub(" ", text)
    if "0x" in text:
        text = _HEX_NUMBER.sub(" ", text)
    if digits and ("-" in text or "/" in text or "." in text):
        text = _ISO_TIME.sub(" ", text)
    if digits and _HTTP_DATE_PART.search(text):
        text = _HTTP_DATE.sub(" ", text)
    if digits and "/" in text:
        text = _NGINX_DATE.sub(" ", text)
    if digits and _SYSLOG_DATE_PART.search(text):
        text = _SYSLOG_DATE.sub(" ", text)
    if digits and _CLOCK_PART.search(text):
        text = _CLOCK.sub(" ", text)
    if "/" in text and _PATH_PARTS.search(text):
        text = _PATH.sub(" ", text)
    if "." in text and _SOURCE_FILE_PART.search(text):
        text = _SOURCE_FILE.sub(" ", text)
    if digits and "line " in text:
        text = _LINE_NO.sub(" ", text)
    if digits and ":" in text:
        text = _LINE_COL.sub(" ", text)
    if digits and ("." in text or "," in text):
        text = _NUMBER.sub(" ", text)
    return text


def normalise(text: str) -> list[str]:
    """Pasted text -> the tokens that identify the error, in order (at most `MAX_TOKENS`).

    ASCII letters are lowercased (only those: Unicode case rules differ between Python and
    browsers); paths, escapes, ids, timestamps and numbers are blanked out by `NORM_RULES`;
    tokens are runs of ASCII letters and digits, joined by `_` (so `invalid_api_key` stays one
    token); stop words, one-letter tokens, ids and numbers other than HTTP statuses are dropped.
    """
    # On ASCII text `str.lower` lowercases exactly A-Z, and is much faster than `translate`.
    text = text.lower() if text.isascii() else text.translate(_UPPER)
    if ":\\" in text:
        text = _WINDOWS_PATH.sub(" ", text)
    if "\\" in text:
        text = _ESCAPE.sub(_unescape, text)
    text = _strip_noise(text)
    tokens = [t for t in _TOKEN.findall(text) if _keep(t)]
    return tokens[:MAX_TOKENS]


# -- the index ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordTokens:
    """What the index needs of one record: its distinct forms (the signature first, then
    also_seen_as) as token lists, and every token its forms and examples contain. Computed
    once per record (by the build's workers, and cached with the record)."""

    forms: tuple[tuple[str, ...], ...]
    words: frozenset[str]


def record_tokens(record: Head) -> RecordTokens:
    seen: set[tuple[str, ...]] = set()
    forms = []
    for text in (record.signature, *record.also_seen_as):
        tokens = tuple(normalise(text))
        if tokens and tokens not in seen:
            seen.add(tokens)
            forms.append(tokens)
    words = {t for form in forms for t in form}
    for example in record.examples:
        words.update(normalise(example))
    return RecordTokens(tuple(forms), frozenset(words))


def index_digest(entry: Entry) -> bytes:
    """Digest of everything `build_index` reads of an entry: its address, title, signature and
    what its tokens are made of. An edit elsewhere in a record (its fixes, its date) leaves
    the search index as it was, and the build does not make it again."""
    head = entry.head
    return digest(entry.url_path, head.title, head.signature, repr(head.also_seen_as),
                  repr(head.examples))


def build_index(entries: Sequence[Entry], base_path: str = "/",
                tokens: Mapping[str, RecordTokens] | None = None) -> dict[str, Any]:
    """The lookup index shipped to browsers as `search/index.json`, identical for equal input.

    `records` holds `[slug, title, signature, url]`; `vocab` the sorted tokens and `weights`
    their IDF weights (rounded, so that Python and JavaScript read the same numbers); `forms`
    one `[record, token ids...]` list per distinct form; `unit` the weight of a token found in
    one record only; `norm` and `scoring` the rules and constants both sides apply. The
    inverted index (token -> forms) is derived from `forms` when the index is loaded rather
    than shipped. `tokens` (by slug) saves normalising records again.
    """
    ordered = sorted(entries, key=lambda e: (e.platform_slug, e.slug))
    base = base_path if base_path.endswith("/") else base_path + "/"
    per_record = [tokens[e.slug] if tokens is not None and e.slug in tokens
                  else record_tokens(e.head) for e in ordered]
    record_forms = [t.forms for t in per_record]
    df = Counter(chain.from_iterable(record.words for record in per_record))  # counted in C
    vocab = sorted(set(chain.from_iterable(chain.from_iterable(record_forms))))
    ids = {t: i for i, t in enumerate(vocab)}
    n = len(ordered)
    return {
        "version": INDEX_VERSION,
        "records": [
            [e.slug, e.head.title, e.head.signature, f"{base}{e.platform_slug}/{e.slug}/"]
            for e in ordered
        ],
        "vocab": vocab,
        "weights": [round(math.log(1 + n / df[t]), 3) for t in vocab],
        "unit": round(math.log(1 + n), 3) if n else 1.0,
        "norm": NORM_RULES,
        "scoring": SCORING,
        "forms": [
            [r, *map(ids.__getitem__, form)]
            for r, forms in enumerate(record_forms)
            for form in forms
        ],
    }


# -- searching ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    slug: str
    title: str
    signature: str
    url: str
    score: float


@dataclass
class _Prepared:
    """The index ready to query: the inverted index and per-form totals, built once."""

    ids: dict[str, int]
    weights: list[float]
    records: list[list[str]]
    form_record: list[int]
    form_tokens: list[list[int]]
    form_total: list[float]
    form_pairs: list[set[tuple[int, int]]]
    postings: list[list[int]]
    by_start: dict[tuple[int, ...], list[int]]
    """Every form by its first three tokens, or all of them when it has fewer (for
    `top_match`)."""


def _prepare(index: dict[str, Any], prune: bool = True) -> _Prepared:
    """Build the inverted index, listing each form only under the tokens it cannot score without.

    A form's lightest tokens together weigh less than it needs to be considered (`threshold`
    of its weight, and the evidence a partial paste needs); a paste holding none of its other,
    heavier tokens cannot reach it, so the form is filed under those heavier tokens only
    ("prefix filtering"). Words found in thousands of records then have short posting lists,
    and every form that could score is still visited.
    """
    vocab: list[str] = index["vocab"]
    weights: list[float] = index["weights"]
    cfg = index["scoring"]
    part_floor = cfg["part_evidence"] * index["unit"]
    postings: list[list[int]] = [[] for _ in vocab]
    form_record, form_tokens, form_total, form_pairs = [], [], [], []
    by_start: dict[tuple[int, ...], list[int]] = {}
    for f, (record, *seq) in enumerate(index["forms"]):
        unique = list(dict.fromkeys(seq))
        total = 0.0
        for t in unique:
            total += weights[t]
        limit = min(cfg["threshold"] * total, part_floor) * (1 - 1e-9) if prune else 0.0
        heaviest = sorted(unique, key=lambda t: (-weights[t], t))
        rest, keep = 0.0, len(heaviest)
        while keep > 0 and rest + weights[heaviest[keep - 1]] < limit:
            keep -= 1
            rest += weights[heaviest[keep]]
        for t in heaviest[:keep]:
            postings[t].append(f)
        form_record.append(record)
        form_tokens.append(unique)
        form_total.append(total)
        form_pairs.append(set(pairwise(seq)))
        by_start.setdefault(tuple(seq[:3]), []).append(f)
    return _Prepared({t: i for i, t in enumerate(vocab)}, weights, index["records"],
                     form_record, form_tokens, form_total, form_pairs, postings, by_start)


_cache: tuple[dict[str, Any], _Prepared] | None = None


def _prepared(index: dict[str, Any]) -> _Prepared:
    """Prepare an index once; a build or a check searches the same index many times."""
    global _cache
    if _cache is None or _cache[0] is not index:
        _cache = (index, _prepare(index))
    return _cache[1]


def search(index: dict[str, Any], text: str, limit: int = 5) -> list[Match]:
    """The records `text` most likely shows, best first; empty when none is a confident match.

    For each form that shares tokens with the paste: `cov` is the weighted share of the form's
    tokens found in the paste, `pairs` the share of its adjacent token pairs found adjacent in
    the paste; the form scores `cov * (1 - PAIR_SHARE + PAIR_SHARE * pairs)`. A paste that holds
    only part of a long form can score instead by how much of the paste the form explains
    (its known tokens and pairs), capped at `PART_CAP`, when the part carries enough evidence
    (`PART_EVIDENCE`). A form counts only when two of its tokens were found (or it is one long
    token). A record scores its best form; records below `THRESHOLD`, or more than `MARGIN`
    behind the best, are left out. Ties go to the record that matched more weight, then slug.
    """
    return _rank(_prepared(index), index, text, limit)


@dataclass(frozen=True)
class _Query:
    """A paste as `_scores` scores it: its distinct known tokens, their set and total weight,
    and its adjacent pairs of known tokens."""

    tokens: list[int]
    token_set: set[int]
    weight: float
    pairs: set[tuple[int, int]]


def _query(p: _Prepared, text: str) -> _Query:
    seq = [p.ids.get(t, -1) for t in normalise(text)]
    tokens = [t for t in dict.fromkeys(seq) if t >= 0]
    weight = 0.0
    for t in tokens:
        weight += p.weights[t]
    return _Query(tokens, set(tokens), weight,
                  {(a, b) for a, b in pairwise(seq) if a >= 0 and b >= 0})


def _scores(p: _Prepared, index: dict[str, Any], q: _Query, candidates: Iterable[int]
            ) -> dict[int, tuple[float, float]]:
    """The best (score, matched weight) of each record among the candidate forms that count."""
    cfg = index["scoring"]
    threshold, share_of_pairs = cfg["threshold"], cfg["pair_share"]
    query_set, query_pairs = q.token_set, q.pairs
    part_floor = cfg["part_evidence"] * index["unit"]
    best: dict[int, tuple[float, float]] = {}
    for f in candidates:
        tokens = p.form_tokens[f]
        m, n = 0.0, 0
        for t in tokens:
            if t in query_set:
                m += p.weights[t]
                n += 1
        if n < 2 and not (len(tokens) == 1 and len(index["vocab"][tokens[0]]) >= 8):
            continue
        cov = m / p.form_total[f]
        part = n >= 3 and m >= part_floor
        if cov < threshold and not part:
            continue
        pairs = p.form_pairs[f]
        hits = sum(1 for pair in pairs if pair in query_pairs)
        share = hits / len(pairs) if pairs else cov
        score = cov * (1 - share_of_pairs + share_of_pairs * share)
        if part:
            qshare = hits / len(query_pairs) if query_pairs else 0.0
            score = max(score, cfg["part_cap"] * (m / q.weight)
                        * (1 - share_of_pairs + share_of_pairs * qshare))
        r = p.form_record[f]
        if score >= threshold and (r not in best or (score, m) > best[r]):
            best[r] = (score, m)
    return best


def _ranked(p: _Prepared, index: dict[str, Any], best: dict[int, tuple[float, float]],
            limit: int) -> list[Match]:
    ranked = sorted(best.items(),
                    key=lambda item: (-item[1][0], -item[1][1], p.records[item[0]][0]))
    if not ranked:
        return []
    floor = ranked[0][1][0] - index["scoring"]["margin"]
    return [
        Match(*p.records[r], score=score)  # type: ignore[arg-type]
        for r, (score, _) in ranked[:limit]
        if score >= floor
    ]


def _candidates(p: _Prepared, q: _Query) -> dict[int, None]:
    """Every form that could score: those filed under a token of the paste."""
    return dict.fromkeys(f for t in q.tokens for f in p.postings[t])


def _rank(p: _Prepared, index: dict[str, Any], text: str, limit: int) -> list[Match]:
    q = _query(p, text)
    return _ranked(p, index, _scores(p, index, q, _candidates(p, q)), limit)


def top_match(index: dict[str, Any], text: str) -> Match | None:
    """`search(index, text, limit=1)`'s answer, found without scoring every form that shares a
    token with `text` when some form scores the most any form can. The check looks up every
    example and form of every record; where signatures share most of their words, a full
    search visits thousands of forms each time (minutes for 10,000 records).

    A form whose tokens all appear in the paste, with each of its adjacent pairs adjacent
    there too, scores exactly `cov = 1` times `1 - pair_share + pair_share`: the top score.
    Every other form scores less by far more than rounding (its `cov` or its pair share
    lacks at least one token or pair, each weighing at least log 2; a partial paste's score
    is capped at `part_cap` < 1). The first three tokens of such a perfect form are two
    pairs of the paste that follow each other (its first two: one pair; its one: a token), so
    looking up those starts finds every form with the top score, and ranking them ranks the
    records that can come first. Otherwise the full search answers.
    """
    p = _prepared(index)
    share_of_pairs = index["scoring"]["pair_share"]
    top = 1.0 * (1 - share_of_pairs + share_of_pairs * 1.0)  # as `_scores` computes it
    q = _query(p, text)
    after: dict[int, list[int]] = {}
    for a, b in q.pairs:
        after.setdefault(a, []).append(b)
    starts = chain(((t,) for t in q.tokens), q.pairs,
                   ((a, b, c) for a, b in q.pairs for c in after.get(b, ())))
    candidates = dict.fromkeys(f for start in starts for f in p.by_start.get(start, ()))
    best = _scores(p, index, q, candidates)
    if any(score == top for score, _ in best.values()):
        return _ranked(p, index, best, 1)[0]
    found = _ranked(p, index, _scores(p, index, q, _candidates(p, q)), 1)
    return found[0] if found else None


# -- checking records ---------------------------------------------------------------------


def _located(entry: Entry, loc: tuple[str | int, ...], message: str,
             severity: Severity = Severity.ERROR) -> Problem:
    """A problem at a field of a record; the file is read again only because there is one."""
    try:
        line, col = read_document(entry.path, entry.display).locate(loc)
    except ContentErrors:
        line, col = 0, 0
    return Problem(entry.display, line, col, field_path(loc), message, severity)


def examples_problems(entries: Sequence[Entry],
                      tokens: Mapping[str, RecordTokens] | None = None) -> list[Problem]:
    """Examples that do not look up to their own record (errors) and forms of one record that
    look up to another (warnings: lookups cannot tell the two apart)."""
    index = build_index(entries, tokens=tokens)
    by_slug = {e.slug: e for e in entries}
    problems: list[Problem] = []
    for entry in sorted(entries, key=lambda e: e.display):
        rec = entry.head
        for i, example in enumerate(rec.examples):
            found = top_match(index, example)
            if found is None:
                problems.append(_located(entry, ("examples", i),
                                         "this example matches no record confidently; add the"
                                         " form it shows to also_seen_as"))
            elif found.slug != entry.slug:
                other = by_slug[found.slug].display
                problems.append(_located(entry, ("examples", i),
                                         f"this example looks up to {other} first, not to this"
                                         " record"))
        forms = [(("signature",), rec.signature),
                 *((("also_seen_as", i), text) for i, text in enumerate(rec.also_seen_as))]
        for loc, text in forms:
            found = top_match(index, text)
            if found is not None and found.slug != entry.slug:
                other = by_slug[found.slug].display
                what = "the signature" if loc == ("signature",) else "this form"
                problems.append(_located(entry, loc,
                                         f"{what} looks up to {other} first; lookups cannot"
                                         " tell the two records apart", Severity.WARNING))
    return sorted(problems)


def index_size(index: dict[str, Any]) -> int:
    """Bytes of the index as the build writes it (for the size budget in tests and benches)."""
    return len(json.dumps(index, sort_keys=True, separators=(",", ":")).encode())


__all__ = ["MARGIN", "THRESHOLD", "Match", "RecordTokens", "build_index", "examples_problems",
           "index_size", "normalise", "record_tokens", "search", "top_match"]

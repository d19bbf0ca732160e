"""Stage 1: find the record files and read each one as YAML, keeping where every value sits.

PyYAML's safe loader is the base (libyaml's C parser when installed), hardened where it is
lenient: duplicate keys are errors instead of "last one wins", tags are refused, alias
expansion is bounded, dates stay text so that a bad date is a located validation error rather
than an exception, nesting is bounded before libyaml's recursive composer sees it (a deep
enough file would crash the interpreter), and over-long numbers are refused before Python
turns them into text. The composed node tree is kept next to the data so that later stages can
turn a field path into `line:col` - but only when there is a problem to report.

Most records are written in a plain subset of YAML that `_read_simple` reads line by line, at
a fraction of the parser's cost; it gives the parser's data or declines, and the node tree of
a record it read is composed only if a problem in it has to be located.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from .errors import ContentErrors, Problem

try:  # libyaml's parser is several times faster; the pure-Python one is the fallback.
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

MAX_FILE_BYTES = 256 * 1024
MAX_EXPANDED_NODES = 20_000
MAX_DEPTH = 100
MAX_NUMBER_CHARS = 100
RECORD_SUFFIX = ".yaml"
SITE_FILE = "site.yaml"
STANDARD_TAGS = frozenset(
    "tag:yaml.org,2002:" + name
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "value")
)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_NOT_YAML_CHAR = re.compile(
    "[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_BLOCK_PREFIX = re.compile(r"\n[ \t]*(?:[-?:][ \t]+)*")
_OTHER_BREAKS = ("\r", "\x85", "\u2028", "\u2029")  # line breaks to YAML 1.1, not to "\n"


@dataclass(frozen=True)
class Document:
    """One YAML file: its parsed data, and (on demand) the node tree that knows each value's
    position."""

    path: Path | str
    display: str
    data: Any
    text: str = field(repr=False)

    @cached_property
    def root(self) -> yaml.Node:
        """The node tree, composed from the text on first use: a valid record, read without
        one, never needs it; locating a problem does. (The text was read once already, so
        composing it again succeeds and gives the tree the parser would have given.)"""
        loader = _Loader(self.text)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()

    def locate(self, loc: Sequence[str | int], key: bool = False) -> tuple[int, int]:
        """1-based line and column of the value at `loc` (of its key when `key` is true).

        When the path does not exist (a missing field) the nearest existing parent is used.
        """
        node = self.root
        for i, part in enumerate(loc):
            last = i == len(loc) - 1
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == part:
                        child = key_node if (last and key) else value_node
                        break
            elif (isinstance(node, yaml.SequenceNode) and isinstance(part, int)
                  and 0 <= part < len(node.value)):
                child = node.value[part]
            if child is None:
                break
            node = child
        mark = node.start_mark
        return mark.line + 1, mark.column + 1


class _DuplicateKey(yaml.MarkedYAMLError):
    pass


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader with duplicate keys refused and timestamps left as text."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    first = seen[key_node.value].start_mark
                    raise _DuplicateKey(
                        problem=(
                            f"duplicate key '{key_node.value}' (first at line {first.line + 1});"
                            " YAML would silently keep only the last one"
                        ),
                        problem_mark=key_node.start_mark,
                    )
                seen[key_node.value] = key_node
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Any value; a malformed one (`!!int 12a`, `0x_`) is a located error, not a crash."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, IndexError, KeyError, TypeError, OverflowError):
            kind = node.tag.replace("tag:yaml.org,2002:", "")
            shown = str(node.value)[:40] if isinstance(node, yaml.ScalarNode) else "this value"
            raise yaml.constructor.ConstructorError(
                problem=f"'{shown}' is not a valid {kind}; quote it if it is text",
                problem_mark=node.start_mark,
            ) from None

    def construct_short_int(self, node: yaml.ScalarNode) -> int:
        """An integer, unless it is so long that Python would refuse to print it in a message."""
        if len(node.value) > MAX_NUMBER_CHARS:
            raise yaml.constructor.ConstructorError(
                problem=(f"a number {len(node.value):,} characters long;"
                         " put it in quotes if it is text"),
                problem_mark=node.start_mark,
            )
        return self.construct_yaml_int(node)  # type: ignore[no-any-return]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_str)
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_short_int)
# A plain `=` resolves to YAML 1.1's "value" type, which has no constructor: it is text.
_Loader.add_constructor("tag:yaml.org,2002:value", _Loader.construct_yaml_str)


def _depth_bound(text: str) -> int:
    """An upper bound of the text's nesting depth, found without parsing it.

    A flow collection needs a `[` or `{` (and may hold one implicit pair mapping); a nested
    block collection starts at a greater column than its parent, or at the same one for a
    sequence in a mapping, and a block collection starts no further right than the line's
    indentation and its chain of `- `, `? `, `: ` indicators.
    """
    flows = text.count("[") + text.count("{")
    if any(c in text for c in _OTHER_BREAKS):
        text = re.sub("\r\n?|[\x85\u2028\u2029]", "\n", text)
    widest = max(map(len, _BLOCK_PREFIX.findall("\n" + text))) - 1
    return 2 * flows + 2 * widest + 3


def _check_depth(text: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH, reading only the parser's events (no recursion)."""
    if _depth_bound(text) <= MAX_DEPTH:
        return
    parser = _BaseLoader(text)
    depth = 0
    try:  # a syntax error met on the way is raised here, as the composer would raise it
        while (event := parser.get_event()) is not None:
            if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise yaml.MarkedYAMLError(
                        problem=f"the YAML is nested more than {MAX_DEPTH} levels deep",
                        problem_mark=event.start_mark,
                    )
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                depth -= 1
    finally:
        parser.dispose()


def _merge_error(node: yaml.Node) -> yaml.MarkedYAMLError:
    return yaml.MarkedYAMLError(
        problem="merge keys ('<<') are not allowed; write the fields out (quote '<<' if it is text)",
        problem_mark=node.start_mark,
    )


def _check_nodes(root: yaml.Node) -> None:
    """Refuse tags and bound alias expansion ("billion laughs") before anything walks the data."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            raise yaml.MarkedYAMLError(
                problem="an alias refers to the value that contains it", problem_mark=node.start_mark
            )
        if node.tag == _MERGE_TAG:
            raise _merge_error(node)
        if node.tag not in STANDARD_TAGS:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise yaml.MarkedYAMLError(
                problem=f"the tag '{tag}' is not allowed; records are plain YAML",
                problem_mark=node.start_mark,
            )
        if node.tag in _COLLECTION_TAGS and node.tag != _COLLECTION_TAG.get(node.__class__):
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")  # `!!map ~`, `!!seq x`
            raise yaml.MarkedYAMLError(
                problem=f"the tag '{tag}' does not fit this value; records are plain YAML",
                problem_mark=node.start_mark,
            )
        in_progress.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k) + size(v)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += size(item)
        in_progress.discard(key)
        if total > MAX_EXPANDED_NODES:
            raise yaml.MarkedYAMLError(
                problem=(
                    f"anchors and aliases expand to more than {MAX_EXPANDED_NODES:,} values;"
                    " write the record out plainly"
                ),
                problem_mark=node.start_mark,
            )
        sizes[key] = total
        return total

    size(root)


def _is_tab_at(text: str, mark: yaml.Mark | None) -> bool:
    if mark is None:
        return False
    lines = text.splitlines()
    return mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]


def _yaml_problem(display: str, err: yaml.YAMLError, text: str) -> Problem:
    bad = _NOT_YAML_CHAR.search(text) if isinstance(err, yaml.reader.ReaderError) else None
    if bad is not None:  # the error's own position counts UTF-8 bytes, not characters
        offset = bad.start()
        line, col = text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)
        return Problem(display, line, col, "",
                       f"the character U+{ord(bad.group()):04X} is not allowed in YAML;"
                       " remove it (or write it as an escape inside double quotes)")
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        message = err.problem or err.context or "invalid YAML"
        if "cannot start any token" in message and _is_tab_at(text, mark):
            message = "a tab character here; YAML indents with spaces only"
        elif err.context and err.problem and not isinstance(err, _DuplicateKey):
            message = f"{err.problem} ({err.context})"
        if mark is not None:
            return Problem(display, mark.line + 1, mark.column + 1, "", message)
        return Problem(display, 0, 0, "", message)
    return Problem(display, 0, 0, "", f"invalid YAML: {err}")


_STR_TAG = "tag:yaml.org,2002:str"
_COLLECTION_TAG = {yaml.SequenceNode: "tag:yaml.org,2002:seq",
                   yaml.MappingNode: "tag:yaml.org,2002:map"}
_COLLECTION_TAGS = frozenset(_COLLECTION_TAG.values())


def _construct_plain(loader: _Loader, root: yaml.Node) -> Any:
    """Build a document's data straight from its nodes, several times faster than PyYAML's
    general constructor, and equal to it: text scalars are taken as they are, other scalars
    go through the loader's constructors, aliases (already bounded by `_check_nodes`) are
    expanded. Returns None when the document needs the general constructor after all (a key
    that is a collection, or an odd tag on a collection), which then reports the problem."""

    def value(node: yaml.Node) -> Any:
        cls = node.__class__
        if cls is yaml.ScalarNode:
            return node.value if node.tag == _STR_TAG else loader.construct_object(node)
        if node.tag != _COLLECTION_TAG[cls]:  # e.g. `!!str {a: 1}`: PyYAML's errors
            raise _NotPlain
        if cls is yaml.SequenceNode:
            return [value(item) for item in node.value]
        mapping: dict[Any, Any] = {}
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.__class__ is not yaml.ScalarNode:
                raise _NotPlain
            if key_node.tag == _MERGE_TAG:
                raise _merge_error(key_node)
            if key_node.value in seen:
                loader.construct_mapping(node)  # raises the located duplicate-key error
            seen.add(key_node.value)
            mapping[value(key_node)] = value(value_node)
        return mapping

    try:
        return value(root)
    except _NotPlain:
        return None


class _NotPlain(Exception):
    """A document the fast constructor leaves to PyYAML's."""


_KEY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,99}")
_KEY_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
"""What a key `_KEY_NAME` reads can start with: no other item is worth a `_simple_key`."""
_KEY_NAMES: dict[str, bool] = {}
"""Key names already checked (a record has the same few dozen); bounded, for untrusted input."""
_QUOTED_TAIL = re.compile(r" *| +#.*")  # after a closing quote or `]`: at most a comment
# Quoted text on one line; of the escapes only \" \\ \/ \n \t (the rest are not simple).
_DOUBLE_QUOTED = re.compile(r'"([^"\\]*(?:\\["\\/nt][^"\\]*)*)"(?: *$| +#)')
_SINGLE_QUOTED = re.compile(r"'([^']*(?:''[^']*)*)'(?: *$| +#)")
_ESCAPE = re.compile(r"\\(.)")
_ESCAPED = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t"}
_FLOW_ITEM = re.compile(
    r""" *(?:"([^"\\]*(?:\\["\\/nt][^"\\]*)*)"|'([^']*(?:''[^']*)*)'"""
    r"""|([^ ,\[\]{}#&*!|>'"%@`?:-](?:[^ ,\[\]{}#:?]| +[^ ,\[\]{}#:?])*)) *([,\]])"""
)
_NOT_PLAIN_START = frozenset("-?:,[]{}#&*!|>'\"%@` ")
_FLOW_NOT_BARE = re.compile(r"[\[\]{}#&*!|>'\"%@`?:]")
"""What a flow list's items may not hold for `flow` to split them on commas: quotes and
every character the item pattern treats apart from letters (a plain item may hold some of
them after its first character; such a list goes through the pattern)."""
_RESOLVED_START = frozenset("yYnNtTfFoO~-+.0123456789<=")
"""First characters for which YAML 1.1's implicit resolvers may make a plain scalar something
other than text (a bool, null, number, date, merge key or `=`)."""
_NOT_TEXT = frozenset((
    "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
    "on", "On", "ON", "off", "Off", "OFF", "~", "null", "Null", "NULL",
))
"""The plain scalars those resolvers make a bool or null (YAML 1.1, as PyYAML reads it)."""
_SHORT_INT = re.compile(r"[1-9][0-9]{0,17}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ASCII_NOT_SIMPLE = (*map(chr, range(10)), *map(chr, range(11, 32)), "\x7f")  # controls, tab, CR
_SIMPLE_DEPTH = 8


class _NotSimple(Exception):
    """A document the line reader leaves to the YAML parser."""


def _plain_value(text: str) -> Any:
    """A one-line plain scalar as the safe loader resolves it: text, a short decimal integer
    or a date kept as text; anything else YAML could read as another type is not simple."""
    if text[0] not in _RESOLVED_START:
        return text
    if text in _NOT_TEXT:
        raise _NotSimple
    if text[0] in "yYnNtTfFoO":
        return text
    if _SHORT_INT.fullmatch(text):
        return int(text)
    if _DATE.fullmatch(text):
        return text
    raise _NotSimple


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPED[m.group(1)], text) if "\\" in text else text


def _simple_key(line: str, start: int) -> tuple[str, str] | None:
    """`name: rest` at `start` in the line, as (name, rest), for a plain name that YAML reads
    as text."""
    colon = line.find(":", start)
    if colon < 0 or line[colon + 1:colon + 2] not in ("", " "):
        return None
    name = line[start:colon]
    ok = _KEY_NAMES.get(name)
    if ok is None:
        ok = _KEY_NAME.fullmatch(name) is not None and name not in _NOT_TEXT
        if len(_KEY_NAMES) < 1000:
            _KEY_NAMES[name] = ok
    return (name, line[colon + 1:].lstrip(" ")) if ok else None


def _printable(text: str) -> bool:
    """No character the fast reader leaves to the parser: controls (tab and CR among them),
    and outside ASCII anything Python does not call printable (NEL, LS, PS, BOM, ...)."""
    if text.isascii():  # one memchr-fast scan per character beats one translate of it all
        return not any(char in text for char in _ASCII_NOT_SIMPLE)
    return text.replace("\n", "").isprintable()


def _read_simple(text: str) -> dict[str, Any] | None:
    """The data of a record written in the plain subset of YAML records use, or None.

    The subset: a block mapping of plain keys whose values are one-line scalars (quoted, or
    plain text, short integers and dates), `|` literals, one-line flow lists of scalars, and
    nested block lists and mappings of the same; comments and blank lines anywhere outside a
    literal. That is what `fixdex new` writes and what hand-edited records hold, and reading
    it line by line costs a fraction of composing a node tree with marks (which only an
    invalid record needs). Anything else - a tab, an anchor, a tag, a multi-line scalar, a
    duplicate key, a value YAML would resolve to another type, odd indentation - returns
    None and the document goes through the YAML parser, which reads it (or reports the
    problem) as ever: this reader must give the parser's data or nothing.
    """
    if not text.endswith("\n") or not _printable(text):
        return None
    lines = text.split("\n")
    lines.pop()  # the empty text after the last line break
    n = len(lines)
    flow_items = 0

    def next_line(i: int) -> tuple[int, int]:
        """The next line (from i) holding more than white space or a comment, and its
        indentation; (n, -1) at the end."""
        while i < n:
            line = lines[i]
            body = line.lstrip(" ")
            if body and body[0] != "#":
                return i, len(line) - len(body)
            i += 1
        return n, -1

    def literal(i: int, parent: int, chomp: str) -> tuple[str, int]:
        """A `|` block scalar from line i on (its indentation given by its first line)."""
        if i >= n:
            raise _NotSimple
        first = lines[i]
        width = len(first) - len(first.lstrip(" "))
        if width <= parent or width == len(first):  # empty, or leading blank lines
            raise _NotSimple
        prefix = " " * width
        parts: list[str] = []
        while i < n:
            line = lines[i]
            if line.startswith(prefix):
                parts.append(line[width:])
            elif not line.strip(" "):
                parts.append("")
            else:
                break
            i += 1
        if chomp == "+":
            return "\n".join(parts) + "\n", i
        while not parts[-1]:
            parts.pop()
        return "\n".join(parts) + ("" if chomp == "-" else "\n"), i

    def flow(rest: str) -> list[Any]:
        """A one-line `[a, "b", 'c']`."""
        nonlocal flow_items
        items: list[Any] = []
        pos = 1
        end = rest.find("]")
        if end >= 0 and not rest[1:end].strip(" "):
            pos = end + 1
        elif end >= 0 and not _FLOW_NOT_BARE.search(rest, 1, end):
            # Bare words only (`[gateway, http-402]`): split, as the item pattern would.
            for item in rest[1:end].split(","):
                item = item.strip(" ")
                if not item or item[0] == "-":
                    raise _NotSimple
                items.append(_plain_value(item))
            pos = end + 1
        else:
            while True:
                m = _FLOW_ITEM.match(rest, pos)
                if m is None:
                    raise _NotSimple
                dq, sq, plain, sep = m.groups()
                if dq is not None:
                    items.append(_unescape(dq))
                elif sq is not None:
                    items.append(sq.replace("''", "'"))
                else:
                    items.append(_plain_value(plain))
                pos = m.end()
                if sep == "]":
                    break
        if not _QUOTED_TAIL.fullmatch(rest, pos):
            raise _NotSimple
        flow_items += len(items)
        return items

    def value(rest: str, i: int, parent: int, depth: int, in_mapping: bool) -> tuple[Any, int]:
        """The value that starts with `rest` on line i, in a collection at column `parent`;
        and the line after it."""
        if not rest or rest[0] == "#":  # on the next lines, or null
            if not in_mapping:
                raise _NotSimple  # `-` alone
            j, col = next_line(i + 1)
            if col > parent or (col == parent and lines[j].startswith("- ", col)):
                if depth >= _SIMPLE_DEPTH:
                    raise _NotSimple
                if lines[j].startswith("- ", col):
                    return sequence(j, col, col == parent, depth + 1)
                return mapping(j, col, col, depth + 1)
            return None, i + 1
        first = rest[0]
        if first == '"':
            end = rest.find('"', 1)
            if end > 0 and "\\" not in (got := rest[1:end]):
                if end + 1 == len(rest) or _QUOTED_TAIL.fullmatch(rest, end + 1):
                    return got, i + 1
                raise _NotSimple
            m = _DOUBLE_QUOTED.match(rest)
            if m is None:
                raise _NotSimple
            return _unescape(m.group(1)), i + 1
        if first == "'":
            m = _SINGLE_QUOTED.match(rest)
            if m is None:
                raise _NotSimple
            return m.group(1).replace("''", "'"), i + 1
        if first == "[":
            return flow(rest), i + 1
        if first == "|":
            chomp = rest.rstrip(" ")[1:]
            if chomp not in ("", "-", "+"):
                raise _NotSimple
            return literal(i + 1, parent, chomp)
        if first in _NOT_PLAIN_START:
            raise _NotSimple
        cut = rest.find(" #")
        if cut >= 0:
            rest = rest[:cut]
        rest = rest.rstrip(" ")
        if ": " in rest or rest[-1] == ":":
            raise _NotSimple
        return _plain_value(rest), i + 1

    def mapping(i: int, col: int, start: int, depth: int) -> tuple[dict[str, Any], int]:
        """A block mapping at column col; its first key starts at `start` on line i."""
        result: dict[str, Any] = {}
        while True:
            entry = _simple_key(lines[i], start)
            if entry is None or entry[0] in result:
                raise _NotSimple
            got, i = value(entry[1], i, col, depth, True)
            result[entry[0]] = got
            i, start = next_line(i)
            if start != col:
                if start < col:
                    return result, i
                raise _NotSimple

    def sequence(i: int, col: int, indentless: bool, depth: int) -> tuple[list[Any], int]:
        """A block list whose `- ` entries sit at column col."""
        result: list[Any] = []
        while True:
            line = lines[i]
            rest = line[col + 2:].lstrip(" ")
            if rest[:1] in _KEY_START and _simple_key(rest, 0) is not None:
                if depth >= _SIMPLE_DEPTH:
                    raise _NotSimple
                at = len(line) - len(rest)
                got, i = mapping(i, at, at, depth + 1)
            else:
                got, i = value(rest, i, col, depth, False)
            result.append(got)
            i, start = next_line(i)
            if start != col:
                if start < col:
                    return result, i
                raise _NotSimple
            if not lines[i].startswith("- ", col):
                if indentless:
                    return result, i
                raise _NotSimple

    try:
        i, start = next_line(0)
        if start != 0:
            return None
        data, _ = mapping(i, 0, 0, 1)
    except _NotSimple:
        return None
    if 3 * n + flow_items >= MAX_EXPANDED_NODES:  # the bound `_check_nodes` applies
        return None
    return data


def read_limited(path: Path | str, limit: int = MAX_FILE_BYTES + 1) -> tuple[bytes, int]:
    """A file's first `limit` bytes (no further: /dev/zero ends too) and its size.

    Plain os calls: every build reads every record file, and pathlib's read_bytes costs
    several times as much (0.4-0.8 s against 0.09 s for 10,000 records here).
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks: list[bytes] = []
        got = 0
        while got < limit and (chunk := os.read(fd, limit - got)):
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks), max(got, os.fstat(fd).st_size)
    finally:
        os.close(fd)


def read_document(path: Path | str, display: str, raw: bytes | None = None) -> Document:
    """Read one YAML file (or its bytes, when already read); raise `ContentErrors` with a
    located problem when it is unusable."""

    def fail(message: str, line: int = 0, col: int = 0) -> ContentErrors:
        return ContentErrors([Problem(display, line, col, "", message)])

    if raw is None:
        try:
            raw, size = read_limited(path)
        except OSError as err:
            raise fail(f"cannot read the file: {err.strerror}") from None
        if len(raw) > MAX_FILE_BYTES:
            raise fail(f"the file is {size:,} bytes; a record may be at most {MAX_FILE_BYTES:,}")
    if len(raw) > MAX_FILE_BYTES:
        raise fail(f"the file is {len(raw):,} bytes; a record may be at most {MAX_FILE_BYTES:,}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        col = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        raise fail(
            f"not UTF-8: byte 0x{raw[err.start]:02x} at byte offset {err.start} cannot be decoded;"
            " save the file as UTF-8", line, col
        ) from None
    if "\x00" in text:
        offset = text.index("\x00")
        line = text.count("\n", 0, offset) + 1
        raise fail("the file contains a NUL character", line, offset - text.rfind("\n", 0, offset))
    data = _read_simple(text)
    if data is not None:
        return Document(path, display, data, text)
    loader = _Loader(text)
    try:
        _check_depth(text)
        root = loader.get_single_node()
        if root is None:
            raise fail("the file is empty; it must hold a YAML mapping of fields")
        if "&" in text or "!" in text:  # without anchors or tags there is nothing to bound
            _check_nodes(root)
        data = _construct_plain(loader, root)
        if data is None:
            data = loader.construct_document(root)
    except yaml.YAMLError as err:
        raise ContentErrors([_yaml_problem(display, err, text)]) from None
    except RecursionError:
        raise fail("the YAML is nested too deeply") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single {type(data).__name__} value"
        line, col = root.start_mark.line + 1, root.start_mark.column + 1
        raise fail(f"the file must hold a YAML mapping of fields (name: value), found {kind}",
                   line, col)
    for key_node, _ in root.value:
        if not isinstance(key_node.value, str) or key_node.tag != "tag:yaml.org,2002:str":
            line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
            raise fail(f"field names must be text, found {key_node.value!r}", line, col)
    doc = Document(path, display, data, text)
    doc.__dict__["root"] = root  # composed already
    return doc


def find_record_files(content: Path, display: str) -> Iterator[tuple[str, str] | Problem]:
    """Yield every `content/<platform>/<slug>.yaml` (its path, as text: every build lists ten
    thousand, and a `Path` each cost more than the listing), and a problem for every misplaced
    file.

    Anything that would be silently ignored (a `.yml` file, a record at the wrong depth, a link
    that leaves `content/`) is reported instead, so nobody wonders why a page is missing.
    One `scandir` per folder, whose entries know their type: this runs on every build.
    """
    root = content.resolve()

    unreadable: list[Problem] = []

    def entries(folder: str) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(folder) as found:
                return sorted((e for e in found if not e.name.startswith(".")),
                              key=lambda e: e.name)
        except OSError as err:
            shown = os.path.relpath(folder, content).replace(os.sep, "/")
            where = display if shown == "." else f"{display}/{shown}"
            unreadable.append(Problem(where, 0, 0, "", f"cannot read the folder: {err.strerror}"))
            return []

    def misplaced(rel: str) -> Iterator[Problem]:
        """Everything below a folder that is itself too deep for records."""
        for entry in entries(os.path.join(content, rel)):
            here = f"{rel}/{entry.name}"
            if entry.is_symlink() and entry.is_dir():
                yield Problem(f"{display}/{here}", 0, 0, "",
                              "a linked folder; put records in content/ itself")
            elif entry.is_dir(follow_symlinks=False):
                yield from misplaced(here)
            elif entry.name.endswith((".yaml", ".yml")):
                yield Problem(f"{display}/{here}", 0, 0, "",
                              "records belong directly in content/<platform-slug>/, not deeper")

    top = entries(str(content))
    for entry in top:  # files first, as a walk of the tree reports them
        if not entry.is_dir(follow_symlinks=False) and entry.name.endswith((".yaml", ".yml")) \
                and entry.name != SITE_FILE:
            yield Problem(f"{display}/{entry.name}", 0, 0, "",
                          "records belong in a platform folder: content/<platform-slug>/")
    for folder in top:
        if folder.is_symlink():
            yield Problem(f"{display}/{folder.name}", 0, 0, "",
                          "a linked folder; put records in content/ itself")
            continue
        if not folder.is_dir(follow_symlinks=False):
            continue
        below = entries(folder.path)
        for entry in below:
            if entry.is_symlink() and entry.is_dir():
                yield Problem(f"{display}/{folder.name}/{entry.name}", 0, 0, "",
                              "a linked folder; put records in content/ itself")
        for entry in below:
            name = entry.name
            shown = f"{display}/{folder.name}/{name}"
            if entry.is_dir(follow_symlinks=False):
                continue
            if not name.endswith((".yaml", ".yml")):
                continue
            if name.endswith(".yml"):
                yield Problem(shown, 0, 0, "", f"record files end in .yaml (rename to {name[:-4]}.yaml)")
                continue
            if entry.is_symlink() and not Path(entry.path).resolve().is_relative_to(root):
                yield Problem(shown, 0, 0, "", "a link to a file outside content/")
                continue
            yield entry.path, shown
        for entry in below:
            if entry.is_dir(follow_symlinks=False):
                yield from misplaced(f"{folder.name}/{entry.name}")
    yield from unreadable

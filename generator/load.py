"""Stage 1: find the record files and read each one as YAML, keeping where every value sits.

PyYAML's safe loader is the base (libyaml's C parser when installed), hardened where it is
lenient: duplicate keys are errors instead of "last one wins", tags are refused, alias
expansion is bounded, dates stay text so that a bad date is a located validation error rather
than an exception, nesting is bounded before libyaml's recursive composer sees it (a deep
enough file would crash the interpreter), and over-long numbers are refused before Python
turns them into text. The composed node tree is kept next to the data so that later stages can
turn a field path into `line:col` - but only when there is a problem to report.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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
    """One YAML file: its parsed data, and the node tree that knows each value's position."""

    path: Path
    display: str
    data: Any
    root: yaml.Node

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


def read_document(path: Path, display: str, raw: bytes | None = None) -> Document:
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
    return Document(path, display, data, root)


def find_record_files(content: Path, display: str) -> Iterator[tuple[Path, str] | Problem]:
    """Yield every `content/<platform>/<slug>.yaml`, and a problem for every misplaced file.

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
            path = Path(entry.path)
            if entry.is_symlink() and not path.resolve().is_relative_to(root):
                yield Problem(shown, 0, 0, "", "a link to a file outside content/")
                continue
            yield path, shown
        for entry in below:
            if entry.is_dir(follow_symlinks=False):
                yield from misplaced(f"{folder.name}/{entry.name}")
    yield from unreadable

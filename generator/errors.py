"""One problem type for every stage, so problems can be collected and reported together.

Every stage appends `Problem`s instead of raising on the first one: a maintainer fixing a pull
request wants the whole list in one run. `ContentErrors` carries that list out of a stage that
cannot go on.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """A located problem: `file:line:col: field: message`.

    `line` and `col` are 1-based; 0 means "the whole file" (for example a file that cannot be
    read). `field` is a path such as `faq[2].a`, empty when the problem is not about a field.
    """

    file: str
    line: int = 0
    col: int = 0
    field: str = ""
    message: str = ""
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.col}"
        label = "" if self.severity is Severity.ERROR else "warning: "
        subject = f"{self.field}: " if self.field else ""
        return f"{where}: {label}{subject}{self.message}"


@dataclass
class ContentErrors(Exception):
    """Raised when a stage found problems it cannot build past."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


def display_path(path: Path, root: Path | None = None) -> str:
    """A path as a maintainer would type it: relative to the working directory when possible."""
    for base in (root, Path.cwd()):
        if base is None:
            continue
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` when a close choice exists, else an empty string."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


NEIGHBOURS = 10
"""How many choices on each side of a word, in alphabetical order and in the order of the
reversed texts, `Suggestions` hands to difflib."""
HINTS = 200
"""How many different words one `Suggestions` looks for a match for (difflib costs a few ms
a word); the rest get none."""


class WorkerLost(RuntimeError):
    """A worker process ended without sending its results (killed, or out of memory): an
    error of the system, which the CLI reports in one line."""

    def __init__(self, pid: int) -> None:
        super().__init__(f"a worker process (pid {pid}) ended without its results (killed?)")
        self.pid = pid

    def __reduce__(self) -> tuple[type[WorkerLost], tuple[int]]:
        return WorkerLost, (self.pid,)  # (to cross a pipe as itself, from a forked child)


class Suggestions:
    """`did_you_mean` for many words against one large set of choices, such as every slug.

    difflib compares a word with every choice in turn: at 10,000 records and a few thousand
    broken links (a platform folder renamed), that took minutes. Here difflib sees only the
    choices next to the word in alphabetical order and in the order of the reversed texts
    (a slip near a word's end keeps it beside its target in the first, one near its start in
    the second): up to `4 * NEIGHBOURS`, all of them for a smaller set. A close match that is
    near in neither order goes unsuggested. Past `HINTS` different words (thousands of
    broken links need fixing in bulk, not a guess each) the rest get no hint.
    """

    def __init__(self, choices: Iterable[str]) -> None:
        self._forward = sorted(choices)
        self._backward = sorted(choice[::-1] for choice in self._forward)
        self._found: dict[str, str] = {}

    def __call__(self, word: str) -> str:
        hint = self._found.get(word)
        if hint is None:
            hint = self._found[word] = self._find(word) if len(self._found) < HINTS else ""
        return hint

    def _find(self, word: str) -> str:
        if len(self._forward) <= 4 * NEIGHBOURS:
            return did_you_mean(word, self._forward)
        at = bisect.bisect_left(self._forward, word)
        near = set(self._forward[max(0, at - NEIGHBOURS):at + NEIGHBOURS])
        at = bisect.bisect_left(self._backward, word[::-1])
        near.update(c[::-1] for c in self._backward[max(0, at - NEIGHBOURS):at + NEIGHBOURS])
        return did_you_mean(word, sorted(near))


def field_path(loc: Sequence[str | int]) -> str:
    """`('faq', 2, 'a')` -> `faq[2].a`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def errors_only(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity is Severity.ERROR]

"""One problem type for every stage, so problems can be collected and reported together.

Every stage appends `Problem`s instead of raising on the first one: a maintainer fixing a pull
request wants the whole list in one run. `ContentErrors` carries that list out of a stage that
cannot go on.
"""

from __future__ import annotations

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

"""Problems printed for people (`file:line:col: field: message`), GitHub Actions, or tools."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .errors import Problem, Severity

FORMATS = ("text", "github", "json")


def _github_escape(text: str, property_value: bool = False) -> str:
    """Escape a workflow command's data (and its properties) as the Actions runner expects."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_problems(problems: Sequence[Problem], fmt: str = "text") -> str:
    """All problems in one of `FORMATS`; an empty string (or `[]`) when there are none."""
    if fmt == "json":
        return json.dumps([
            {"file": p.file, "line": p.line, "col": p.col, "field": p.field,
             "message": p.message, "severity": p.severity.value}
            for p in problems
        ], indent=2, ensure_ascii=False)
    if fmt == "github":
        lines = []
        for p in problems:
            command = "error" if p.severity is Severity.ERROR else "warning"
            props = [f"file={_github_escape(p.file, True)}"]
            if p.line:
                props += [f"line={p.line}", f"col={p.col}"]
            if p.field:
                props.append(f"title={_github_escape(p.field, True)}")
            text = f"{p.field}: {p.message}" if p.field else p.message
            lines.append(f"::{command} {','.join(props)}::{_github_escape(text)}")
        return "\n".join(lines)
    return "\n".join(str(p) for p in problems)


def summary_line(problems: Sequence[Problem]) -> str:
    errors = sum(1 for p in problems if p.severity is Severity.ERROR)
    warnings = len(problems) - errors
    files = len({p.file for p in problems})
    return (f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning"
            f"{'s' if warnings != 1 else ''} in {files} file{'s' if files != 1 else ''}")

"""The pipeline: load -> validate -> link, then render -> write.

Two passes, as in zola: the first gathers and checks everything and collects every problem;
only a clean first pass reaches the second, which renders and writes. `check` is the same run
without the write.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import TemplateError, TemplateSyntaxError

from .errors import ContentErrors, Problem, display_path, errors_only
from .link import Site, link
from .load import SITE_FILE, find_record_files
from .model import ValidationContext
from .quality import content_warnings
from .render import Renderer
from .validate import Entry, check_entries, load_site, validate_record
from .write import Output

STATIC_DIR = "static"


@dataclass(frozen=True)
class Project:
    """Where a site's inputs are and where its output goes."""

    content: Path = Path("content")
    templates: Path = Path("templates")
    out: Path = Path("site")


@dataclass
class BuildResult:
    site: Site | None
    problems: list[Problem] = field(default_factory=list)
    files: int = 0

    @property
    def ok(self) -> bool:
        return not errors_only(self.problems)


def gather(project: Project, ctx: ValidationContext | None = None) -> BuildResult:
    """Pass 1: read and validate every record, check them together, link them into a site."""
    problems: list[Problem] = []
    shown = display_path(project.content)
    config = None
    try:
        config = load_site(project.content / SITE_FILE, f"{shown}/{SITE_FILE}")
    except ContentErrors as err:
        problems.extend(err.problems)
    if ctx is None:
        ctx = ValidationContext(categories=config.category_names if config else ())

    entries: list[Entry] = []
    invalid: list[str] = []
    for item in find_record_files(project.content, shown):
        if isinstance(item, Problem):
            problems.append(item)
            continue
        try:
            entries.append(validate_record(*item, ctx))
        except ContentErrors as err:
            problems.extend(err.problems)
            invalid.append(item[0].stem)
    problems.extend(check_entries(entries, invalid))
    problems.extend(content_warnings(entries, ctx.today))
    if config is None:
        return BuildResult(None, sorted(problems))
    site, link_problems = link(config, entries)
    problems.extend(link_problems)
    return BuildResult(site, sorted(problems))


def _template_problem(project: Project, err: TemplateError) -> Problem:
    name = getattr(err, "filename", None) or getattr(err, "name", None) or ""
    line = getattr(err, "lineno", 0) or 0
    where = display_path(Path(name)) if name else display_path(project.templates)
    kind = "template syntax error" if isinstance(err, TemplateSyntaxError) else "template error"
    return Problem(where, line, 1 if line else 0, "", f"{kind}: {err.message or err}")


def rendered_files(site: Site, project: Project) -> Iterator[tuple[str, str | bytes]]:
    """Pass 2's content: every page, then the static assets."""
    yield from Renderer(site, project.templates).files()
    static = project.templates / STATIC_DIR
    if static.is_dir():
        for path in sorted(static.rglob("*")):
            if path.is_file() and not path.is_symlink():
                yield f"{STATIC_DIR}/{path.relative_to(static).as_posix()}", path.read_bytes()


def build(project: Project, write: bool = True, ctx: ValidationContext | None = None) -> BuildResult:
    """Gather, then render and (unless `write` is false) write the site in one swap."""
    result = gather(project, ctx)
    if not result.ok or result.site is None:
        return result
    try:
        if not write:
            result.files = sum(1 for _ in rendered_files(result.site, project))
            return result
        with Output(project.out, protected=(project.content, project.templates)) as output:
            for rel, data in rendered_files(result.site, project):
                output.write(rel, data)
                result.files += 1
            output.commit()
    except TemplateError as err:
        result.problems.append(_template_problem(project, err))
    return result

"""The `fixdex` command line. Exit codes: 0 ok, 1 content errors, 2 usage errors."""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from . import __version__
from .cache import Cache, Scan, inputs_fingerprint
from .errors import ContentErrors, Severity, WorkerLost, display_path
from .load import SITE_FILE
from .project import Project
from .report import FORMATS, format_problems, summary_line
from .write import MARKER, OutputError, journal_path

if TYPE_CHECKING:
    from .build import BuildResult

# The pipeline's modules (Pydantic models, Jinja2, markdown-it) are imported inside the
# commands that need them: `fixdex build` with nothing to do answers before loading them.

EXIT_OK, EXIT_CONTENT, EXIT_USAGE = 0, 1, 2
CACHE_DIR = ".fixdex-cache"


class UsageError(Exception):
    """A mistake in how the command was called (exit 2)."""


BUNDLED_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _templates(given: Path | None) -> Path:
    """`--templates`, else ./templates, else the templates fixdex itself ships with."""
    if given is not None:
        return given
    here = Path("templates")
    return here if here.is_dir() or not BUNDLED_TEMPLATES.is_dir() else BUNDLED_TEMPLATES


def _project(args: argparse.Namespace) -> Project:
    no_cache = getattr(args, "no_cache", True)
    project = Project(content=args.content, templates=_templates(args.templates),
                      out=getattr(args, "out", Path("site")),
                      cache=None if no_cache else Path(CACHE_DIR))
    if not project.content.is_dir():
        raise UsageError(f"no content folder at {project.content} (use --content DIR)")
    if not project.templates.is_dir():
        raise UsageError(f"no templates folder at {project.templates} (use --templates DIR)")
    return project


def _jobs(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("must be a whole number of at least 1")
    return int(text)


def _add_paths(parser: argparse.ArgumentParser, out: bool = False) -> None:
    parser.add_argument("--content", type=Path, default=Path("content"), metavar="DIR",
                        help="the records and site.yaml (default: content)")
    parser.add_argument("--templates", type=Path, default=None, metavar="DIR",
                        help="Jinja2 templates and static/ assets (default: ./templates, else"
                        " the ones fixdex ships)")
    if out:
        parser.add_argument("--out", type=Path, default=Path("site"), metavar="DIR",
                            help="where the site is written (default: site)")
        parser.add_argument("--no-cache", action="store_true",
                            help=f"ignore {CACHE_DIR}/: parse every record and write every page")
    parser.add_argument("--jobs", type=_jobs, default=os.cpu_count() or 1, metavar="N",
                        help="worker processes (default: one per core)")


def _fingerprint(project: Project, scan: Scan | None = None) -> bytes:
    where = "|".join(str(p.resolve()) for p in (project.content, project.templates, project.out))
    return inputs_fingerprint(project.content, project.templates,
                              extra=f"{dt.date.today().isoformat()}|{where}", scan=scan)


_KEPT: list[object] = []


def _kept(result: BuildResult) -> BuildResult:
    """A finished build's result, left for the process's end: `run` exits without tearing the
    interpreter down, so neither the cyclic collector (which `build` pauses, and which would
    next scan every object the build left: 40 ms at 10,000 records) nor freeing it object by
    object (60 ms) does anything useful. `serve` calls `build` itself, collector and all."""
    gc.freeze()
    _KEPT.append(result)
    return result


def cmd_build(args: argparse.Namespace) -> int:
    project = _project(args)
    fingerprint = b""
    scan = None
    if project.cache is not None:
        scan = Scan()
        fingerprint = _fingerprint(project, scan)
        last = Cache(project.cache).manifest(project.out)
        if (fingerprint and last is not None and last.fingerprint == fingerprint
                and (project.out / MARKER).is_file() and not journal_path(project.out).exists()):
            if last.report:
                print(last.report, file=sys.stderr)
            print(f"{last.summary} (nothing changed)", file=sys.stderr)
            return EXIT_OK

    from .build import build, build_summary

    result = _kept(build(project, write=True, jobs=args.jobs, fingerprint=fingerprint, scan=scan))
    report = format_problems(result.problems)
    if report:
        print(report, file=sys.stderr)
    if not result.ok:
        print(f"build failed: {summary_line(result.problems)}; {project.out} was not changed",
              file=sys.stderr)
        return EXIT_CONTENT
    print(f"{build_summary(result, project)} ({result.written} written)", file=sys.stderr)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from .build import build
    from .redirects import vanished_pages

    project = _project(args)
    result = _kept(build(project, write=False, jobs=args.jobs))
    if result.site is not None:
        from .lookup import examples_problems

        result.problems.extend(examples_problems(result.site.entries, result.tokens))
        result.problems.sort()
    if args.previous_sitemap is not None and result.site is not None:
        if not args.previous_sitemap.is_file():
            raise UsageError(f"no previous sitemap at {args.previous_sitemap}")
        result.problems.extend(vanished_pages(result.site, args.previous_sitemap))
    problems = result.problems
    output = format_problems(problems, args.format)
    if args.format == "json":
        print(output)
    elif output:
        print(output, file=sys.stderr if args.format == "text" else sys.stdout)
    failed = not result.ok or (args.strict and any(
        p.severity is Severity.WARNING for p in problems))
    if args.format == "text":
        if problems:
            print(summary_line(problems), file=sys.stderr)
        elif result.site is not None:
            print(f"ok: {len(result.site.entries)} records, no problems", file=sys.stderr)
    return EXIT_CONTENT if failed else EXIT_OK


def _lookup_index(args: argparse.Namespace) -> dict:
    """The index the last build wrote, or (without one, or with --content) a fresh one."""
    index_file = args.site / "search" / "index.json"
    if args.content is None and index_file.is_file():
        try:
            return json.loads(index_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise UsageError(f"cannot read {index_file}: {err}") from None
    from .build import gather
    from .lookup import build_index

    content = args.content or Path("content")
    if not content.is_dir():
        raise UsageError(f"no content folder at {content} and no index at {index_file}")
    result = gather(Project(content=content))  # templates are not needed to index records
    if result.site is None or not result.ok:
        print(format_problems(result.problems), file=sys.stderr)
        raise UsageError("the records have errors; fix them (fixdex check) to look errors up")
    return build_index(result.site.entries, result.site.base_path, result.tokens)


def cmd_lookup(args: argparse.Namespace) -> int:
    from .lookup import search

    text = sys.stdin.read() if args.text == "-" else args.text
    if not text.strip():
        raise UsageError("nothing to look up: give the error text, or - to read standard input")
    matches = search(_lookup_index(args), text, limit=args.limit)
    if args.json:
        print(json.dumps([{"slug": m.slug, "title": m.title, "signature": m.signature,
                           "url": m.url, "score": round(m.score, 3)} for m in matches],
                         ensure_ascii=False, indent=2))
    elif not matches:
        print("no confident match", file=sys.stderr)
    else:
        for m in matches:
            print(f"{m.score:5.2f}  {m.title}\n       {m.url}")
    return EXIT_OK if matches else EXIT_CONTENT


def cmd_schema(args: argparse.Namespace) -> int:
    from .model import record_json_schema
    from .validate import load_site

    categories: tuple[str, ...] = ()
    site_file = args.content / SITE_FILE
    if site_file.is_file():
        try:
            categories = load_site(site_file, display_path(site_file)).category_names
        except ContentErrors as err:
            print(format_problems(err.problems), file=sys.stderr)
            return EXIT_CONTENT
    print(json.dumps(record_json_schema(categories), indent=2, ensure_ascii=False))
    return EXIT_OK


def cmd_new(args: argparse.Namespace) -> int:
    from .scaffold import ScaffoldError, write_scaffold
    from .validate import load_site

    site_file = args.content / SITE_FILE
    if not site_file.is_file():
        raise UsageError(f"no {site_file}: run this in a fixdex project or pass --content DIR")
    try:
        categories = load_site(site_file, display_path(site_file)).category_names
    except ContentErrors as err:
        print(format_problems(err.problems), file=sys.stderr)
        return EXIT_CONTENT
    try:
        path = write_scaffold(args.content, args.platform, args.signature, args.category,
                              categories)
    except ScaffoldError as err:
        raise UsageError(str(err)) from None
    print(display_path(path))
    print("fill in every TODO, then run: fixdex check  (preview: fixdex serve)", file=sys.stderr)
    return EXIT_OK


def _report_build(result: BuildResult) -> None:
    if result.problems:
        print(format_problems(result.problems), file=sys.stderr)
    if result.ok and result.site is not None:
        print(f"built {len(result.site.entries)} error pages", file=sys.stderr, flush=True)
    else:
        print(f"build failed: {summary_line(result.problems)}; the browser shows the problems",
              file=sys.stderr, flush=True)


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import Preview, make_server, watch

    project = _project(args)
    preview = Preview(project)
    _report_build(preview.rebuild())
    try:
        server = make_server(preview, args.port)
    except OSError as err:
        raise UsageError(f"cannot listen on 127.0.0.1:{args.port}: {err.strerror}") from None
    port = server.server_address[1]
    print(f"serving http://127.0.0.1:{port}{preview.base_path}  (Ctrl-C to stop)", flush=True)
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(preview, stop, _report_build), daemon=True)
    watcher.start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fixdex",
        description="Build a static troubleshooting site from one YAML record per error.",
    )
    parser.add_argument("--version", action="version", version=f"fixdex {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser("build", help="validate the records and write the site",
                            description="Validate every record, then write the whole site to "
                            "--out in one swap: a failed build leaves the old site as it was.")
    _add_paths(p, out=True)
    p.set_defaults(func=cmd_build)

    p = commands.add_parser("check", help="validate everything, write nothing",
                            description="Run the whole build without writing. Exit 1 on errors "
                            "(and on warnings with --strict).")
    _add_paths(p)
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="text (file:line:col: field: message), github (workflow annotations) "
                   "or json")
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.add_argument("--previous-sitemap", type=Path, metavar="FILE",
                   help="the sitemap.xml last published: fail if one of its pages would vanish"
                   " without an alias redirecting it")
    p.set_defaults(func=cmd_check)

    p = commands.add_parser("new", help="write a scaffold for a new error record",
                            description="Write content/<platform-slug>/<slug>.yaml with every "
                            "section present and a TODO in each part to fill in. An unfilled "
                            "scaffold fails `fixdex check`, one message per part.")
    p.add_argument("platform", help="the platform, e.g. OpenRouter")
    p.add_argument("signature", help="the error exactly as it prints (quote it)")
    p.add_argument("--category", help="one of the categories in site.yaml")
    p.add_argument("--content", type=Path, default=Path("content"), metavar="DIR",
                   help="the content folder (default: content)")
    p.set_defaults(func=cmd_new)

    p = commands.add_parser("serve", help="preview the site, rebuilding on every change",
                            description="Build, serve the site on 127.0.0.1, watch content/ and "
                            "templates/, rebuild on change and reload the open page. A broken "
                            "record shows its located problems in the browser.")
    _add_paths(p, out=True)
    p.add_argument("--port", type=int, default=8000, help="port to listen on (0: any free port)")
    p.set_defaults(func=cmd_serve)

    p = commands.add_parser("lookup", help="find the record for a pasted error message",
                            description="Rank records by how well their signature, other forms "
                            "and examples match TEXT (timestamps, ids, paths and quoting are "
                            "ignored). Exit 0 with matches, 1 when nothing matches confidently.")
    p.add_argument("text", metavar="TEXT", help="the pasted error, or - to read standard input")
    p.add_argument("--json", action="store_true",
                   help="print [{slug, title, signature, url, score}], best first")
    p.add_argument("--limit", type=_jobs, default=5, metavar="N", help="at most N matches")
    p.add_argument("--site", type=Path, default=Path("site"), metavar="DIR",
                   help="the built site whose search/index.json is used (default: site)")
    p.add_argument("--content", type=Path, default=None, metavar="DIR",
                   help="index these records instead of the built site's index")
    p.set_defaults(func=cmd_lookup)

    p = commands.add_parser("schema", help="print the JSON Schema of a record",
                            description="Print the JSON Schema of an error record, with the "
                            "categories of site.yaml, for editors and other tools.")
    p.add_argument("--content", type=Path, default=Path("content"), metavar="DIR",
                   help="where site.yaml is (its categories become an enum)")
    p.set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (UsageError, OutputError, WorkerLost) as err:
        print(f"fixdex {args.command}: {err}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:  # the system's, not the content's: a full disk, a lost folder
        where = f" ({err.filename})" if err.filename else ""
        print(f"fixdex {args.command}: {err.strerror or err}{where}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def run() -> NoReturn:
    """The `fixdex` command: `main`, then exit without tearing the interpreter down.

    A build leaves tens of thousands of objects (a site of 10,000 records) that the usual
    exit would free one by one, a quarter of a second at 10,000 records, for nothing: the
    process ends. (mypy exits the same way.) Work left running is in detached processes.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

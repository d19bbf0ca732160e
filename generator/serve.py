"""`fixdex serve`: build, serve on 127.0.0.1, rebuild on change, reload the open page.

The watcher polls modification times (no extra dependency, works on every filesystem). Each
successful rebuild bumps a version number; HTML pages get a small same-origin script (allowed
by the pages' `script-src 'self'`) that polls the version and reloads when it changes. A
broken record does not stop the server: every page then shows the located problems until the
record is fixed.
"""

from __future__ import annotations

import html
import posixpath
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .build import BuildResult, Project, build
from .errors import errors_only
from .report import format_problems

RELOAD_PATH = "/__fixdex/"
RELOAD_SCRIPT = """\
"use strict";
(function () {
  var seen = null;
  function poll() {
    fetch("/__fixdex/version", {cache: "no-store"}).then(function (r) { return r.text(); })
      .then(function (v) {
        if (seen !== null && v !== seen) { location.reload(); return; }
        seen = v;
        setTimeout(poll, 500);
      }, function () { setTimeout(poll, 1000); });
  }
  poll();
})();
"""
ERROR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fixdex: build failed</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>The build failed</h1>
<p>Fix these problems and save; this page reloads by itself.</p>
<pre id="problems">{problems}</pre></main>
<script src="/__fixdex/reload.js"></script></body></html>
"""


def snapshot(*folders: Path) -> dict[str, float]:
    """Modification times of every file below the folders: what the watcher compares."""
    times: dict[str, float] = {}
    for folder in folders:
        for path in folder.rglob("*"):
            try:
                if path.is_file():
                    times[str(path)] = path.stat().st_mtime_ns
            except OSError:  # deleted between listing and stat: the next poll sees it
                continue
    return times


@dataclass
class Preview:
    """The state shared by the watcher and the request handlers."""

    project: Project
    version: int = 0
    problems: str = ""
    base_path: str = "/"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def rebuild(self) -> BuildResult:
        result = build(self.project, write=True)
        with self.lock:
            failed = errors_only(result.problems)
            self.problems = format_problems(failed) if failed else ""
            if result.site is not None:
                self.base_path = result.site.base_path
            self.version += 1
        return result


class Handler(SimpleHTTPRequestHandler):
    """Serves the built site, the reload script, and the error page after a failed build."""

    preview: Preview

    def log_message(self, format: str, *args: object) -> None:  # quiet: the CLI reports builds
        return

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == RELOAD_PATH + "version":
            self._send(200, str(self.preview.version).encode(), "text/plain")
            return
        if path == RELOAD_PATH + "reload.js":
            self._send(200, RELOAD_SCRIPT.encode(), "text/javascript")
            return
        with self.preview.lock:
            problems = self.preview.problems
        if problems and (path.endswith("/") or path.endswith(".html")):
            body = ERROR_PAGE.format(problems=html.escape(problems)).encode()
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, body, "text/html; charset=utf-8")
            return
        super().do_GET()

    def translate_path(self, path: str) -> str:
        """Map URLs under base_url's path onto the output folder."""
        path = unquote(urlsplit(path).path)
        base_path = self.preview.base_path
        if path.startswith(base_path):
            path = "/" + path[len(base_path):]
        return super().translate_path(posixpath.normpath(path) + ("/" if path.endswith("/") else ""))

    def send_head(self):  # type: ignore[no-untyped-def]
        """Add the reload script to HTML pages; serve the 404 page for missing ones."""
        local = Path(self.translate_path(self.path))
        if local.is_dir():
            local = local / "index.html"
        if local.suffix == ".html" and local.is_file():
            body = local.read_bytes().replace(
                b"</body>", b'<script src="/__fixdex/reload.js"></script>\n</body>', 1)
            self._send(200, body, "text/html; charset=utf-8")
            return None
        if not local.exists():
            not_found = Path(self.directory) / "404.html"
            if not_found.is_file():
                body = not_found.read_bytes().replace(
                    b"</body>", b'<script src="/__fixdex/reload.js"></script>\n</body>', 1)
                self._send(404, body, "text/html; charset=utf-8")
                return None
        return super().send_head()


def watch(preview: Preview, stop: threading.Event, report: Callable[[BuildResult], None],
          interval: float = 0.3) -> None:
    """Rebuild whenever a file under content/ or templates/ changes, until `stop` is set."""
    folders = (preview.project.content, preview.project.templates)
    last = snapshot(*folders)
    while not stop.wait(interval):
        now = snapshot(*folders)
        if now != last:
            time.sleep(0.05)  # let an editor finish writing its file
            last = snapshot(*folders)
            report(preview.rebuild())


def make_server(preview: Preview, port: int) -> ThreadingHTTPServer:
    """A server on 127.0.0.1 only: a preview is for this machine, not the network."""
    preview.project.out.mkdir(parents=True, exist_ok=True)
    handler = type("PreviewHandler", (Handler,), {"preview": preview})
    server = ThreadingHTTPServer(("127.0.0.1", port),
                                 partial(handler, directory=str(preview.project.out)))
    server.daemon_threads = True
    return server

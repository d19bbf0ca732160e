"""Count the instructions fixdex spends per record read or per error page rendered.

    python bench/instructions.py read|pages [--n 300] [--tree DIR]

Wall and CPU times of this VM move by 20-30% from minute to minute, so a change of a few
percent cannot be timed. The number of instructions a piece of code executes can be counted
instead, and is the same from run to run: this script runs a worker's loop under valgrind's
callgrind (Debian: `apt-get install -y valgrind`), once over `--n` items and once over one,
and prints the difference per item. `read`: `build._process` on records of the 1,000-record
bench corpus (read, validate, note, make the page's part). `pages`: `build._page_bytes` on
its error pages, after a gather in one process. It counts user-space instructions only:
system calls (writing files) and cache misses do not show. PYTHONHASHSEED is fixed, and the
code tree is compiled to bytecode first (otherwise the first run pays for compiling).
A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from run import REPO, ensure_corpus

LOOP = """
import gc, os, sys
from pathlib import Path
os.chdir(sys.argv[3])
import generator.build as b
mode, n = sys.argv[1], int(sys.argv[2])
gc.disable()
if mode == "read":
    from generator.load import find_record_files
    from generator.model import ValidationContext
    from generator.validate import load_site
    config = load_site(Path("content/site.yaml"), "content/site.yaml")
    b._CTX = ValidationContext(categories=config.category_names)
    b._CTX_KEY = b"k"
    items = list(find_record_files(Path("content"), "content"))
    for path, shown in items[:n]:
        b._process((None, path, shown, None))
else:
    from generator.project import Project
    from generator.render import Renderer
    project = Project(templates=Path("templates"))
    result = b.gather(project, None, 1, None)
    renderer = Renderer(result.site, Path("templates"), result.tokens, None)
    renderer.compile()
    for entry in b._with_records(project, result, result.site.entries)[:n]:
        b._page_bytes(renderer, entry)
"""


def count(tree: Path, mode: str, n: int, corpus: Path) -> int:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                           sys.executable, "-c", LOOP, mode, str(n), str(corpus)],
                          env=env, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count from valgrind:\n{done.stderr}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=("read", "pages"))
    parser.add_argument("--n", type=int, default=300, help="items to count (default 300)")
    parser.add_argument("--tree", type=Path, default=REPO,
                        help="a folder holding the generator/ to measure (default: this one)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install -y valgrind)")
    corpus = ensure_corpus(1000)
    if not (corpus / "templates").is_dir():
        shutil.copytree(REPO / "templates", corpus / "templates")
    compileall.compile_dir(args.tree / "generator", quiet=1)
    one = count(args.tree, args.mode, 1, corpus)
    many = count(args.tree, args.mode, args.n, corpus)
    print(f"{args.tree}: {args.mode}: {(many - one) // (args.n - 1):,} instructions per item"
          f" ({args.n} items)")


if __name__ == "__main__":
    main()

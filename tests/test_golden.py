"""One small site built and compared file by file with the committed expected output.

After an intended change to templates or rendering, regenerate and review the diff:
    FIXDEX_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from helpers import FIXTURES, make_project, tree

from generator.build import Project, build

GOLDEN = FIXTURES / "golden-site"


def test_valid_site_matches_golden_output(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    result = build(Project(project / "content", project / "templates", project / "site"))
    assert result.ok, [str(p) for p in result.problems]
    built = {k: v for k, v in tree(project / "site").items() if not k.startswith("static/")}
    if os.environ.get("FIXDEX_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for rel, data in built.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(data)
    expected = tree(GOLDEN)
    assert sorted(built) == sorted(expected)
    for rel, data in expected.items():
        assert built[rel].decode() == data.decode(), rel

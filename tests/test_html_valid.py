"""Every page the shipped content builds passes the Nu HTML Checker with zero errors.

The checker is the npm package vnu-jar, run on the installed Java; .ci/run installs both.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import FIXTURES, REPO, fixdex

VNU = REPO / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


@pytest.mark.parametrize("content", [REPO / "content", FIXTURES / "valid-site" / "content"],
                         ids=["shipped", "fixture"])
def test_every_page_is_valid_html(content: Path, tmp_path: Path) -> None:
    if not VNU.is_file() or shutil.which("java") is None:
        pytest.fail("the Nu HTML Checker is missing: npm install --no-save vnu-jar (see .ci/run)"
                    " and a Java runtime")
    out = tmp_path / "site"
    run = fixdex("build", "--no-cache", "--content", content, "--out", out)
    assert run.code == 0, run.err
    pages = list(out.rglob("*.html"))
    assert len(pages) > 10
    checked = subprocess.run(
        ["java", "-jar", str(VNU), "--errors-only", "--skip-non-html", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert checked.returncode == 0, checked.stderr + checked.stdout

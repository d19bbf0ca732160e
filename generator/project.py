"""Where a site's inputs are and where its output goes (no heavy imports: the CLI needs it
before deciding whether there is anything to build)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Project:
    """A site's folders; `cache` None means no build cache."""

    content: Path = Path("content")
    templates: Path = Path("templates")
    out: Path = Path("site")
    cache: Path | None = None

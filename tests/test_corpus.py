"""The benchmark's corpus, `bench/make_corpus.py`: what issue 6 asks of it (valid records,
the same files for the same N, unique signatures that differ by words), and no record whose
forms look up to another one, so that `fixdex check` on it has nothing to say about lookups."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import yaml
from helpers import REPO, TEMPLATES, fixdex

from generator.lookup import normalise

SCRIPT = REPO / "bench" / "make_corpus.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_corpus", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _words_of(text: str) -> frozenset[str]:
    """The tokens a lookup sees in a text, without numbers: what is left to tell it apart."""
    return frozenset(t for t in normalise(text) if not t.isdigit())


def test_no_two_records_share_their_signature_words() -> None:
    corpus = _script()
    sets = {frozenset(corpus._words(i)) for i in range(corpus.MAX_RECORDS)}
    assert len(sets) == corpus.MAX_RECORDS
    assert all(len(words) == 4 for words in sets)


def test_signatures_and_forms_differ_by_words() -> None:
    corpus = _script()
    n = 3000
    signatures: dict[frozenset[str], int] = {}
    forms: dict[frozenset[str], int] = {}
    for i in range(n):
        text = corpus.record(i, n)[2]
        data = yaml.safe_load("".join(line + "\n" for line in text.splitlines()
                                      if line.startswith(("signature:", "also_seen_as:"))))
        words = _words_of(data["signature"])
        assert signatures.setdefault(words, i) == i, (
            f"records {signatures[words]} and {i}: signatures differ only by numbers")
        for form in (data["signature"], *data["also_seen_as"]):
            tokens = _words_of(form)
            assert forms.setdefault(tokens, i) == i, (
                f"records {forms[tokens]} and {i} share a form: {form!r}")


def test_the_same_n_gives_the_same_files(tmp_path: Path) -> None:
    for name in ("a", "b"):
        subprocess.run([sys.executable, str(SCRIPT), "40", str(tmp_path / name)], check=True)
    a = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*.yaml")}
    b = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*.yaml")}
    assert len(a) == 41 and a == b  # 40 records and site.yaml


def test_a_corpus_checks_without_errors_or_lookup_clashes(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(SCRIPT), "1500", str(tmp_path)], check=True)
    (tmp_path / "templates").symlink_to(TEMPLATES)
    done = fixdex("check", cwd=tmp_path)
    output = done.out + done.err
    assert done.code == 0, output
    assert "0 errors" in output
    assert "looks up to" not in output


def test_more_records_than_word_sets_are_refused(tmp_path: Path) -> None:
    corpus = _script()
    done = subprocess.run([sys.executable, str(SCRIPT), str(corpus.MAX_RECORDS + 1),
                           str(tmp_path / "c")], capture_output=True, text=True)
    assert done.returncode == 1
    assert f"at most {corpus.MAX_RECORDS:,} records" in done.stderr
    assert not (tmp_path / "c").exists()

"""Writing: nothing lands outside the output folder, nothing is overwritten silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import write
from generator.write import Output, OutputError, Update, remove_file, replace_file, write_new


@pytest.mark.parametrize("rel", ["../x", "/etc/passwd", "a/../../x", "a//b", "a/./b", "a\\b",
                                 "", "a\x00b", "\\x"])
def test_writes_refuse_paths_that_leave_the_folder(tmp_path: Path, rel: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for put in (write_new, replace_file):
        with pytest.raises(OutputError, match="refusing to write outside the output folder"):
            put(out, rel, b"x")
    assert list(tmp_path.rglob("*")) == [out]


def test_an_update_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    """A clone of the published site could hold a link someone planted in it: replacing a
    file below that link must not write where it points."""
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out" / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OutputError, match="refusing to write through a link"):
        replace_file(tmp_path / "out", "link/x.html", b"x")
    with pytest.raises(OutputError, match="refusing to write through a link"):
        remove_file(tmp_path / "out", "link/x.html")
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_write_new_never_overwrites(tmp_path: Path) -> None:
    write_new(tmp_path, "a/index.html", "one")
    with pytest.raises(OutputError, match=r"two outputs would be written at a/index\.html"):
        write_new(tmp_path, "a/index.html", "two")
    with pytest.raises(OutputError):
        write_new(tmp_path, "a/index.html/x", "three")
    assert (tmp_path / "a/index.html").read_text() == "one"


def test_output_refuses_protected_and_foreign_folders(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    with pytest.raises(OutputError, match="would replace"):
        Output(tmp_path, protected=(content,))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("x")
    with pytest.raises(OutputError, match="was not written by fixdex"):
        Output(tmp_path / "mine")


def test_output_swaps_whole_and_cleans_up_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "site"
    with Output(out) as output:
        output.write("index.html", "first")
        output.commit(1)
    with pytest.raises(RuntimeError), Output(out) as output:
        output.write("index.html", "second")
        raise RuntimeError("the build failed here")
    assert (out / "index.html").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.lock", "site"]


def _published(tmp_path: Path) -> Path:
    out = tmp_path / "site"
    with Output(out) as output:
        output.write("index.html", "home")
        output.write("a/index.html", "page a")
        output.write("b/index.html", "page b")
        output.commit(3)
    return out


@pytest.mark.parametrize("with_cp", [True, False], ids=["cp", "copytree"])
def test_an_update_swaps_in_a_clone_and_leaves_the_old_files_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_cp: bool) -> None:
    """The clone is made by GNU cp where there is one and by copytree elsewhere; either way
    the changed file is a new file (the published one, a hard link, keeps its bytes) and the
    removed page's folder goes."""
    out = _published(tmp_path)
    if not with_cp:
        monkeypatch.setattr(write.shutil, "which", lambda name: None)
    old_a = (out / "a" / "index.html").open()
    with Update(out, 3) as update:
        assert update.journal.is_file()
        replace_file(update.ready(), "a/index.html", b"page a, new")
        update.remove("b/index.html")
        assert (out / "b" / "index.html").read_text() == "page b"  # not yet published
        update.commit()
    assert (out / "a" / "index.html").read_text() == "page a, new"
    assert not (out / "b").exists()
    assert (out / "index.html").read_text() == "home"
    assert old_a.read() == "page a"  # the replaced file was never written through
    old_a.close()
    assert not update.journal.exists()


def test_an_update_that_fails_or_changes_nothing_leaves_the_site_as_it_was(
        tmp_path: Path) -> None:
    out = _published(tmp_path)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(RuntimeError), Update(out, 3) as update:
        replace_file(update.ready(), "a/index.html", b"half done")
        raise RuntimeError("the build failed here")
    with Update(out, 3):
        pass  # nothing to change: never committed
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not update.journal.exists()
    assert not update.clone.exists()


def _files(root: Path) -> dict[str, tuple[int, bytes]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_ino, p.read_bytes())
            for p in root.rglob("*") if p.is_file()}


def test_the_next_update_levels_the_spare_instead_of_cloning(tmp_path: Path) -> None:
    """An update keeps the tree it swapped out; the next one brings it level with the files
    the last one changed and uses it: a hard-link copy of the site, made without a clone."""
    out = _published(tmp_path)
    with Update(out, 3) as first:
        replace_file(first.ready(), "a/index.html", b"page a, v2")
        replace_file(first.ready(), "c/index.html", b"page c, new")
        first.remove("b/index.html")
        first.commit()
    assert first.spare.is_dir() and (first.spare / "b" / "index.html").read_text() == "page b"
    last = (("a/index.html", "c/index.html"), ("b/index.html",))
    with Update(out, 3, last) as second:
        assert second._copying is None  # no cp, no copytree: the spare was levelled
        assert _files(second.ready()) == _files(out)  # the same files: the same inodes
        replace_file(second.ready(), "index.html", b"home, v2")
        second.commit()
    assert {rel: data for rel, (_, data) in _files(out).items()} == {
        ".fixdex-output": write.MARKER_TEXT, "index.html": b"home, v2",
        "a/index.html": b"page a, v2", "c/index.html": b"page c, new"}
    with Update(out, 3, (("index.html",), ())) as third:
        assert _files(third.ready()) == _files(out)
    assert not third.spare.exists()  # used, then dropped with the unused clone


def test_an_update_that_changes_nothing_keeps_the_spare(tmp_path: Path) -> None:
    """With nothing to write, the levelled spare is level with the site: it is kept for the
    next update (which then has nothing to level), not dropped with a full copy to make."""
    out = _published(tmp_path)
    with Update(out, 3) as first:
        replace_file(first.ready(), "a/index.html", b"page a, v2")
        first.commit()
    with Update(out, 3, (("a/index.html",), ())) as second:
        second.ready()
        assert second.keep()
    assert not second.journal.exists() and not second.clone.exists()
    assert _files(second.spare) == _files(out)
    with Update(out, 3, ((), ())) as third:
        assert third._copying is None and _files(third.ready()) == _files(out)
    with Update(out, 3) as fourth:  # no spare (dropped by the third): a clone still copying
        assert not fourth.keep()
    assert not fourth.clone.exists() and not fourth.journal.exists()


def test_a_cold_build_drops_the_spare(tmp_path: Path) -> None:
    out = _published(tmp_path)
    with Update(out, 3) as update:
        replace_file(update.ready(), "a/index.html", b"page a, v2")
        update.commit()
    assert update.spare.is_dir()
    with Output(out) as output:
        output.write("index.html", "cold")
        output.commit(1)
    assert not update.spare.exists()

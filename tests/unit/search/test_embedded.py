"""Embedded (tantivy) backend: directory layout, concurrency, reopening, failures."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from search.documents import PackageDocument as Doc
from search.embedded import EmbeddedIndex
from search.embedded_schema import SCHEMA_VERSION
from search.errors import SearchUnavailable

ROOT = Path(__file__).resolve().parents[3]


def names(hits: list) -> list[str]:
    return [h.name for h in hits]


def test_index_lives_in_the_given_directory(tmp_path: Path):
    index = EmbeddedIndex(tmp_path / "data" / "search")
    index.upsert([Doc("alpha")])
    root = tmp_path / "data" / "search"
    current = (root / "CURRENT").read_text().strip()
    assert (root / current / "meta.json").is_file()
    index.close()
    reopened = EmbeddedIndex(root)
    assert names(reopened.suggest("al")) == ["alpha"]


def test_a_second_handle_sees_commits_of_the_first(tmp_path: Path):
    writer = EmbeddedIndex(tmp_path)
    reader = EmbeddedIndex(tmp_path)
    assert reader.suggest("be") == []
    writer.upsert([Doc("beta")])
    assert names(reader.suggest("be")) == ["beta"]
    writer.rebuild([Doc("gamma")])
    assert reader.suggest("be") == []
    assert names(reader.suggest("ga")) == ["gamma"]


def test_another_process_writes_while_this_one_reads(tmp_path: Path):
    reader = EmbeddedIndex(tmp_path)
    assert reader.suggest("wor") == []
    script = (
        "import sys; from search.embedded import EmbeddedIndex; "
        "from search.documents import PackageDocument as D; "
        "i = EmbeddedIndex(sys.argv[1]); i.upsert([D('worker-made', downloads_total=5)]); "
        "i.rebuild([D('worker-made', downloads_total=5), D('worker-two')])"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, cwd=ROOT)
    assert names(reader.suggest("wor")) == ["worker-made", "worker-two"]


def test_concurrent_readers_and_a_writer_in_threads(tmp_path: Path):
    index = EmbeddedIndex(tmp_path)
    index.upsert([Doc("seed", downloads_total=1)])
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                hits = index.suggest("s")
                assert hits and all(h.name.startswith("s") for h in hits)
                assert index.search("seed").total >= 1
        except BaseException as err:  # surfaced below
            errors.append(err)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    writers = [
        threading.Thread(
            target=lambda w=w: index.upsert([Doc(f"s-{w}-{i}") for i in range(20)])
        )
        for w in range(3)
    ]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in readers:
        thread.join()
    assert errors == []
    assert index.search("s", size=100).total == 61


def test_an_upsert_waiting_for_a_rebuild_lands_in_the_new_generation(tmp_path: Path):
    builder = EmbeddedIndex(tmp_path)
    other = EmbeddedIndex(tmp_path)  # stands for another process: its own handle and lock
    started: list[threading.Thread] = []

    def docs() -> Iterator[Doc]:
        yield Doc("rebuilt")
        thread = threading.Thread(target=other.upsert, args=([Doc("during")],))
        thread.start()
        started.append(thread)

    builder.rebuild(docs())
    started[0].join()
    assert names(builder.suggest("during")) == ["during"]
    assert names(builder.suggest("rebuilt")) == ["rebuilt"]


def test_old_generations_are_removed_but_the_previous_is_kept(tmp_path: Path):
    index = EmbeddedIndex(tmp_path)
    for n in range(3):
        index.rebuild([Doc(f"gen-{n}")])
    generations = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(generations) == 2
    assert names(index.suggest("gen")) == ["gen-2"]


def test_duplicate_names_in_a_rebuild_keep_the_last(tmp_path: Path):
    index = EmbeddedIndex(tmp_path)
    assert index.rebuild([Doc("dup", description="first"), Doc("DUP", description="second")]) == 1
    (hit,) = index.suggest("dup")
    assert hit.description == "second"


def test_a_failed_rebuild_leaves_the_live_index_alone(tmp_path: Path):
    index = EmbeddedIndex(tmp_path)
    index.upsert([Doc("kept")])

    def broken() -> Iterator[Doc]:
        yield Doc("half")
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        index.rebuild(broken())
    assert names(index.suggest("kept")) == ["kept"]
    assert index.suggest("half") == []
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 1


def test_unusable_directory_raises_search_unavailable(tmp_path: Path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(SearchUnavailable) as caught:
        EmbeddedIndex(blocker / "search")
    assert caught.value.code == "search_unavailable"
    assert str(blocker) in str(caught.value)


def test_an_index_with_another_schema_version_starts_empty(tmp_path: Path):
    (tmp_path / "CURRENT").write_text("v0-old\n")
    index = EmbeddedIndex(tmp_path)
    assert (tmp_path / "CURRENT").read_text().startswith(f"{SCHEMA_VERSION}-")
    index.upsert([Doc("fresh")])
    assert names(index.suggest("fr")) == ["fresh"]

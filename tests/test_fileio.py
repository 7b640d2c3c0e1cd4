import os

import pytest

from ttmrpp.fileio import atomic_write, atomic_write_json


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "index.json"
    atomic_write_json(target, {"v": 1})

    def crash(p):
        p.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, crash)
    assert target.read_text().strip() == '{\n  "v": 1\n}'
    assert [p.name for p in tmp_path.iterdir()] == ["index.json"]


def test_atomic_write_mode_is_not_private(tmp_path):
    mask = os.umask(0o022)
    try:
        atomic_write_json(tmp_path / "r.json", [])
        assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(mask)


def test_read_jsonl_names_the_bad_line(tmp_path):
    from ttmrpp.fileio import iter_jsonl, read_jsonl

    path = tmp_path / "m.jsonl"
    path.write_text('{"id": 1}\n\n{"id": 2}\n')
    assert list(iter_jsonl(path)) == [(1, {"id": 1}), (3, {"id": 2})]
    path.write_text('{"id": 1}\n[1, 2]\n')
    with pytest.raises(ValueError, match=r"m.jsonl:2: a line must be a JSON object"):
        read_jsonl(path)
    path.write_text("{oops\n")
    with pytest.raises(ValueError, match=r"m.jsonl:1: invalid JSON"):
        read_jsonl(path)


def _record_fsyncs(monkeypatch) -> list[str]:
    """Wrap os.fsync (the real call still happens) to list the paths it flushed."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to name the descriptors passed to fsync")
    synced, real = [], os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def test_atomic_write_fsyncs_the_file_then_its_folder(tmp_path, monkeypatch):
    folder = tmp_path.resolve()
    synced = _record_fsyncs(monkeypatch)
    atomic_write_json(folder / "a.json", {"v": 1})
    # the temporary file (its name ends .tmp) before the rename, the folder after it
    assert len(synced) == 2 and synced[0].endswith(".tmp") and synced[1] == str(folder)
    assert synced[0].startswith(str(folder / ".a.json."))


def test_atomic_write_dir_fsyncs_every_file_and_folder(tmp_path, monkeypatch):
    from ttmrpp.fileio import atomic_write_dir

    folder = tmp_path.resolve()

    def write(tmp):
        (tmp / "sub").mkdir(parents=True)
        (tmp / "a.txt").write_text("a")
        (tmp / "sub" / "b.txt").write_text("b")

    synced = _record_fsyncs(monkeypatch)
    atomic_write_dir(folder / "out", write)
    tmp = folder / ".out.tmp"
    assert synced == [
        str(tmp / "sub" / "b.txt"),
        str(tmp / "sub"),
        str(tmp / "a.txt"),
        str(tmp),
        str(folder),  # after the rename
    ]
    assert (folder / "out" / "sub" / "b.txt").read_text() == "b"

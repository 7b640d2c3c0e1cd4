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

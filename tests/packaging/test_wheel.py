"""A wheel built from the repository carries the trained model: installed into a new virtual
environment outside the repository, the README's Python example runs on the shipped weights."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, music_like

pytestmark = pytest.mark.slow

EXAMPLE = textwrap.dedent(
    """
    import json, sys
    import ttmrpp

    model = ttmrpp.load_model()  # the shipped trained model
    text = model.encode_text(["upbeat rock with distorted guitar"])  # [1, 128], unit norm
    embs, failures = ttmrpp.embed_audio_files(model, ["a.flac", "b.wav"])  # whole tracks
    scores = text @ embs.T
    print(json.dumps({"file": ttmrpp.__file__, "text": text[0].tolist(),
                      "scores": scores[0].tolist(), "failures": len(failures)}))
    """
)


def test_wheel_installs_outside_the_repo_and_uses_the_trained_model(tmp_path):
    sf = pytest.importorskip("soundfile")
    # Built from the tracked files alone (a build/ folder left in a checkout could add stale ones).
    source = tmp_path / "source"
    tracked = subprocess.check_output(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, text=True
    ).split("\0")
    for name in filter(None, tracked):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(dist), str(source)],
        check=True, cwd=tmp_path, capture_output=True,
    )  # fmt: skip
    (wheel,) = dist.glob("ttmrpp-*.whl")
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    py = env / "bin" / "python"
    site = Path(
        subprocess.check_output([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip()
    )  # fmt: skip
    # The dependencies come from the test's own environment (offline); ttmrpp from the wheel.
    (site / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
         "--target", str(site), str(wheel)],
        check=True,
    )  # fmt: skip

    work = tmp_path / "elsewhere"
    work.mkdir()
    sf.write(work / "a.flac", music_like(12.0, seed=1), 22050)
    sf.write(work / "b.wav", music_like(3.0, seed=2), 22050)
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TTMRPP_ASSETS")}
    out = subprocess.run([py, "-c", EXAMPLE], cwd=work, env=clean, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(got["file"]).is_relative_to(site)  # the wheel's copy, not the repository's
    assert got["failures"] == 0 and len(got["scores"]) == 2

    import ttmrpp

    shipped = ttmrpp.load_model()
    want = shipped.encode_text(["upbeat rock with distorted guitar"])[0].detach().numpy()
    np.testing.assert_allclose(got["text"], want, atol=1e-5)  # the same trained weights

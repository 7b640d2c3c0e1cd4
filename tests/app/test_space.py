"""Space packaging: space.yaml, the README front matter, requirements.txt and packages.txt agree
with each other, with pyproject.toml and with the demo's real-music packages."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO

yaml = pytest.importorskip("yaml")
tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml")
requirements = pytest.importorskip("packaging.requirements")
from packaging.specifiers import SpecifierSet  # noqa: E402
from packaging.utils import canonicalize_name  # noqa: E402

FRONT_MATTER = re.compile(r"\A---\n(.*?\n)---\n", re.DOTALL)


def space() -> dict:
    return yaml.safe_load((REPO / "space.yaml").read_text(encoding="utf-8"))


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def app_requirements() -> dict[str, str]:
    """name -> specifier of pyproject's core dependencies and the `app` extra (recursively)."""
    proj = project()
    extras = proj["optional-dependencies"]

    def closure(name: str) -> list[str]:
        out = []
        for req in extras[name]:
            r = requirements.Requirement(req)
            if canonicalize_name(r.name) == "ttmrpp":
                for extra in sorted(r.extras):
                    out += closure(extra)
            else:
                out.append(req)
        return out

    reqs = [requirements.Requirement(r) for r in proj["dependencies"] + closure("app")]
    return {canonicalize_name(r.name): str(r.specifier) for r in reqs}


def test_space_settings_are_complete():
    s = space()
    assert s["sdk"] == "gradio"
    assert (REPO / s["app_file"]).is_file()
    assert s["suggested_hardware"] in {"cpu-basic", "cpu-upgrade"}
    assert SpecifierSet(project()["requires-python"]).contains(s["python_version"] + ".0")
    gradio_spec = app_requirements()["gradio"]
    assert SpecifierSet(gradio_spec).contains(s["sdk_version"]), (s["sdk_version"], gradio_spec)
    assert len(s["short_description"]) <= 60  # Hugging Face's limit


def test_docs_front_matter_block_is_space_yaml():
    text = (REPO / "docs" / "space.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(---\n.*?---\n)```", text, re.DOTALL)
    assert block, "docs/space.md must hold the README front matter in a ```yaml block"
    assert yaml.safe_load(FRONT_MATTER.match(block.group(1)).group(1)) == space()


def test_readme_front_matter_is_space_yaml():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    m = FRONT_MATTER.match(readme)
    if m is None:
        pytest.skip("README.md has no front matter yet: paste the block from docs/space.md")
    assert yaml.safe_load(m.group(1)) == space(), "README front matter differs from space.yaml"


def test_requirements_match_pyproject():
    wanted = app_requirements()
    have = {}
    for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        r = requirements.Requirement(line)
        have[canonicalize_name(r.name)] = r.specifier
    expected = {n: s for n, s in wanted.items() if n != "gradio"}  # from sdk_version
    assert set(have) == set(expected), (
        f"missing: {sorted(set(expected) - set(have))}, extra: {sorted(set(have) - set(expected))}"
    )
    for name, spec in have.items():
        if name == "torch":  # pinned to the CPU build; the pin must satisfy pyproject's range
            pin = next(iter(spec)).version
            assert SpecifierSet(expected[name]).contains(pin)
        else:
            assert str(spec) == expected[name], f"{name}: {spec} vs pyproject {expected[name]}"
    text = (REPO / "requirements.txt").read_text(encoding="utf-8")
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text


def test_packages_txt_has_portaudio_for_pyaudio_and_the_demo_music():
    from ttmrpp.data.debian_packages import DEMO

    packages = (REPO / "packages.txt").read_text(encoding="utf-8").split()
    assert "portaudio19-dev" in packages
    assert set(DEMO) <= set(packages)  # installed on the Space: the demo reads them from /

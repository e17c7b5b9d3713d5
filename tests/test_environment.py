"""pyproject.toml and environment.yml name the same packages, and the
installed ones do not slow every notebook-reading process down."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import yaml

from conftest import ROOT

# conda and pip spell a few packages differently.
CONDA_TO_PIP: dict[str, str] = {}


def normalise(spec: str) -> tuple[str, str]:
    spec = spec.split("#")[0].strip().replace(" ", "")
    m = re.match(r"^([A-Za-z0-9_.\-]+)(.*)$", spec)
    name = m.group(1).lower().replace("_", "-")
    return CONDA_TO_PIP.get(name, name), m.group(2)


def pip_specs() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(meta["dependencies"])
    for extra in meta.get("optional-dependencies", {}).values():
        specs += extra
    return dict(normalise(s) for s in specs)


def conda_specs() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    specs = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            specs += dep.get("pip", [])
        else:
            specs.append(dep)
    out = dict(normalise(s) for s in specs)
    assert out.pop("python", None) == ">=3.11", "conda: python>=3.11"
    assert "pip" in out, "environment.yml must install pip"
    out.pop("pip")
    return out


def test_same_packages_and_versions():
    pip, conda = pip_specs(), conda_specs()
    assert set(pip) == set(conda), (
        f"only in pyproject.toml: {sorted(set(pip) - set(conda))}; "
        f"only in environment.yml: {sorted(set(conda) - set(pip))}")
    for name in pip:
        assert pip[name] == conda[name], (
            f"{name}: pyproject.toml says {pip[name]!r}, "
            f"environment.yml says {conda[name]!r}")


def test_torch_is_pinned_exactly():
    # An open range lets pip choose a multi-GB CUDA build.
    assert pip_specs()["torch"].startswith("==")


def test_requires_python():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["requires-python"] == ">=3.11"


def test_reading_a_notebook_builds_no_grammar_parser():
    # jsonschema 4.25+ imports rfc3987-syntax, which builds an Earley
    # parser at import: about 2 s in every process that imports nbformat
    # (each grading worker, nbgrader command and site build). The pin in
    # pyproject.toml keeps it out.
    code = ("import sys, nbformat, nbformat.validator; "
            "print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('rfc3987_syntax', 'lark')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]", f"importing nbformat imported {out}"

"""envs/*.yaml (conda, per rule group) pin exactly what requirements.txt pins."""

from __future__ import annotations

import re

import yaml

from conftest import REPO

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)")


def pins(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        match = PIN.match(line.strip())
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def test_every_requirement_is_pinned() -> None:
    for name in ("requirements.txt", "requirements-dev.txt"):
        lines = [
            line.strip()
            for line in (REPO / name).read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        assert lines and all(PIN.match(line) for line in lines), name


def test_conda_envs_pin_the_same_versions() -> None:
    required = pins((REPO / "requirements.txt").read_text().splitlines())
    env_files = sorted((REPO / "envs").glob("*.yaml"))
    assert env_files
    for env_file in env_files:
        spec = yaml.safe_load(env_file.read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
        env_pins = pins(pip)
        assert len(env_pins) == len(pip), f"{env_file}: unpinned pip entries"
        for package, version in env_pins.items():
            assert required.get(package) == version, f"{env_file}: {package}=={version}"


def test_every_rule_names_a_conda_env_that_exists() -> None:
    for smk in (REPO / "rules").glob("*.smk"):
        text = smk.read_text()
        for env in re.findall(r'conda:\s*\n\s*"\.\./(envs/[^"]+)"', text):
            assert (REPO / env).is_file(), f"{smk.name}: {env}"
        assert text.count("\nrule ") == text.count("conda:") or smk.name == "common.smk", smk

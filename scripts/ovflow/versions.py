"""Installed package versions, for the records the workflow writes."""

from __future__ import annotations

from importlib import metadata


def package_version(package: str) -> str | None:
    # Package metadata, not import: importing nncf takes seconds.
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None

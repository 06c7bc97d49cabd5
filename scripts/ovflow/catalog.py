"""The model catalog (models.yaml): the one source of model and dataset facts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

CATALOG_FILE = Path(__file__).resolve().parents[2] / "models.yaml"


@dataclass(frozen=True)
class ArchiveSpec:
    """A downloadable file and how to check it."""

    url: str
    name: str
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None
    folder: str | None = None
    member: str | None = None


@dataclass(frozen=True)
class ConversionSpec:
    """Where conversion cuts a TF Object Detection API SSD graph (friendly node names)."""

    preprocessed_image: str
    box_encodings: str
    class_logits: str
    anchors: str


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    archive: ArchiveSpec
    input_name: str
    input_height: int
    input_width: int
    labels: dict[int, str]
    conversion: ConversionSpec


def _read(path: Path) -> dict[str, Any]:
    with open(path) as f:
        return yaml.safe_load(f)


def model_names(path: Path = CATALOG_FILE) -> list[str]:
    return sorted(_read(path)["models"])


def load_model(
    name: str, overrides: dict[str, Any] | None = None, path: Path = CATALOG_FILE
) -> ModelSpec:
    """The catalog entry of `name`, with config overrides (sha256, url, name) applied."""
    data = _read(path)
    if name not in data["models"]:
        raise KeyError(f"{path}: no model {name!r}; known: {', '.join(sorted(data['models']))}")
    entry = data["models"][name]
    archive = ArchiveSpec(**entry["archive"])
    if overrides:
        archive = replace(
            archive, **{k: v for k, v in overrides.items() if k in ("sha256", "url", "name")}
        )
        if "sha256" in overrides:
            # A re-packed archive has another size too; the checksum is what is checked.
            archive = replace(archive, size=None)
    return ModelSpec(
        name=name,
        description=entry["description"],
        archive=archive,
        input_name=entry["input"]["name"],
        input_height=entry["input"]["height"],
        input_width=entry["input"]["width"],
        labels={int(k): v for k, v in data["label_maps"][entry["label_map"]].items()},
        conversion=ConversionSpec(**entry["conversion"]),
    )


def coco_archives(path: Path = CATALOG_FILE) -> dict[str, ArchiveSpec]:
    """The COCO val2017 image and annotation archives, keyed 'images' and 'annotations'."""
    return {key: ArchiveSpec(**spec) for key, spec in _read(path)["coco"].items()}

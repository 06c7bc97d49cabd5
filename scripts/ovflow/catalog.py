"""The model catalogs: the one source of model and dataset facts.

models.yaml holds the built-in models; a user's own models go in catalog files of their own,
named in the config's `catalogs:` (same format, schemas/catalog.schema.yaml). A model comes
from one source: `archive` (a TF Object Detection API archive, converted by ovflow.convert) or
`ir` (an OpenVINO IR with a [1,1,N,7] detection output, taken over by ovflow.ir_source).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import OvflowError

REPO = Path(__file__).resolve().parents[2]
CATALOG_FILE = REPO / "models.yaml"
SCHEMA_FILE = REPO / "schemas" / "catalog.schema.yaml"


class CatalogError(OvflowError, ValueError):
    pass


@dataclass(frozen=True)
class ArchiveSpec:
    """A file and how to check it: at `url` (downloaded as `name`) or at a local `path`."""

    url: str | None
    name: str
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None
    folder: str | None = None
    member: str | None = None
    path: str | None = None

    @property
    def location(self) -> str:
        return self.path or self.url or self.name


@dataclass(frozen=True)
class ConversionSpec:
    """Where conversion cuts a TF Object Detection API SSD graph (friendly node names)."""

    preprocessed_image: str
    box_encodings: str
    class_logits: str
    anchors: str


@dataclass(frozen=True)
class InputSpec:
    """What the IR's image input expects, and how images are resized for it."""

    name: str | None
    height: int
    width: int
    layout: str = "NCHW"
    color: str = "BGR"
    range: tuple[float, float] = (0.0, 255.0)  # the values that pixel values 0 and 255 become
    resize: str = "tf1_bilinear"

    @property
    def shape(self) -> list[int]:
        if self.layout == "NHWC":
            return [1, self.height, self.width, 3]
        return [1, 3, self.height, self.width]

    def record(self) -> dict[str, Any]:
        """The preprocessing as written into records (conversion.yaml)."""
        return {
            "resize": self.resize,
            "color": self.color,
            "layout": self.layout,
            "range": list(self.range),
            "height": self.height,
            "width": self.width,
        }


@dataclass(frozen=True)
class IrSpec:
    """An IR's two files and the name of its detection output (None: its only output)."""

    xml: ArchiveSpec
    bin: ArchiveSpec
    output: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    input: InputSpec
    labels: dict[int, str]
    archive: ArchiveSpec | None = None
    conversion: ConversionSpec | None = None
    ir: IrSpec | None = None

    @property
    def source(self) -> str:
        return "ir" if self.ir is not None else "archive"


# -- reading ------------------------------------------------------------------------------


def _where(error: Any) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


@functools.lru_cache(maxsize=32)
def _read_checked(path: Path, mtime_ns: int) -> dict[str, Any]:
    import jsonschema  # only where catalogs are read (the Snakefile's process, settings)

    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read the catalog ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    schema = yaml.safe_load(SCHEMA_FILE.read_text())
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(data)
    )
    if error is not None:
        raise CatalogError(f"{path}: {_where(error)}: {error.message}")
    return data


def _read(path: Path) -> dict[str, Any]:
    path = Path(path).resolve()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read the catalog ({exc.strerror})") from None
    return _read_checked(path, mtime)


def _files(catalogs: Sequence[Path | str], path: Path) -> list[Path]:
    return [Path(path), *(Path(c) for c in catalogs)]


def model_names(catalogs: Sequence[Path | str] = (), path: Path = CATALOG_FILE) -> list[str]:
    """Every model of the built-in catalog `path` and the user `catalogs`; a name defined in
    two of them is refused (models.yaml stays the one place for the built-in models)."""
    owner: dict[str, Path] = {}
    for file in _files(catalogs, path):
        for name in _read(file)["models"]:
            if name in owner:
                raise CatalogError(f"{file}: models.{name} is already defined in {owner[name]}")
            owner[name] = file
    return sorted(owner)


def _labels(value: Any, file: Path, key: str, builtin: Path) -> dict[int, str]:
    if isinstance(value, str):
        for source in (file, builtin):
            maps = _read(source).get("label_maps", {})
            if value in maps:
                return _id_names(maps[value])
        raise CatalogError(f"{file}: {key}: no label map {value!r} under label_maps")
    if "file" in value:
        labels_file = file.parent / value["file"]
        try:
            return _id_names(yaml.safe_load(labels_file.read_text()))
        except OSError as exc:
            problem = exc.strerror
        except (yaml.YAMLError, TypeError, ValueError):
            problem = "not a mapping of class id to name"
        raise CatalogError(f"{file}: {key}.file: {labels_file}: {problem}")
    return _id_names(value)


def _id_names(data: Any) -> dict[int, str]:
    if not isinstance(data, dict) or not data or not all(isinstance(v, str) for v in data.values()):
        raise ValueError("not a mapping of class id to name")
    return {int(k): v for k, v in data.items()}


def _file_spec(entry: dict[str, Any], file: Path) -> ArchiveSpec:
    if "path" in entry:
        local = (file.parent / entry["path"]).resolve()
        return ArchiveSpec(url=None, name=local.name, sha256=entry["sha256"], path=str(local))
    return ArchiveSpec(url=entry["url"], name=entry["name"], sha256=entry["sha256"])


def _owner(name: str, catalogs: Sequence[Path | str], path: Path) -> Path:
    files = _files(catalogs, path)
    for file in files:
        if name in _read(file)["models"]:
            return file
    known = ", ".join(model_names(catalogs, path))
    raise CatalogError(f"{', '.join(map(str, files))}: no model {name!r}; known: {known}")


def load_model(
    name: str,
    overrides: dict[str, Any] | None = None,
    catalogs: Sequence[Path | str] = (),
    path: Path = CATALOG_FILE,
) -> ModelSpec:
    """The entry of `name` in the built-in catalog `path` or a user catalog, with config
    overrides (sha256, url, name of a re-packed archive) applied."""
    file = _owner(name, catalogs, path).resolve()
    entry = _read(file)["models"][name]
    where = f"models.{name}"
    archive = ArchiveSpec(**entry["archive"]) if "archive" in entry else None
    if overrides and archive is not None:
        archive = replace(
            archive, **{k: v for k, v in overrides.items() if k in ("sha256", "url", "name")}
        )
        if "sha256" in overrides:
            # A re-packed archive has another size too; the checksum is what is checked.
            archive = replace(archive, size=None)
    ir = None
    if "ir" in entry:
        ir = IrSpec(
            xml=_file_spec(entry["ir"]["xml"], file),
            bin=_file_spec(entry["ir"]["bin"], file),
            output=entry["ir"].get("output"),
        )
    given = dict(entry["input"])  # keys left out take InputSpec's defaults
    if "range" in given:
        given["range"] = tuple(float(v) for v in given["range"])
    return ModelSpec(
        name=name,
        description=entry["description"],
        input=InputSpec(**{"name": None, **given}),
        labels=_labels(entry["label_map"], file, f"{where}.label_map", Path(path)),
        archive=archive,
        conversion=ConversionSpec(**entry["conversion"]) if "conversion" in entry else None,
        ir=ir,
    )


def coco_archives(path: Path = CATALOG_FILE) -> dict[str, ArchiveSpec]:
    """The COCO val2017 image and annotation archives, keyed 'images' and 'annotations'."""
    return {key: ArchiveSpec(**spec) for key, spec in _read(path)["coco"].items()}

"""Checks across config keys that a JSON schema cannot express.

Each failure is one line naming the key, raised as ConfigError.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import precisions
from .catalog import CATALOG_FILE, CatalogError, load_model, model_names
from .errors import OvflowError


class ConfigError(OvflowError, ValueError):
    pass


def validate(config: dict[str, Any], schema: Path) -> None:
    """Snakemake's schema validation (it fills in the defaults), its error as one line."""
    from jsonschema import ValidationError
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate as snakemake_validate

    try:
        snakemake_validate(config, str(schema))
    except WorkflowError as err:
        invalid = err.__context__  # Snakemake raises it while handling jsonschema's error
        if not isinstance(invalid, ValidationError):
            raise
        key = ".".join(str(part) for part in invalid.absolute_path) or "config"
        message = invalid.message
        expected = invalid.schema.get("description") if isinstance(invalid.schema, dict) else None
        if invalid.validator in ("pattern", "minLength", "maxLength") and expected:
            message += f"; expected {expected}"  # a regular expression alone says it poorly
        raise ConfigError(f"{key}: {message} (schema {schema})") from None


def user_catalogs(config: dict[str, Any]) -> list[Path]:
    """The user's own catalog files (`catalogs:`), relative to the working directory."""
    return [Path(file) for file in config.get("catalogs", [])]


def _check_models(config: dict[str, Any], catalog: Path) -> None:
    user = user_catalogs(config)
    for i, file in enumerate(user):
        if not file.is_file():
            raise ConfigError(f"catalogs[{i}]: {file} is not a file")
    try:
        known = model_names(user, catalog)
        specs = {}  # each model checked here, loaded once
        for name in config["models"]:
            if name not in known:
                raise ConfigError(
                    f"models: unknown model {name!r}; the catalogs "
                    f"{', '.join(map(str, [catalog, *user]))} know: {', '.join(known)}"
                )
            specs[name] = spec = load_model(name, catalogs=user, path=catalog)
            for key, file in ((k, getattr(spec.ir, k)) for k in ("xml", "bin") if spec.ir):
                if file.path and not Path(file.path).is_file():
                    raise ConfigError(f"models.{name}.ir.{key}.path: {file.path} is not a file")
        for name in config.get("model_overrides", {}):
            if name not in known:
                raise ConfigError(
                    f"model_overrides.{name}: unknown model; the catalogs know: {', '.join(known)}"
                )
            if name not in specs:
                specs[name] = load_model(name, catalogs=user, path=catalog)
            if specs[name].archive is None:
                raise ConfigError(
                    f"model_overrides.{name}: overrides an archive; {name} is an IR model "
                    "(set its files in its catalog)"
                )
    except CatalogError as exc:
        raise ConfigError(str(exc)) from None


def check(config: dict[str, Any], catalog: Path = CATALOG_FILE) -> None:
    """`catalog`: the built-in catalog (models.yaml); the config's `catalogs:` add to it."""
    _check_models(config, catalog)
    for name in config["precisions"]:
        if name not in precisions.PRECISIONS:
            raise ConfigError(
                f"precisions: unknown precision {name!r}; known: {', '.join(precisions.PRECISIONS)}"
            )
    mirror = config.get("mirror")
    if mirror and not Path(mirror).is_dir():
        raise ConfigError(f"mirror: {mirror} is not a directory")
    coco = config["coco"]
    if coco["source"] == "local":
        for key in ("images", "annotations"):
            if not coco[key]:
                raise ConfigError(f"coco.{key}: required when coco.source is local")
        if not Path(coco["images"]).is_dir():
            raise ConfigError(f"coco.images: {coco['images']} is not a directory")
        if not Path(coco["annotations"]).is_file():
            raise ConfigError(f"coco.annotations: {coco['annotations']} is not a file")
    for name, dataset in config.get("extra_datasets", {}).items():
        if not Path(dataset["images"]).is_dir():
            raise ConfigError(
                f"extra_datasets.{name}.images: {dataset['images']} is not a directory"
            )
        if not Path(dataset["annotations"]).is_file():
            raise ConfigError(
                f"extra_datasets.{name}.annotations: {dataset['annotations']} is not a file"
            )
    calibration = config["calibration"]
    if calibration["images"]:
        if not Path(calibration["images"]).is_dir():
            raise ConfigError(f"calibration.images: {calibration['images']} is not a directory")
    elif calibration["subset_size"] > calibration["reserve"]:
        raise ConfigError(
            f"calibration.subset_size: {calibration['subset_size']} is more than the "
            f"{calibration['reserve']} val2017 images held out by calibration.reserve"
        )
    if config["quantization"]["mode"] == "accuracy_control" and calibration["images"]:
        annotations = calibration["annotations"]
        if not annotations:
            raise ConfigError(
                "calibration.annotations: required by quantization.mode accuracy_control "
                "when calibration.images is set"
            )
        if not Path(annotations).is_file():
            raise ConfigError(f"calibration.annotations: {annotations} is not a file")
    quantized, reference = precisions.QUANTIZED, precisions.REFERENCE
    if quantized in config["precisions"] and reference not in config["precisions"]:
        raise ConfigError(
            f"precisions: {quantized} is quantized from {reference}, so {reference} must be "
            "listed too"
        )


def calibration_reserve(config: dict[str, Any]) -> int:
    """val2017 images held out of evaluation for calibration (none if calibrating elsewhere)."""
    return 0 if config["calibration"]["images"] else config["calibration"]["reserve"]

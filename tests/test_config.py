"""Config validation: the JSON schema and the cross-key checks, each error naming its key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from availability import needs
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from conftest import OFFLINE_DATA, REPO, offline_config, run_snakemake
from ovflow import catalog, precisions, settings

SCHEMA = str(REPO / "schemas" / "config.schema.yaml")


def validated(config: dict) -> dict:
    config = copy.deepcopy(config)
    validate(config, SCHEMA)
    return config


def test_default_config_is_valid_and_complete() -> None:
    config = validated(yaml.safe_load((REPO / "config.yaml").read_text()))
    assert config["models"] == ["ssd_mobilenet_v1_coco"]
    assert config["calibration"]["subset_size"] == 300
    settings.check(config)


@pytest.mark.parametrize(
    ("section", "value", "key"),
    [
        ("quantization", {"preset": "fastest"}, "preset"),
        ("calibration", {"subset_size": 0}, "subset_size"),
        ("coco", {"source": "ftp"}, "source"),
    ],
)
def test_schema_rejects_bad_values(section: str, value: object, key: str) -> None:
    with pytest.raises(WorkflowError, match=key):
        validated(offline_config(**{section: value}))


GOOD_SHA256 = "08b3c931f61be89d788cb2f2a1b986c877322b886893fb3a65cfed97389c61be"


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ({"name": ".."}, "name"),
        ({"name": "."}, "name"),
        ({"name": "../archive.tar.gz"}, "name"),
        ({"name": "sub/archive.tar.gz"}, "name"),
        ({"name": "..\\archive.tar.gz"}, "name"),
        ({"name": "archive\x00.tar.gz"}, "name"),
        ({"name": ""}, "name"),
        ({"sha256": GOOD_SHA256[:-1]}, "sha256"),
        ({"sha256": GOOD_SHA256 + "\n"}, "sha256"),
        ({"sha256": GOOD_SHA256[:-1] + "g"}, "sha256"),
        ({"url": "download.tensorflow.org/models/a.tar.gz"}, "url"),
        ({"url": "http://"}, "url"),
        ({"url": "http://host/a b.tar.gz"}, "url"),
        ({"url": "file:///etc/passwd"}, "url"),
    ],
)
def test_schema_rejects_malformed_archive_overrides(override: dict, key: str) -> None:
    with pytest.raises(WorkflowError, match=key):
        validated(offline_config(model_overrides={"ssdlite_mobilenet_v2": override}))


def test_schema_accepts_well_formed_archive_overrides() -> None:
    override = {
        "sha256": GOOD_SHA256.upper(),
        "url": "https://example.org/models/ssdlite.tar.gz?download=1",
        "name": "ssdlite_mobilenet_v2 re-packed.tar.gz",
    }
    config = validated(offline_config(model_overrides={"ssdlite_mobilenet_v2": override}))
    assert config["model_overrides"]["ssdlite_mobilenet_v2"] == override


def test_schema_rejects_unknown_key() -> None:
    with pytest.raises(WorkflowError, match="calibraton"):
        validated({**offline_config(), "calibraton": {}})


def test_workflow_refuses_bad_config_value(tmp_path: Path) -> None:
    proc = run_snakemake(
        tmp_path, offline_config(quantization={"preset": "fastest"}), "--dry-run", check=False
    )
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "fastest" in output and "preset" in output


@needs(*OFFLINE_DATA)  # settings.check reads the paths offline_config names
@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"calibration": {"images": None, "subset_size": 400, "reserve": 300}}, "subset_size"),
        ({"coco": {"source": "local", "images": None}}, "coco.images"),
        ({"coco": {"annotations": "/nonexistent.json"}}, "coco.annotations"),
        ({"mirror": "/nonexistent"}, "mirror"),
        ({"model_overrides": {"yolo": {"sha256": "0" * 64}}}, "model_overrides.yolo"),
        ({"precisions": ["INT8"]}, "FP32"),
        ({"precisions": ["FP32", "INT4"]}, "precisions: unknown precision 'INT4'"),
    ],
)
def test_cross_key_checks_name_the_key(sections: dict, message: str) -> None:
    config = validated(offline_config(**sections))
    with pytest.raises(settings.ConfigError, match=message):
        settings.check(config)


def test_a_wrong_model_name_fails_with_one_line_naming_the_catalog() -> None:
    config = validated(offline_config(models=["yolo"]))
    with pytest.raises(settings.ConfigError) as failure:
        settings.check(config)
    message = str(failure.value)
    assert "\n" not in message
    assert "models: unknown model 'yolo'" in message and str(catalog.CATALOG_FILE) in message
    assert "ssd_mobilenet_v1_coco, ssdlite_mobilenet_v2" in message


@needs(*OFFLINE_DATA)  # settings.check reads the paths offline_config names
def test_a_model_added_to_the_catalog_is_all_the_check_needs(tmp_path: Path) -> None:
    entries = yaml.safe_load(catalog.CATALOG_FILE.read_text())
    entries["models"]["my_ssd"] = entries["models"]["ssdlite_mobilenet_v2"]
    own = tmp_path / "models.yaml"
    own.write_text(yaml.safe_dump(entries))
    config = validated(offline_config(models=["my_ssd"]))
    settings.check(config, catalog=own)
    assert catalog.load_model("my_ssd", path=own).input.height == 300


@needs(*OFFLINE_DATA)  # settings.check reads the paths offline_config names
def test_a_precision_added_in_its_module_is_all_the_check_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = validated(offline_config(precisions=["FP32", "BF16"]))
    with pytest.raises(settings.ConfigError, match="BF16"):
        settings.check(config)
    monkeypatch.setattr(precisions, "PRECISIONS", (*precisions.PRECISIONS, "BF16"))
    settings.check(config)


def local_ir(**xml: str) -> dict:
    """The `ir` entry of m.xml and m.bin beside the catalog; `xml` adds keys to the xml's."""
    return {
        "xml": {"path": "m.xml", "sha256": "0" * 64, **xml},
        "bin": {"path": "m.bin", "sha256": "0" * 64},
    }


def ir_catalog(folder: Path, **changes: object) -> Path:
    """A user catalog with one IR model whose files exist beside it; `changes` replace keys of
    its entry."""
    (folder / "m.xml").write_text("<net/>")
    (folder / "m.bin").write_bytes(b"\0")
    entry = {
        "description": "an IR",
        "ir": local_ir(),
        "input": {"height": 300, "width": 300},
        "label_map": {1: "person"},
        **changes,
    }
    path = folder / "mine.yaml"
    path.write_text(yaml.safe_dump({"models": {"mine": entry}}))
    return path


@needs(*OFFLINE_DATA)  # settings.check reads the paths offline_config names
def test_user_catalogs_add_models(tmp_path: Path) -> None:
    own = ir_catalog(tmp_path)
    config = validated(offline_config(catalogs=[str(own)], models=["mine"]))
    settings.check(config)
    spec = catalog.load_model("mine", catalogs=settings.user_catalogs(config))
    assert spec.source == "ir" and spec.ir.xml.path == str(tmp_path / "m.xml")
    assert spec.input.resize == "tf1_bilinear" and spec.input.range == (0.0, 255.0)


@pytest.mark.parametrize(
    ("changes", "remove", "message"),
    [
        ({}, "mine.yaml", "catalogs[0]: "),
        ({}, "m.bin", "models.mine.ir.bin.path: "),
        (
            {"input": {"height": -3, "width": 300}},
            None,
            "mine.yaml: models.mine.input.height: -3 is less than the minimum of 1",
        ),
        ({"label_map": "coco92"}, None, "models.mine.label_map: no label map 'coco92'"),
        ({"label_map": {"file": "none.yaml"}}, None, "models.mine.label_map.file: "),
        # A local file takes its name from its path: a name or URL beside it is refused.
        ({"ir": local_ir(name="other.xml")}, None, "mine.yaml: models.mine.ir.xml: "),
        ({"ir": local_ir(url="https://h/m.xml")}, None, "mine.yaml: models.mine.ir.xml: "),
    ],
)
def test_user_catalog_faults_name_the_file_and_key(
    tmp_path: Path, changes: dict, remove: str | None, message: str
) -> None:
    own = ir_catalog(tmp_path, **changes)
    if remove:
        (tmp_path / remove).unlink()
    config = validated(offline_config(catalogs=[str(own)], models=["mine"]))
    with pytest.raises(settings.ConfigError) as failure:
        settings.check(config)
    assert message in str(failure.value) and "\n" not in str(failure.value)


@needs(*OFFLINE_DATA)  # settings.check reads the paths offline_config names
@pytest.mark.parametrize("model", ["mine", "ssdlite_mobilenet_v2"])  # an IR, an archive
def test_a_broken_unlisted_model_does_not_stop_a_listed_one(tmp_path: Path, model: str) -> None:
    own = ir_catalog(tmp_path)
    data = yaml.safe_load(own.read_text())
    broken = {**data["models"]["mine"], "label_map": {"file": "none.yaml"}}
    own.write_text(yaml.safe_dump({"models": {**data["models"], "broken": broken}}))
    config = offline_config(catalogs=[str(own)], models=[model], precisions=["FP32"])
    proc = run_snakemake(tmp_path / "run", config, "--dry-run", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert "none.yaml" not in output and "Traceback" not in output


def test_overrides_of_an_ir_model_are_refused(tmp_path: Path) -> None:
    own = ir_catalog(tmp_path)
    config = validated(
        offline_config(
            catalogs=[str(own)], models=["mine"], model_overrides={"mine": {"sha256": "1" * 64}}
        )
    )
    with pytest.raises(settings.ConfigError, match=r"model_overrides\.mine: .* IR model"):
        settings.check(config)


@needs(*OFFLINE_DATA)  # settings.check reads the paths offline_config names
def test_a_broken_entry_of_an_overridden_model_is_a_config_error(tmp_path: Path) -> None:
    own = ir_catalog(tmp_path, label_map={"file": "none.yaml"})
    config = validated(
        offline_config(catalogs=[str(own)], model_overrides={"mine": {"sha256": "1" * 64}})
    )
    with pytest.raises(settings.ConfigError, match=r"models\.mine\.label_map\.file: "):
        settings.check(config)


def test_schema_rejects_a_non_boolean_only_model_classes() -> None:
    with pytest.raises(WorkflowError, match="only_model_classes"):
        validated(offline_config(accuracy={"only_model_classes": "yes"}))

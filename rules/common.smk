# Helpers shared by the rules: where inputs come from, given the config.


def model_overrides(model):
    return config["model_overrides"].get(model, {})


def model_spec(model):
    return catalog.load_model(model, model_overrides(model))


def coco_is_local():
    return config["coco"]["source"] == "local"


def coco_images():
    return config["coco"]["images"] if coco_is_local() else PATHS.coco_images


def coco_annotations():
    return config["coco"]["annotations"] if coco_is_local() else PATHS.coco_annotations


def archive_spec(filename):
    """The catalog's spec of a download, by file name (model archives and COCO zips)."""
    for model in catalog.model_names():
        spec = model_spec(model)
        if spec.archive.name == filename:
            return spec.archive
    for spec in catalog.coco_archives().values():
        if spec.name == filename:
            return spec
    raise ValueError(f"{filename}: not a download the catalog knows")


def reproduce_command():
    files = " ".join(f"--configfile {f}" for f in workflow.overwrite_configfiles)
    return f"snakemake --cores all {files}".strip()

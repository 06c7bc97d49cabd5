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


PRIMARY_DATASET = "coco"
DATASETS = [PRIMARY_DATASET, *config["extra_datasets"]]


def dataset_images(dataset):
    if dataset == PRIMARY_DATASET:
        return coco_images()
    return config["extra_datasets"][dataset]["images"]


def dataset_annotations(dataset):
    if dataset == PRIMARY_DATASET:
        return coco_annotations()
    return config["extra_datasets"][dataset]["annotations"]


def dataset_selection(dataset):
    """How a set's evaluation images are chosen; only val2017 gives up calibration images."""
    if dataset == PRIMARY_DATASET:
        return {
            "max_images": config["coco"]["max_images"],
            "reserve": settings.calibration_reserve(config),
            "seed": config["coco"]["seed"],
        }
    extra = config["extra_datasets"][dataset]
    return {
        "max_images": extra.get("max_images"),
        "reserve": 0,
        "seed": config["coco"]["seed"],
    }


def calibration_annotations():
    """Annotations of the calibration images: val2017's, or those given with the folder."""
    if config["calibration"]["images"]:
        return config["calibration"]["annotations"] or []
    return coco_annotations()


def shares_calibration_folder(dataset):
    """True if a set's images folder is the calibration folder: its calibration images are then
    left out of its evaluation (the val2017 hold-out does the same for the primary set).
    """
    folder = config["calibration"]["images"]
    if dataset == PRIMARY_DATASET or not folder:
        return False
    return Path(dataset_images(dataset)).resolve() == Path(folder).resolve()


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


def eval_images(eval_ids):
    """Images of an evaluation set (its ids file exists once a job using it is scheduled)."""
    return len(coco_data.read_ids(Path(eval_ids)))


def delta_work(eval_ids):
    """accuracy_delta's work: images x comparisons with FP32 x bootstrap resamples / 1000."""
    comparisons = max(1, len(PRECISIONS) - 1)
    resamples = config["accuracy"]["bootstrap_resamples"]
    return eval_images(eval_ids) * comparisons * resamples / 1000


def benchmark_seconds(precision):
    # ovflow.benchmark imports openvino: only once a benchmark job is scheduled.
    from ovflow.benchmark import PLAN

    return sizing.benchmark_seconds(len(PLAN[precision]), config["benchmark"])


def reproduce_command():
    files = " ".join(f"--configfile {f}" for f in workflow.overwrite_configfiles)
    return f"snakemake --cores all {files}".strip()

# Helpers shared by the rules: where inputs come from, given the config.

from ovflow.paths import TEMPLATES, input_key

# The pages' templates: editing one rebuilds the reports and the index.
PAGE_TEMPLATES = sorted(TEMPLATES.glob("*.*"))


def model_overrides(model):
    return config["model_overrides"].get(model, {})


def model_spec(model):
    return catalog.load_model(model, model_overrides(model), USER_CATALOGS)


# Each configured model's source (`archive` or `ir`); only these are loaded, so a broken entry
# of a model not in `models:` leaves the run alone (settings.check checked these).
SOURCES = {model: model_spec(model).source for model in MODELS}


def models_from(source):
    """A wildcard pattern of the configured models with this source (`archive` or `ir`)."""
    names = [re.escape(m) for m, s in SOURCES.items() if s == source]
    return "|".join(names) or "(?!)"  # (?!) matches nothing


def ir_local_files(wildcards):
    """An IR model's files given by local path (its catalog entry is loaded once)."""
    ir = model_spec(wildcards.model).ir
    return [f.path for f in (ir.xml, ir.bin) if f.path]


def coco_is_local():
    return config["coco"]["source"] == "local"


def coco_images():
    return config["coco"]["images"] if coco_is_local() else PATHS.coco_images


def coco_annotations():
    return config["coco"]["annotations"] if coco_is_local() else PATHS.coco_annotations


PRIMARY_DATASET = "coco"
DATASETS = [PRIMARY_DATASET, *config["extra_datasets"]]
# Precisions compared with the reference (delta.yaml per set) in this run.
COMPARES = precisions.REFERENCE in PRECISIONS and len(PRECISIONS) > 1


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
    """The catalog's spec of a download, by file name (configured models' archives and COCO
    zips)."""
    for model in MODELS:
        spec = model_spec(model)
        if spec.archive is not None and spec.archive.name == filename:
            return spec.archive
    for spec in catalog.coco_archives().values():
        if spec.name == filename:
            return spec
    raise ValueError(f"{filename}: not a download of a model in `models:` or of COCO")


def report_inputs(wildcards):
    """Rule report's inputs, each named by ovflow.paths.input_key (ovflow.report reads
    them by those names): accuracy per set and precision, delta.yaml per set, per precision
    its benchmark, samples and IR weights, the conversion and quantization records, and the
    page templates.
    """
    model = wildcards.model
    named = {
        input_key("accuracy", d, p): PATHS.accuracy(model, d, p)
        for d in DATASETS
        for p in PRECISIONS
    }
    if COMPARES:
        named |= {
            input_key("delta", d): PATHS.accuracy_delta(model, d) for d in DATASETS
        }
    for p in PRECISIONS:
        named[input_key("benchmark", p)] = PATHS.benchmark(model, p)
        named[input_key("samples", p)] = PATHS.samples_dir(model, p)
        named[input_key("bin", p)] = PATHS.ir_bin(model, p)
    named["conversion"] = PATHS.conversion_info(model)
    named["templates"] = PAGE_TEMPLATES
    if precisions.QUANTIZED in PRECISIONS:
        named["quantization"] = PATHS.quantization_info(model)
    return named


def index_inputs(wildcards):
    """Rule index's inputs: each model's headline.yaml and its report.html and report.md,
    named by ovflow.paths.input_key, and the templates."""
    return {
        input_key(kind, model): path(model)
        for model in MODELS
        for kind, path in (
            ("headline", PATHS.report_headline),
            ("html", PATHS.report_html),
            ("md", PATHS.report_md),
        )
    } | {"templates": PAGE_TEMPLATES}


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

"""Write the notebooks in notebooks/ from the cell sources below (outputs empty).

The notebooks are the product; this script only keeps their sources reviewable in one
place. Run it after editing a cell here: ``.venv/bin/python scripts/build_notebooks.py``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

ROOT = Path(__file__).resolve().parents[1]

COMMON_PARAMS = '''PROFILE = "demo"              # "demo": embedded demo data on CPU; "paper": real datasets (Sec. 4.1-4.2)
DATA_ROOT = "data/demo"       # holds FaceForensics++/, Celeb-DF-v2/, UADFV/ (relative to the repo root)
FACES_ROOT = "data/demo_faces"  # aligned face crops, one folder per dataset (Sec. 3.1)
RUNS_DIR = "runs"             # checkpoints and training logs, one folder per run name
RESULTS_DIR = "results/demo"  # tables, figures and metric files written by code'''


def md(text: str) -> nbf.NotebookNode:
    return nbf.v4.new_markdown_cell(text.strip())


def code(text: str, *tags: str) -> nbf.NotebookNode:
    cell = nbf.v4.new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def params(extra: str = "") -> nbf.NotebookNode:
    return code(COMMON_PARAMS + ("\n" + extra.strip() if extra else ""), "parameters")


CHECK = "nbval-check-output"

NOTEBOOKS: dict[str, list[nbf.NotebookNode]] = {}

NOTEBOOKS["00_demo_data"] = [
    md("""
# 00 · Datasets: generate (or locate) them

The paper trains and tests on FaceForensics++ (c23), Celeb-DF v2 and UADFV (Sec. 4.1, Table 1).
Those are gated behind request forms, so the **demo profile** generates three small deepfake
datasets *in the real datasets' on-disk layouts* (procedurally rendered faces, each dataset with
its own family of manipulations). With `PROFILE = "paper"`, `DATA_ROOT` points at the real
datasets instead and nothing is generated; every later notebook runs the same code on both.
"""),
    params('''
DEMO_SIZE = "small"           # demo-data preset (jdfd_lib.demo.generate.DEMO_SIZES)
SEED = 0                      # demo-data seed: same seed, byte-identical videos
WORKERS = 2                   # processes for generation'''),
    code('''
from jdfd_lib.core.paths import resolve
from jdfd_lib.datasets.adapters import dataset_root, list_videos
from jdfd_lib.experiments import browse
from jdfd_lib.reporting.plot import image_grid

data_root = resolve(DATA_ROOT)
if PROFILE == "demo":
    from jdfd_lib.demo.generate import generate_demo_data
    summary = generate_demo_data(data_root, size=DEMO_SIZE, seed=SEED, workers=WORKERS)
records = {name: list_videos(name, dataset_root(data_root, name)) for name in ("ffpp", "celebdf", "uadfv")}'''),
    md("Videos per dataset, split and class (train / val / test are disjoint; the adapters assert it)."),
    code("print(browse.video_table(records).to_string())", CHECK),
    md("A middle frame of a pristine video and of its fakes, for every dataset and manipulation."),
    code('''
for name, recs in records.items():
    images, titles = browse.sample_frames(recs)
    browse.show(image_grid(images, titles, cols=len(images)))'''),
]

NOTEBOOKS["01_preprocess"] = [
    md("""
# 01 · Face extraction (paper Sec. 3.1)

For every video: N evenly spaced frames (the paper takes 300; the demo profile fewer), Dlib's HOG
face detector, its 68-point landmark model, a similarity alignment that puts the face at the
centre, and a crop resized to 299×299 (smaller in the demo). Extraction is parallel and
resumable: a finished video is skipped, an interrupted one redone. Frames without a face are
counted, never silently dropped.
"""),
    params('''
DATASETS = ["ffpp", "celebdf", "uadfv"]  # dataset keys to prepare
FRAMES_PER_VIDEO = None       # None: profile default (paper: 300 per video, Sec. 4.1)
IMAGE_SIZE = None             # None: profile default (paper: 299 px, Sec. 3.1)
WORKERS = 2                   # processes, one video each'''),
    code('''
import dataclasses

from jdfd_lib.core.paths import resolve
from jdfd_lib.datasets.adapters import dataset_root
from jdfd_lib.experiments import browse
from jdfd_lib.faces.crops import EXTRACT_PROFILES
from jdfd_lib.faces.prepare import prepare
from jdfd_lib.reporting.plot import crops_with_landmarks

cfg = EXTRACT_PROFILES[PROFILE]
overrides = {"frames_per_video": FRAMES_PER_VIDEO, "image_size": IMAGE_SIZE, "workers": WORKERS}
cfg = dataclasses.replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
print(cfg)
summaries = {name: prepare(name, dataset_root(resolve(DATA_ROOT), name), resolve(FACES_ROOT) / name, cfg)
             for name in DATASETS}'''),
    md("The extraction summary: frames asked for, faces found, frames dropped and why, and how often the full-resolution fallback was needed."),
    code("print(browse.extraction_summary(summaries).to_string())", CHECK),
    md("What the index holds: crops (and the videos they come from) per dataset, split and class."),
    code("print(browse.index_table(resolve(FACES_ROOT), DATASETS).to_string())", CHECK),
    md("Aligned crops with their 68 landmarks: eyes and mouth land at the same place in every crop."),
    code('''
for name in DATASETS:
    images, landmarks, titles = browse.sample_crops(resolve(FACES_ROOT) / name, n=6)
    browse.show(crops_with_landmarks(images, landmarks, titles))'''),
]

TRAIN_PARAMS = '''
TRAIN_DATASET = "ffpp"        # "ffpp" | "celebdf" | "uadfv" (Table 2 rows)
VARIANT = "jdfd"              # "jdfd" (decoder + classifier) | "baseline" (no decoder, Table 3)
UNLABELED_RATIO = 0.0         # share of unlabelled foreign images (Fig. 4: 0.05, 0.10, 0.15)
SEED = 0                      # training seed (recorded in the run name and checkpoint)
EPOCHS = None                 # None: profile default (the paper does not state it)'''

NOTEBOOKS["02_train"] = [
    md("""
# 02 · One training run (paper Sec. 3.2-3.3, 4.2)

JDFD: a shared Xception encoder maps a face x to a latent vector v; a decoder reconstructs x
from v while a shallow classifier predicts real/fake, trained end to end with
L = β₁·CE + β₂·MSE (β₁ = 0.8, β₂ = 0.2), SGD (0.005 autoencoder, 0.0004 classifier),
StepLR(5, 0.8), batch 4. The demo profile swaps the encoder for a light `resnet10t` at batch
16, because Xception from random weights learns nothing within a 2-core CPU budget (the
README's profile table gives the measurements). The model is selected on the validation split
only. A finished run is not retrained: running this notebook again just shows it. Trained
numbers vary between processors, so no output here is compared exactly by the tests.
"""),
    params(TRAIN_PARAMS),
    code('''
import pandas as pd

from jdfd_lib.core.config import config_from_overrides
from jdfd_lib.core.paths import resolve
from jdfd_lib.experiments import browse
from jdfd_lib.reporting.plot import training_curves
from jdfd_lib.training.train import train

overrides = dict(train_dataset=TRAIN_DATASET, variant=VARIANT, unlabeled_ratio=UNLABELED_RATIO,
                 seed=SEED, faces_root=str(resolve(FACES_ROOT)), out_dir=str(resolve(RUNS_DIR)))
if EPOCHS is not None:
    overrides["epochs"] = EPOCHS
cfg = config_from_overrides(PROFILE, **overrides)
run_dir = train(cfg, resume=True)  # a finished run is shown, an interrupted one continues
print(cfg.run_name)'''),
    md("Per-epoch log (`metrics.csv` in the run folder): the losses of Eq. 3-5 and the validation AUC."),
    code('''
metrics = pd.read_csv(run_dir / "metrics.csv")
print(browse.epoch_table(metrics).to_string(index=False))'''),
    code("browse.show(training_curves(metrics))"),
    md("Validation faces next to their reconstructions by the decoder, and the per-pixel error."),
    code('''
if cfg.variant == "jdfd":
    browse.show(browse.reconstruction_figure(run_dir / "best.pt", resolve(FACES_ROOT) / TRAIN_DATASET, split="val", n=6))'''),
]

EXPERIMENT_CODE = '''
from jdfd_lib.core.paths import resolve
from jdfd_lib.experiments import browse, grid

paths = grid.Paths(faces=resolve(FACES_ROOT), runs=resolve(RUNS_DIR), results=resolve(RESULTS_DIR))'''

NOTEBOOKS["03_cross_dataset"] = [
    md("""
# 03 · Cross-dataset evaluation: Table 2 and Fig. 3 (paper Sec. 4.3)

JDFD trained on each of FF++, UADFV and Celeb-DF, tested on the test split of all three
(frame-level AUC, the paper's metric). Models are selected on their own validation split;
test sets are never looked at before this step. The paper's numbers stand beside ours,
labelled "paper"; on demo data the two are not comparable (see the README).
"""),
    params('''
TRAIN_SETS = ["ffpp", "uadfv", "celebdf"]   # Table 2 rows
TEST_SETS = ["ffpp", "uadfv", "celebdf"]    # Table 2 columns
SEEDS = [0, 1, 2]                           # training seeds: every cell is mean ± std over them'''),
    code(EXPERIMENT_CODE + '''
results = grid.run_grid(PROFILE, paths, TRAIN_SETS, TEST_SETS, variants=["jdfd"], ratios=[0.0], seeds=SEEDS)'''),
    md("""**Table 2 (JDFD rows)**: frame-level AUC (%), ours as mean ± std over the training seeds,
beside the paper's. Each metric file also holds a 95% bootstrap interval over test videos
(`results/<profile>/metrics/*.json`, key `intervals`). Trained numbers differ slightly between
processors: `./run_tests.sh` compares them with the committed ones within the seeds' spread
(`python -m jdfd_lib check-results`), not here."""),
    code("print(grid.show_table(paths, \"table2\"))"),
    md("Video-level AUC (mean frame score per video) and the other metrics, mean over seeds."),
    code("print(grid.metric_table(results, variant=\"jdfd\").to_string(index=False))"),
    md("""**A trivial reference**: logistic regression on the face crops reduced to 8×8 pixels
(scikit-learn), trained on the same train splits and tested on the same test splits, with a 95%
bootstrap interval over test videos. If it came close to the CNNs, the demo task would be too
easy for their numbers to mean anything."""),
    code('''
from jdfd_lib.evaluation import trivial

trivial.reference_with_intervals(paths.faces, TRAIN_SETS, TEST_SETS)'''),
    md("**Fig. 3**: ROC curves of the nine (train, test) pairs; U, F, C as in the paper."),
    code("browse.show_png(paths.results / \"fig3_roc.png\")"),
]

NOTEBOOKS["04_decoder_ablation"] = [
    md("""
# 04 · Decoder ablation: Table 3 (paper Sec. 4.4)

The baseline is the same network without the decoder, trained with the classification loss
alone. Everything else (data, recipe, seed, model selection on validation) is identical, so
the difference measures what the unsupervised reconstruction branch adds.
"""),
    params('''
TRAIN_SETS = ["uadfv", "ffpp", "celebdf"]   # Table 3 row groups
TEST_SETS = ["uadfv", "ffpp", "celebdf"]    # Table 3 columns
SEEDS = [0, 1, 2]                           # training seeds: every cell is mean ± std over them'''),
    code(EXPERIMENT_CODE + '''
results = grid.run_grid(PROFILE, paths, TRAIN_SETS, TEST_SETS, variants=["baseline", "jdfd"], ratios=[0.0], seeds=SEEDS)'''),
    md("**Table 3**: frame-level AUC (%), Baseline and JDFD, mean ± std over seeds, beside the paper's."),
    code("print(grid.show_table(paths, \"table3\"))"),
    md("""**Is JDFD above its baseline?** For every cell, a paired t test over the seeds (the same
seed trains both) says whether the difference exceeds its uncertainty."""),
    code("print(grid.show_table(paths, \"comparisons\"))"),
]

NOTEBOOKS["05_unlabeled_augmentation"] = [
    md("""
# 05 · Unlabelled foreign data: Fig. 4 (paper Sec. 4.4)

Training on FF++ while adding 5%, 10% or 15% extra images drawn from each of the other two
datasets (about half real, half fake) whose labels are hidden: they feed the reconstruction
loss only, the cross-entropy is masked for them. The paper reports the trend in words (listed
under the table); its exact bar heights are only in the figure.
"""),
    params('''
TRAIN_SET = "ffpp"                          # the paper trains on FF++ for Fig. 4
RATIOS = [0.05, 0.10, 0.15]                 # unlabelled share from each other dataset
TEST_SETS = ["ffpp", "uadfv", "celebdf"]    # Fig. 4 panels: the three test sets
SEEDS = [0, 1, 2]                           # training seeds: every bar is mean ± std over them'''),
    code(EXPERIMENT_CODE + '''
results = grid.run_grid(PROFILE, paths, [TRAIN_SET], TEST_SETS, variants=["jdfd"], ratios=[0.0, *RATIOS], seeds=SEEDS)'''),
    md("**Fig. 4 data**: frame-level AUC (%) per test set and unlabelled ratio (0% = Table 2's run), mean ± std over seeds."),
    code("print(grid.show_table(paths, \"fig4\"))"),
    md("**Does unlabelled data change the AUC?** Each ratio against 0%, paired over seeds (with the JDFD-vs-baseline comparisons of notebook 04)."),
    code("print(grid.show_table(paths, \"comparisons\"))"),
    code("browse.show_png(paths.results / \"fig4_unlabeled.png\")"),
]

NOTEBOOKS["06_explore"] = [
    md("""
# 06 · Explore a trained model

For interactive use in JupyterLab: pick a run and a test set, browse its test videos and
frames with their scores, reconstructions and error maps, worst mistakes first. Change the
parameters and re-run the cells below.
"""),
    params('''
RUN_NAME = None               # None: the JDFD run trained on TRAIN_DATASET with the profile
TRAIN_DATASET = "ffpp"        # used when RUN_NAME is None
TEST_DATASET = "celebdf"      # which test set to browse
N_WORST = 6                   # how many of the worst mistakes to show'''),
    code('''
from jdfd_lib.core.paths import resolve
from jdfd_lib.evaluation.results import read_scores
from jdfd_lib.experiments import browse

run_name = RUN_NAME or browse.default_run_name(PROFILE, TRAIN_DATASET)
scores = read_scores(resolve(RESULTS_DIR) / "metrics", run_name, TEST_DATASET)
browse.video_scores(scores).head(10)'''),
    md("Worst mistakes first: real faces scored most fake, and fake faces scored most real."),
    code('''
worst = browse.worst_mistakes(scores, N_WORST)
worst'''),
    code('''
browse.show(browse.mistake_figure(worst, resolve(RUNS_DIR) / run_name / "best.pt", resolve(FACES_ROOT) / TEST_DATASET))'''),
]


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nb = nbf.v4.new_notebook()
        nb.cells = cells
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        path = ROOT / "notebooks" / f"{name}.ipynb"
        nbf.write(nb, path)
        print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    main()

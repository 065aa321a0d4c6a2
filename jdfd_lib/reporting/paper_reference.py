"""The paper's own reported numbers (Yan, Li, Lu 2022), kept apart from ours.

Everything here is transcribed from the paper (Table 1, Table 2, Table 3 and the text of
Sec. 4.4 about Fig. 4) so that tables and figures can show the paper's numbers *beside*
the numbers this project measures, clearly labelled, never mixed in. Nothing in this module
is ever used as a result of ours.

Note (kept as printed): Table 3's JDFD row trained on UADFV gives 65.2 on Celeb-DF while
Table 2 gives 64.9 for the same setting.
"""

from __future__ import annotations

import pandas as pd

SOURCE = (
    "Yan, Li, Lu (2022), Deepfake Detection via Joint Unsupervised Reconstruction and "
    "Supervised Classification"
)
# The paper's three datasets (registered keys, jdfd_lib.datasets.registry), in its Table 2 order
TEST_SETS = ("ffpp", "uadfv", "celebdf")
# The registered detector (TrainConfig.detector) behind each of the paper's results, and the
# name the paper prints for its rows (Tables 2-3): reports take these as parameters, never
# branch on a name. Every detector's own label is the registry's (Detector.label).
PAPER_NAMES = {"jdfd": "JDFD", "baseline": "Baseline"}
TABLE2_DETECTOR = "jdfd"  # Table 2 and Fig. 3
TABLE3_DETECTORS = ("baseline", "jdfd")  # the decoder ablation, in the paper's row order
FIG4_DETECTOR = "jdfd"  # Fig. 4, unlabeled foreign data

# Table 2: frame-level AUC (%); (method, train set) -> {test set: AUC}; None = not reported.
TABLE2: list[tuple[str, str, dict[str, float | None]]] = [
    ("Xception", "ffpp", {"ffpp": 99.7, "uadfv": 80.4, "celebdf": 48.2}),
    ("Capsule", "ffpp", {"ffpp": 96.6, "uadfv": 61.3, "celebdf": 57.5}),
    ("Xception+Triplet", "ffpp", {"ffpp": 99.9, "uadfv": 74.3, "celebdf": 61.7}),
    ("Xception", "uadfv", {"ffpp": None, "uadfv": 96.8, "celebdf": 52.2}),
    ("Xception+Reg.", "uadfv", {"ffpp": None, "uadfv": 98.4, "celebdf": 57.1}),
    ("Xception+Triplet", "uadfv", {"ffpp": 61.3, "uadfv": 99.9, "celebdf": 60.0}),
    ("Headpose", "uadfv", {"ffpp": 47.3, "uadfv": 89.0, "celebdf": 54.6}),
    ("FWA", "uadfv", {"ffpp": 80.1, "uadfv": 97.4, "celebdf": 56.9}),
    ("Xception+Triplet", "celebdf", {"ffpp": 60.2, "uadfv": 88.9, "celebdf": 99.9}),
    ("JDFD", "ffpp", {"ffpp": 98.2, "uadfv": 92.9, "celebdf": 78.0}),
    ("JDFD", "uadfv", {"ffpp": 61.0, "uadfv": 99.9, "celebdf": 64.9}),
    ("JDFD", "celebdf", {"ffpp": 61.1, "uadfv": 88.4, "celebdf": 97.1}),
]

# Table 3: decoder ablation, AUC (%); (train set, method) -> {test set: AUC}.
TABLE3: list[tuple[str, str, dict[str, float]]] = [
    ("uadfv", "Baseline", {"uadfv": 99.5, "ffpp": 58.4, "celebdf": 63.7}),
    ("uadfv", "JDFD", {"uadfv": 99.9, "ffpp": 61.0, "celebdf": 65.2}),
    ("ffpp", "Baseline", {"uadfv": 80.7, "ffpp": 97.4, "celebdf": 75.4}),
    ("ffpp", "JDFD", {"uadfv": 92.9, "ffpp": 98.2, "celebdf": 78.0}),
    ("celebdf", "Baseline", {"uadfv": 83.0, "ffpp": 59.7, "celebdf": 95.6}),
    ("celebdf", "JDFD", {"uadfv": 88.4, "ffpp": 61.1, "celebdf": 97.1}),
]

# Table 1: face images used (train real, train fake, test real, test fake).
TABLE1: dict[str, tuple[int, int, int, int]] = {
    "celebdf": (152786, 147901, 26834, 26108),
    "ffpp": (117218, 124429, 20795, 21995),
    "uadfv": (9881, 9886, 1740, 1723),
}

# Fig. 4 is only available as a plot; the text of Sec. 4.4 states these facts about it.
FIG4_STATEMENTS: tuple[str, ...] = (
    "Trained on FF++ with 5%, 10% or 15% unlabeled images from each other dataset.",
    "UADFV: AUC with 15% foreign data is 6.5 points above the 5% case.",
    "Celeb-DF: AUC reaches 79.6 with 15%, 4.9 points above the 5% case.",
    "FF++: with 15%, AUC drops by about 0.8 from the best result of the study.",
)


def table2_frame() -> pd.DataFrame:
    """Table 2 as printed: one row per (method, train set), one column per test set."""
    rows = [{"method": m, "train": t, **{k: v.get(k) for k in TEST_SETS}} for m, t, v in TABLE2]
    return pd.DataFrame(rows)


def table3_frame() -> pd.DataFrame:
    """Table 3 as printed: one row per (train set, method), one column per test set."""
    rows = [{"train": t, "method": m, **{k: v[k] for k in TEST_SETS}} for t, m, v in TABLE3]
    return pd.DataFrame(rows)

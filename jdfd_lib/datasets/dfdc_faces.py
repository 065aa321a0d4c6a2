"""DFDC face crops: one aligned face per video of the public DFDC training set.

A public crop set of the Deepfake Detection Challenge's training videos ("deepfake-faces":
``faces_224/<video>.jpg`` with a ``metadata.csv`` of ``videoname, original_width,
original_height, label, original``) laid out as a :mod:`~jdfd_lib.datasets.folder` dataset
grouped by source video, so that a fake and the real video it was made from share a group::

    dfdc_faces/real/<source>/<source>.jpg       the real video's face
    dfdc_faces/fake/<source>/<fake video>.jpg   the faces of fakes made from <source>

The faces were detected and cropped by that set's authors (not dlib), so they are prepared as
already aligned crops (resized only). The split is the committed group-level split
:data:`SPLIT_FILE` (group = source video name; train/val/test 70/15/15 % of the groups,
seeded): anyone who lays the public set out this way gets the same split. It lists the groups
of the share this project used (sources whose ``int(sha256(name), 16) % 100 < 30``, at most 3
fakes each); a folder holding other groups needs ``--split-file`` of its own, and one
missing some of them ``--allow-missing``. DFDC data is for research under DFDC's terms: the
project never copies it, it refers to it by path (``JDFD_DATA_ROOT`` holding ``dfdc_faces/``).
"""

from __future__ import annotations

import os
from pathlib import Path

from jdfd_lib.datasets.folder import SPLIT_FILE as SPLIT_OPTION
from jdfd_lib.datasets.folder import list_folder
from jdfd_lib.datasets.records import VideoList
from jdfd_lib.datasets.registry import DatasetSpec, register_dataset

SPLIT_FILE = Path(__file__).with_name("split_files") / "dfdc_faces.json"


def list_dfdc_faces(root: str | os.PathLike, split_file: str | os.PathLike | None = None,
                    allow_missing: bool = False) -> VideoList:
    """List the crops of ``root`` (``real/<source>/``, ``fake/<source>/``) as aligned faces.

    Args:
        root: the ``dfdc_faces`` folder.
        split_file: a group split of one's own (default: the committed :data:`SPLIT_FILE`).
        allow_missing: go on (with a warning) when the split names groups absent here.

    Raises:
        See :func:`~jdfd_lib.datasets.folder.list_folder`.
    """
    return list_folder(root, split_file or SPLIT_FILE, aligned=True,
                       allow_missing=allow_missing, dataset="dfdc_faces")


SPEC = register_dataset(DatasetSpec(
    key="dfdc_faces", folder="dfdc_faces", label="DFDC faces", letter="R",
    reader=list_dfdc_faces,
    layout="real/<source>/<source>.jpg, fake/<source>/<fake>.jpg (one face crop per video; "
           "committed split of source groups)",
    options=(SPLIT_OPTION,),
))

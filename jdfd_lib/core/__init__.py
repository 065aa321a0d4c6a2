"""Shared by every stage: the run configuration (``config``: ``TrainConfig`` and its
profiles), one-line user errors (``errors``), project paths (``paths``), progress bars
(``progress``) and run provenance (``runinfo``).

May import: nothing else in jdfd_lib.
"""

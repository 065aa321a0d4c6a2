"""jdfd: a reproduction of JDFD (Yan, Li, Lu 2022), "Deepfake Detection via Joint
Unsupervised Reconstruction and Supervised Classification".

Sub-packages, by job in the order data flows (each may import only those before it; its
docstring says what it owns):

- ``core``: the run configuration, one-line errors, paths, progress bars, provenance.
- ``datasets``: FF++, Celeb-DF v2 and UADFV in their official layouts, split files (Sec. 4.1).
- ``demo``: the embedded demo data in those layouts (stand-in for the gated datasets).
- ``faces``: frame sampling, Dlib detection, 68-point alignment, crops, the index (Sec. 3.1).
- ``detectors``: the two-branch autoencoder, its baseline, Eq. (3)-(5) (Sec. 3.2-3.3).
- ``training``: loaders, runtime, checkpoints, the training loop (Sec. 4.2).
- ``evaluation``: frame-level AUC and friends, uncertainty, the trivial reference (Sec. 4.3).
- ``reporting``: Tables 2-3 and Figs 3-4, the paper's numbers kept apart (Sec. 4.3-4.4).
- ``detection``: scoring new videos and folders with a trained checkpoint.
- ``experiments``: the seed grids and exploration helpers the notebooks call.

``cli`` is the command line (``python -m jdfd_lib <command>``).
"""

__version__ = "0.1.0"

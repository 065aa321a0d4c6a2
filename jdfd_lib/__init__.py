"""jdfd: a reproduction of JDFD (Yan, Li, Lu 2022), "Deepfake Detection via Joint
Unsupervised Reconstruction and Supervised Classification".

Modules, by the paper section they implement:

- ``demo_data`` / ``render`` / ``fakes``: embedded demo datasets in the real layouts (Sec. 4.1).
- ``datasets``, ``splits``: readers for FF++, Celeb-DF v2 and UADFV in their official layouts,
  and their split files (Sec. 4.1).
- ``video``, ``align``, ``faces``, ``extract``, ``index``, ``prepare_summary``: Dlib detection,
  68-point alignment, cropping, the crop index (Sec. 3.1).
- ``model``, ``losses``: the two-branch autoencoder and Eq. (3)-(5) (Sec. 3.2-3.3).
- ``config``, ``data``, ``train``: the training recipe of Sec. 4.2.
- ``checkpoint``: saving and safely loading runs (Sec. 4.2).
- ``metrics``, ``evaluate``, ``detect``, ``detect_videos``, ``detection_results``: frame-level
  AUC and friends, and scoring new videos (Sec. 4.3).
- ``cli``, ``errors``: the command line and its one-line error messages.
- ``report``, ``plot``, ``paper_reference``: Tables 2-3 and Figs 3-4 (Sec. 4.3-4.4).
"""

__version__ = "0.1.0"

"""Face extraction (paper Sec. 3.1): frame sampling and decoding (``video``), Dlib detection
and 68-point alignment (``align``), one video's crops (``crops``), a whole dataset
(``prepare``, its summary, and the crop ``index``, the only hand-off to training).

May import: ``jdfd_lib.core``, ``jdfd_lib.datasets``.
"""

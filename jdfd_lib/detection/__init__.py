"""Scoring new videos with a trained detector (Sec. 3.1 pre-processing, Sec. 4.3 scores):
one video (``detect``), many videos and folders (``videos``) and their result files
(``results``).

May import: every stage up to ``reporting`` (for the optional picture).
"""

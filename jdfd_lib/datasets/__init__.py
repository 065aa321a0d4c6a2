"""The datasets of paper Sec. 4.1 in their official layouts: readers that list videos with
labels, splits and identity groups (``adapters``) and the split files (``splits``).

May import: ``jdfd_lib.core``.
"""

"""Benchmarks of the whole pipeline: LFW verification and open-set identification.

``protocol``: the metrics (numpy only). ``images``: whole image -> embedding, with a disk
cache. ``runs``: the two benchmarks. ``plot``: the optional figure (matplotlib).
"""

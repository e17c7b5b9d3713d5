"""Lesson support: data sets, toy tasks, experiments and torch models.

The shipped data live in ``datasets/`` (sources and licences in its
README); :mod:`~helpers.support.torch_weights` is the one place that maps
weights between this course's layout and PyTorch's.
"""

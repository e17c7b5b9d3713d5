"""The fast paths of the reference cells, and their plumbing.

Not meant for reading alongside a lesson: each module here computes what
its twin in :mod:`helpers.reference` computes, with the input projection
hoisted out of the time loop, preallocated buffers and batch threads.
The reference functions call them when passed ``fast=True``, and the
tests prove every fast path equal to its readable twin.
"""

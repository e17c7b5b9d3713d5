"""The reference cells: the code a student may read as a second textbook.

Each module is one concept in forward/backward pairs, written to be read
top to bottom: :mod:`~helpers.reference.rnn` (lessons 2-3),
:mod:`~helpers.reference.lstm` (lesson 6), :mod:`~helpers.reference.gru`
(lesson 7), :mod:`~helpers.reference.attention` (lesson 9),
:mod:`~helpers.reference.layers` (embedding, affine, softmax loss,
clipping, optimisers), :mod:`~helpers.reference.gradcheck` (numerical
gradients) and :mod:`~helpers.reference.validate` (the errors that say
which argument has which wrong shape).
"""

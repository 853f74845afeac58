"""The book's per-sample code (Nielsen, "Neural Networks and Deep Learning", network.py and
network2.py), kept as the reference that ``deltaprop.book`` is compared with.

``backprop``, ``update_mini_batch``, ``cost_derivative``, ``sigmoid`` and ``sigmoid_prime`` are
the listing of the chapter-2 translation in the project's seed text; the rest of each module is
written to behave as the book's code does (initialisation order, ``random.shuffle`` of the list,
one ``backprop`` call per sample, the printed lines and return values), adjusted for Python 3
(``range``, the print function, lists instead of ``zip`` objects). Nothing here is fast on
purpose: it is the loop that ``deltaprop.book`` must reproduce.
"""

"""The book's code on deltaprop's engine: Nielsen's network.py, network2.py and mnist_loader.py.

A reader of "Neural Networks and Deep Learning" changes only the import lines::

    import deltaprop.book.mnist_loader as mnist_loader
    from deltaprop.book import network           # or network2

and the book's scripts run as written: the same constructor and attributes (``num_layers`` =
len(sizes), (n, m) weights and (n, 1) biases), the same random streams (``np.random.randn`` for
initialisation, ``random.shuffle`` for the epoch order), the same printed lines and return
values; each mini-batch goes through deltaprop's training kernel as one matrix.
"""

from . import mnist_loader, network, network2

__all__ = ["network", "network2", "mnist_loader"]

"""The numpy network of chapters 5 and 6: Ioffe & Szegedy's Figure-1 MLP, its trainer and its experiments.

- ``params``: :class:`MLPParams`, the initial weights and a plain SGD step.
- ``layers``: Dense, sigmoid and softmax cross-entropy, forward and backward.
- ``network``: the forward and backward pass of the whole network, and the thin stateful :class:`MLP`;
  its batch normalization runs the kernels of :mod:`bnlib.batchnorm`, :mod:`bnlib.backprop` and
  :mod:`bnlib.layer`.
- ``landscape``: the loss-landscape probe of chapter 5;  ``training``: ``train`` and ``sweep``.

The names the chapters use are imported from ``bnlib`` itself (``from bnlib import MLP, train``).
"""

__all__ = []

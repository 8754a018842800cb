"""The model of examples/data_parallel_dask.py, in a module of its own.

Dask (like Ray and multiprocessing) sends a transform to its workers by pickling it, and a
tangent_src transform pickles as its function *by reference* (module and name) plus
``wrt`` and options; each worker imports the module and generates the gradient code
itself. So the loss must live in a module the workers can import -- not in ``__main__``.
"""
import numpy as np

L2 = 1e-3        # weight decay, added once (on the client), not once per shard


def predict_logits(params, X):
    """A one-hidden-layer tanh network; one logit per example."""
    hidden = np.tanh(X @ params["W1"] + params["b1"])
    return hidden @ params["W2"] + params["b2"]


def shard_loss(params, X, y):
    """The *summed* logistic loss over one shard (sums add up across shards; means do
    not, so the client divides by the total count once)."""
    logits = predict_logits(params, X)
    return np.sum(np.logaddexp(0.0, logits) - y * logits)


def full_loss(params, X, y):
    """The mean loss over the whole data set plus weight decay: what we minimize."""
    penalty = 0.5 * L2 * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    return shard_loss(params, X, y) / X.shape[0] + penalty

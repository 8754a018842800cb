"""Data-parallel gradients on Dask: shards on workers, the optimizer on the client.

The data set is split into shards and each shard is sent to a worker once
(``client.scatter``). Every step, the client submits ``value_and_grad(shard_loss)`` for
each shard -- the transform itself is the task: it pickles as ``_model.shard_loss`` by
reference plus its options, and each worker generates the gradient code the first time it
runs it. The client adds the shards' losses and gradients, divides by the number of
examples, adds the weight-decay term, and takes an Adam step. The result is the gradient
of the whole data set, as one process would compute it (``check_against_single_process``).

Needs ``pip install "tangent_src[distributed]"`` (Dask). Run:
python examples/data_parallel_dask.py
"""
import numpy as np
from _model import L2, full_loss, predict_logits, shard_loss  # importable by the workers
from dask.distributed import Client, LocalCluster

import tangent_src


def make_data(rng, n: int = 600):
    """Two interleaved half-moons: a classification task a linear model cannot solve."""
    t = rng.uniform(0, np.pi, size=n)
    upper = rng.uniform(size=n) < 0.5
    X = np.where(upper[:, None],
                 np.stack([np.cos(t), np.sin(t)], axis=1),
                 np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1))
    X = X + 0.1 * rng.normal(size=X.shape)
    return X, upper.astype(float)


def init_params(rng, n_hidden: int = 16) -> dict:
    return {"W1": rng.normal(size=(2, n_hidden)), "b1": np.zeros(n_hidden),
            "W2": rng.normal(size=n_hidden) / np.sqrt(n_hidden), "b2": 0.0}


def tree_add(a: dict, b: dict) -> dict:
    return {k: a[k] + b[k] for k in a}


def distributed_value_and_grad(client: Client, shard_futures: list, params: dict,
                               n_examples: int) -> tuple:
    """The loss and gradient of `full_loss` over all shards, computed on the workers."""
    shard_vg = tangent_src.value_and_grad(shard_loss)
    futures = [client.submit(shard_vg, params, X, y, pure=False) for X, y in shard_futures]
    total, grads = 0.0, None
    for value, shard_grads in client.gather(futures):   # the reduction, on the client
        total += value
        grads = shard_grads if grads is None else tree_add(grads, shard_grads)
    grads = {k: g / n_examples for k, g in grads.items()}
    # weight decay belongs to the model, not to any shard: add it once, here
    grads["W1"] = grads["W1"] + L2 * params["W1"]
    grads["W2"] = grads["W2"] + L2 * params["W2"]
    penalty = 0.5 * L2 * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    return total / n_examples + penalty, grads


def adam_step(params: dict, grads: dict, state: dict, lr: float = 0.05) -> dict:
    """One Adam update on the client (state holds the moments and the step count)."""
    state["t"] = state.get("t", 0) + 1
    new = {}
    for k in params:
        m = state.setdefault("m", {}).get(k, 0.0) * 0.9 + 0.1 * grads[k]
        v = state.setdefault("v", {}).get(k, 0.0) * 0.999 + 0.001 * grads[k] ** 2
        state["m"][k], state["v"][k] = m, v
        m_hat, v_hat = m / (1 - 0.9 ** state["t"]), v / (1 - 0.999 ** state["t"])
        new[k] = params[k] - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
    return new


def check_against_single_process(client, shard_futures, params, X, y) -> tuple:
    """The same loss and gradient, computed in this process over the whole data set."""
    value_d, grads_d = distributed_value_and_grad(client, shard_futures, params, len(X))
    value_1, grads_1 = tangent_src.value_and_grad(full_loss)(params, X, y)
    worst = max(np.max(np.abs(grads_d[k] - grads_1[k])) for k in grads_1)
    print(f"distributed vs single-process: loss {value_d:.12f} vs {value_1:.12f}, "
          f"largest gradient difference {worst:.2e}")
    return (value_d, grads_d), (value_1, grads_1)


def train(client: Client, n_shards: int = 4, steps: int = 60, seed: int = 0) -> dict:
    """Fit the network on `n_shards` shards spread over the client's workers."""
    rng = np.random.default_rng(seed)
    X, y = make_data(rng)
    params = init_params(rng)
    shards = list(zip(np.array_split(X, n_shards), np.array_split(y, n_shards)))
    shard_futures = [tuple(client.scatter([Xs, ys])) for Xs, ys in shards]

    distributed, single = check_against_single_process(client, shard_futures, params, X, y)
    history, state = [], {}
    for step in range(steps):
        loss, grads = distributed_value_and_grad(client, shard_futures, params, len(X))
        params = adam_step(params, grads, state)
        history.append(float(loss))
        if step % 10 == 0 or step == steps - 1:
            print(f"step {step:3d}  loss {loss:.4f}")
    accuracy = np.mean((predict_logits(params, X) > 0) == (y > 0.5))
    print(f"training accuracy {accuracy:.3f}")
    return {"params": params, "history": history, "accuracy": accuracy, "X": X, "y": y,
            "distributed": distributed, "single": single}


def main(n_workers: int = 2) -> dict:
    """Start a local cluster (on a real cluster: Client("scheduler-address:8786")),
    train, and shut the cluster down."""
    cluster = LocalCluster(n_workers=n_workers, processes=True, threads_per_worker=1,
                           dashboard_address=None)
    try:
        with Client(cluster) as client:
            return train(client)
    finally:
        cluster.close()


if __name__ == "__main__":
    main()

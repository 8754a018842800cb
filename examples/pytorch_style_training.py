"""A PyTorch-style training loop in plain NumPy: Linear -> ReLU -> Linear, SGD and Adam.

The model is a dict of parameters, the forward pass an ordinary function, and
``tangent_src.value_and_grad`` plays the part of ``loss.backward()``: it returns the loss
and a dict of gradients with the same keys. The optimizers are a few lines each, written
out so nothing is hidden. Each epoch shuffles the data, walks it in mini-batches and prints
a progress line.

Run: python examples/pytorch_style_training.py
"""
import numpy as np

import tangent_src


def init_params(rng, n_in: int, n_hidden: int, n_out: int) -> dict:
    """Kaiming-style initialization, as torch.nn.Linear followed by ReLU would use."""
    return {
        "W1": rng.normal(size=(n_in, n_hidden)) * np.sqrt(2.0 / n_in),
        "b1": np.zeros(n_hidden),
        "W2": rng.normal(size=(n_hidden, n_out)) * np.sqrt(1.0 / n_hidden),
        "b2": np.zeros(n_out),
    }


def forward(params, x):
    """Linear -> ReLU -> Linear."""
    hidden = np.maximum(x @ params["W1"] + params["b1"], 0.0)
    return hidden @ params["W2"] + params["b2"]


def mse_loss(params, x, y):
    """Mean squared error of the network on one mini-batch."""
    pred = forward(params, x)
    return np.mean((pred - y) ** 2)


class SGD:
    """Stochastic gradient descent with momentum (torch.optim.SGD's update rule)."""

    def __init__(self, params: dict, lr: float = 0.05, momentum: float = 0.9):
        self.lr, self.momentum = lr, momentum
        self.velocity = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params: dict, grads: dict) -> dict:
        for k in params:
            self.velocity[k] = self.momentum * self.velocity[k] + grads[k]
        return {k: params[k] - self.lr * self.velocity[k] for k in params}


class Adam:
    """Adam (Kingma and Ba), with bias correction, as torch.optim.Adam computes it."""

    def __init__(self, params: dict, lr: float = 0.01, betas=(0.9, 0.999), eps: float = 1e-8):
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params: dict, grads: dict) -> dict:
        self.t += 1
        new_params = {}
        for k in params:
            self.m[k] = self.beta1 * self.m[k] + (1 - self.beta1) * grads[k]
            self.v[k] = self.beta2 * self.v[k] + (1 - self.beta2) * grads[k] ** 2
            m_hat = self.m[k] / (1 - self.beta1 ** self.t)
            v_hat = self.v[k] / (1 - self.beta2 ** self.t)
            new_params[k] = params[k] - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return new_params


def make_data(rng, n: int = 256):
    """A smooth 2-D regression target the network can fit."""
    x = rng.uniform(-2, 2, size=(n, 2))
    y = (np.sin(x[:, 0]) * np.cos(x[:, 1]) + 0.1 * x[:, 0])[:, None]
    return x, y


def train(optimizer_cls, epochs: int = 30, batch_size: int = 32, seed: int = 0,
          **optimizer_options) -> tuple:
    """Train a fresh network; return (params, per-epoch mean training losses, data)."""
    rng = np.random.default_rng(seed)
    x, y = make_data(rng)
    params = init_params(rng, n_in=2, n_hidden=32, n_out=1)
    optimizer = optimizer_cls(params, **optimizer_options)
    loss_and_grad = tangent_src.value_and_grad(mse_loss)   # like loss.backward()

    history = []
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        batch_losses = []
        for start in range(0, len(x), batch_size):
            batch = order[start:start + batch_size]
            loss, grads = loss_and_grad(params, x[batch], y[batch])
            params = optimizer.step(params, grads)
            batch_losses.append(loss)
        history.append(float(np.mean(batch_losses)))
        print(f"[{optimizer_cls.__name__}] epoch {epoch + 1:3d}/{epochs}  "
              f"loss {history[-1]:.5f}")
    return params, history, (x, y)


def main() -> dict:
    """Train with SGD and with Adam; return the loss histories."""
    results = {}
    for optimizer_cls, options in ((SGD, {"lr": 0.05}), (Adam, {"lr": 0.01})):
        params, history, (x, y) = train(optimizer_cls, **options)
        results[optimizer_cls.__name__] = {"params": params, "history": history,
                                           "x": x, "y": y}
        print(f"{optimizer_cls.__name__}: loss {history[0]:.4f} -> {history[-1]:.4f}\n")
    return results


if __name__ == "__main__":
    main()

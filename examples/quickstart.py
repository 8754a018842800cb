"""Quick start: the gradient of a logistic-regression loss, and the code that computes it.

Run: python examples/quickstart.py
"""
import numpy as np

import tangent_src

INPUTS = np.array([[0.52, 1.12, 0.77],
                   [0.88, -1.08, 0.15],
                   [0.52, 0.06, -1.30],
                   [0.74, -2.49, 1.39]])
TARGETS = np.array([True, True, False, True])


def sigmoid(x):
    return 0.5 * (np.tanh(x / 2) + 1)


def predict(W, b, inputs):
    return sigmoid(inputs @ W + b)


def loss(W, b, inputs, targets):
    preds = predict(W, b, inputs)
    label_probs = preds * targets + (1 - preds) * (1 - targets)
    return -np.sum(np.log(label_probs))


def main() -> None:
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=3), 0.1
    dloss = tangent_src.grad(loss, wrt=("W", "b"))
    dW, db = dloss(W, b, INPUTS, TARGETS)
    print("dloss/dW =", dW)
    print("dloss/db =", db)

    eps = 1e-6
    fd = [(loss(W + eps * e, b, INPUTS, TARGETS) - loss(W - eps * e, b, INPUTS, TARGETS))
          / (2 * eps) for e in np.eye(3)]
    print("finite differences agree:", np.allclose(dW, fd, rtol=1e-6))

    print("\n# The generated gradient (tangent_src.source(dloss)):\n")
    print(tangent_src.source(dloss))


if __name__ == "__main__":
    main()

"""Example programs of autodiff libraries, written the way people write them, differentiated
as written.

The programs follow the style of the examples that ship with HIPS autograd (neural_net,
rnn, lstm, bayesian_neural_net, gaussian_process, variational_autoencoder, gmm,
black_box_svi, ica, hmm, logistic regression), JAX's tutorials and PyTorch-style training
loops written in NumPy: layer loops `for W, b in params`, init functions returning lists of
(W, b) tuples, dict parameters, nested helper functions and lambdas, objective factories,
`print` inside loops, scipy.special.logsumexp and scipy.stats.norm.logpdf, fixed random
draws for reparameterized samples, and generator-based parameter unpacking.

Every program's gradient is checked against central finite differences of the program
itself (a pytree-aware helper below, independent of tangent_src); forward mode (jvp) and
Hessian-vector products are checked where cheap, the latter against nested finite
differences. Programs that tangent_src refuses are listed in `REFUSED` with the error class:
their test asserts a TangentError located in this file, so a refusal is visible and gaining
support makes the test fail (move the program out of `REFUSED` then). A wrong derivative
always fails.
"""
from __future__ import annotations

import copy
import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.random as npr
import pytest
import scipy.special
import scipy.stats
from scipy.special import logsumexp
from scipy.stats import norm

import tangent_src
from tangent_src.errors import (
    TangentError,
    UserCodeError,
)

HERE = os.path.abspath(__file__)
RTOL, ATOL = 1e-5, 1e-6


# ============================================================ pytree finite differences
def flatten(tree):
    """A float64 vector of the leaves of a pytree (floats, arrays, tuples, lists, dicts in
    sorted key order) and a function rebuilding the pytree from such a vector."""
    if isinstance(tree, dict):
        keys = sorted(tree)
        vec, rebuild = flatten([tree[key] for key in keys])
        return vec, lambda v: dict(zip(keys, rebuild(v)))
    if isinstance(tree, (list, tuple)):
        pieces = [flatten(item) for item in tree]
        kind = type(tree)
        vec = np.concatenate([p[0] for p in pieces]) if pieces else np.zeros(0)

        def rebuild_sequence(v):
            out, start = [], 0
            for part, rebuild_part in pieces:
                out.append(rebuild_part(v[start:start + part.size]))
                start += part.size
            return kind(out)
        return vec, rebuild_sequence
    if np.iscomplexobj(tree):
        raise AssertionError(f"a complex value {tree!r} where a real one belongs")
    if isinstance(tree, np.ndarray):
        shape = tree.shape
        return np.array(tree, dtype=np.float64).ravel(), lambda v: np.array(v).reshape(shape)
    return np.array([float(tree)]), lambda v: float(v[0])


def structure(tree):
    """The shape of a pytree (sequence kind ignored: a tuple gradient of a list is fine)."""
    if isinstance(tree, dict):
        return {key: structure(tree[key]) for key in sorted(tree)}
    if isinstance(tree, (list, tuple)):
        return [structure(item) for item in tree]
    return np.shape(tree)


def replaced(args, k, value):
    out = list(args)
    out[k] = value
    return tuple(out)


def fd_gradient(f, args, k, eps=1e-6):
    """Central differences of scalar f with respect to every float in args[k]."""
    vec, rebuild = flatten(args[k])
    grad = np.zeros_like(vec)
    for i in range(vec.size):
        step = np.zeros_like(vec)
        step[i] = eps
        plus = float(f(*replaced(args, k, rebuild(vec + step))))
        minus = float(f(*replaced(args, k, rebuild(vec - step))))
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def fd_directional(f, args, directions, eps=1e-6):
    """Central difference of scalar f along `directions` (one pytree per argument or None)."""
    def moved(sign):
        new = list(args)
        for k, v in directions.items():
            vec, rebuild = flatten(args[k])
            new[k] = rebuild(vec + sign * eps * flatten(v)[0])
        return float(f(*new))
    return (moved(1.0) - moved(-1.0)) / (2 * eps)


def fd_hvp(f, args, k, v, eps=1e-4):
    """Hessian (w.r.t. args[k]) times v by differencing finite-difference gradients."""
    vec, rebuild = flatten(args[k])
    dv = flatten(v)[0]
    plus = fd_gradient(f, replaced(args, k, rebuild(vec + eps * dv)), k, eps)
    minus = fd_gradient(f, replaced(args, k, rebuild(vec - eps * dv)), k, eps)
    return (plus - minus) / (2 * eps)


# =========================================================================== the programs
@dataclass(frozen=True)
class Program:
    name: str
    func: Callable
    make_args: Callable[[], tuple]
    wrt: tuple = (0,)
    fwd: bool = True
    hvp: bool = False


PROGRAMS: list[Program] = []


def program(make_args, wrt=(0,), fwd=True, hvp=False):
    """Register the decorated function as a corpus program."""
    def register(func):
        PROGRAMS.append(Program(func.__name__, func, make_args, tuple(wrt), fwd, hvp))
        return func
    return register


# Data sets are module globals, as in the scripts these programs imitate.
data_rs = npr.RandomState(0)
train_inputs = data_rs.randn(6, 4)
train_labels = np.eye(3)[data_rs.randint(0, 3, size=6)]
regression_x = data_rs.randn(8, 3)
regression_y = regression_x @ np.array([0.5, -1.0, 2.0]) + 0.1 * data_rs.randn(8)


# --------------------------------------------------------------------------- neural_net
def init_random_params(scale, layer_sizes, rs=npr.RandomState(0)):  # noqa: B008 - as in the examples
    """A list of (weights, biases) tuples, one per layer."""
    return [(scale * rs.randn(m, n), scale * rs.randn(n))
            for m, n in zip(layer_sizes[:-1], layer_sizes[1:])]


def neural_net_predict(params, inputs):
    """Normalized class log-probabilities."""
    for W, b in params:
        outputs = np.dot(inputs, W) + b
        inputs = np.tanh(outputs)
    return outputs - logsumexp(outputs, axis=1, keepdims=True)


def l2_norm(params):
    return sum(np.sum(W**2) for W, b in params)


def log_posterior(params, inputs, targets, L2_reg):
    log_prior = -L2_reg * l2_norm(params)
    log_lik = np.sum(neural_net_predict(params, inputs) * targets)
    return log_prior + log_lik


def _mlp_args():
    return init_random_params(0.5, [4, 5, 3], rs=npr.RandomState(0)), train_inputs, \
        train_labels, 0.1


PROGRAMS.append(Program("neural_net_log_posterior", log_posterior, _mlp_args))


def neural_net_accuracy_style(params, inputs, targets):
    """The batched loss of the MLP example, with the l2 term inline and a print."""
    L2_reg = 1.0
    log_prior = -L2_reg * sum(np.sum(W**2) for W, b in params)
    log_lik = np.sum(neural_net_predict(params, inputs) * targets)
    print("log likelihood", log_lik)
    return -(log_prior + log_lik) / len(inputs)


PROGRAMS.append(Program("neural_net_inline_l2_print", neural_net_accuracy_style,
                        lambda: _mlp_args()[:3]))

# the objective as a lambda over module globals, as the example script builds it
objective = lambda params, t: -log_posterior(params, train_inputs, train_labels, 0.1)  # noqa: E731
PROGRAMS.append(Program("neural_net_objective_lambda", objective,
                        lambda: (_mlp_args()[0], 0)))


def make_objective(inputs, targets, L2_reg=0.1):
    """An objective built by a factory: data captured by the closure."""
    def objective(params):
        return -log_posterior(params, inputs, targets, L2_reg)
    return objective


PROGRAMS.append(Program("neural_net_objective_factory",
                        make_objective(train_inputs, train_labels),
                        lambda: (_mlp_args()[0],)))


def batched_objective_factory(inputs, targets, batch_size=2):
    """autograd's neural_net.py idiom: `objective(params, iter)` picks a minibatch by
    iteration number."""
    num_batches = int(np.ceil(len(inputs) / batch_size))

    def batch_indices(iter):
        idx = iter % num_batches
        return slice(idx * batch_size, (idx + 1) * batch_size)

    def objective(params, iter):
        idx = batch_indices(iter)
        return -log_posterior(params, inputs[idx], targets[idx], 0.1)
    return objective


PROGRAMS.append(Program("neural_net_minibatch_objective",
                        batched_objective_factory(train_inputs, train_labels),
                        lambda: (_mlp_args()[0], 1)))


# --------------------------------------------------------------------------- JAX tutorial MLP
def random_layer_params(m, n, rs, scale=1e-1):
    return scale * rs.randn(n, m), scale * rs.randn(n)


def init_network_params(sizes, seed):
    rs = npr.RandomState(seed)
    return [random_layer_params(m, n, rs) for m, n in zip(sizes[:-1], sizes[1:])]


def relu(x):
    return np.maximum(0, x)


def predict(params, image):
    activations = image
    for w, b in params[:-1]:
        outputs = np.dot(w, activations) + b
        activations = np.tanh(outputs)
    final_w, final_b = params[-1]
    logits = np.dot(final_w, activations) + final_b
    return logits - logsumexp(logits)


def jax_mlp_loss(params, images, targets):
    preds = np.stack([predict(params, image) for image in images])
    return -np.mean(preds * targets)


PROGRAMS.append(Program("jax_mlp_per_example_loss", jax_mlp_loss,
                        lambda: (init_network_params([4, 5, 3], 1), train_inputs,
                                 train_labels)))


def batched_predict(params, images):
    activations = images
    for w, b in params[:-1]:
        activations = np.tanh(activations @ w.T + b)
    final_w, final_b = params[-1]
    logits = activations @ final_w.T + final_b
    return logits - logsumexp(logits, axis=1, keepdims=True)


def jax_batched_loss(params, batch):
    images, targets = batch
    preds = batched_predict(params, images)
    return -np.mean(np.sum(preds * targets, axis=1))


PROGRAMS.append(Program("jax_mlp_batched_loss_batch_tuple", jax_batched_loss,
                        lambda: (init_network_params([4, 5, 3], 2),
                                 (train_inputs, train_labels))))


def sum_logistic(x):
    return np.sum(1.0 / (1.0 + np.exp(-x)))


PROGRAMS.append(Program("jax_sum_logistic", sum_logistic,
                        lambda: (np.arange(3.0),), hvp=True))


# --------------------------------------------------------------------------- logistic regression
def sigmoid(x):
    return 0.5 * (np.tanh(x / 2.) + 1)


def logistic_predictions(weights, inputs):
    return sigmoid(np.dot(inputs, weights))


binary_targets = np.array([True, True, False, True, False, False])


def training_loss(weights):
    preds = logistic_predictions(weights, train_inputs)
    label_probabilities = preds * binary_targets + (1 - preds) * (1 - binary_targets)
    return -np.sum(np.log(label_probabilities))


PROGRAMS.append(Program("logistic_regression_readme", training_loss,
                        lambda: (np.array([0.1, -0.2, 0.3, 0.05]),), hvp=True))


def logistic_loss_with_bias(w, b, X, y, lam=0.01):
    z = X @ w + b
    nll = np.mean(np.logaddexp(0, -z * y))
    return nll + lam * w.dot(w)


PROGRAMS.append(Program("logistic_regression_logaddexp_bias", logistic_loss_with_bias,
                        lambda: (np.array([0.3, -0.1, 0.2, 0.4]), 0.05, train_inputs,
                                 np.where(binary_targets, 1.0, -1.0)),
                        wrt=(0, 1), hvp=True))


def softmax_regression(W, X, labels):
    """Cross entropy with integer labels turned one-hot by indexing an identity matrix."""
    logits = X @ W
    logits = logits - logits.max(axis=1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    onehot = np.eye(W.shape[1])[labels]
    return -np.mean(np.sum(onehot * log_probs, axis=1))


PROGRAMS.append(Program("softmax_regression_int_labels", softmax_regression,
                        lambda: (npr.RandomState(3).randn(4, 3), train_inputs,
                                 np.array([0, 2, 1, 1, 0, 2])), hvp=True))


# --------------------------------------------------------------------------- rnn / lstm
def rnn_sigmoid(x):
    return 0.5 * (np.tanh(x) + 1.0)


def concat_and_multiply(weights, *args):
    cat_state = np.hstack(args + (np.ones((args[0].shape[0], 1)),))
    return np.dot(cat_state, weights)


def create_rnn_params(input_size, state_size, output_size, param_scale=0.3,
                      rs=npr.RandomState(0)):  # noqa: B008
    return {'init hiddens': rs.randn(1, state_size) * param_scale,
            'change': rs.randn(input_size + state_size + 1, state_size) * param_scale,
            'predict': rs.randn(state_size + 1, output_size) * param_scale}


def rnn_predict(params, inputs):
    def update_rnn(input, hiddens):
        return np.tanh(concat_and_multiply(params['change'], input, hiddens))

    def hiddens_to_output_probs(hiddens):
        output = concat_and_multiply(params['predict'], hiddens)
        return output - logsumexp(output, axis=1, keepdims=True)

    num_sequences = inputs.shape[1]
    hiddens = np.repeat(params['init hiddens'], num_sequences, axis=0)
    output = [hiddens_to_output_probs(hiddens)]

    for input in inputs:  # iterate over time steps
        hiddens = update_rnn(input, hiddens)
        output.append(hiddens_to_output_probs(hiddens))
    return output


def rnn_log_likelihood(params, inputs, targets):
    logprobs = rnn_predict(params, inputs)
    loglik = 0.0
    num_time_steps, num_examples, _ = inputs.shape
    for t in range(num_time_steps):
        loglik += np.sum(logprobs[t] * targets[t])
    return loglik / (num_time_steps * num_examples)


seq_rs = npr.RandomState(5)
seq_inputs = seq_rs.randn(4, 2, 3)                              # time, sequences, features
seq_targets = np.eye(3)[seq_rs.randint(0, 3, size=(4, 2))]


PROGRAMS.append(Program("rnn_log_likelihood", rnn_log_likelihood,
                        lambda: (create_rnn_params(3, 4, 3, rs=npr.RandomState(0)), seq_inputs,
                                 seq_targets)))


def create_lstm_params(input_size, state_size, output_size, param_scale=0.3,
                       rs=npr.RandomState(1)):  # noqa: B008
    def rp(*shape):
        return rs.randn(*shape) * param_scale
    return {'init cells': rp(1, state_size),
            'init hiddens': rp(1, state_size),
            'change': rp(input_size + state_size + 1, state_size),
            'forget': rp(input_size + state_size + 1, state_size),
            'ingate': rp(input_size + state_size + 1, state_size),
            'outgate': rp(input_size + state_size + 1, state_size),
            'predict': rp(state_size + 1, output_size)}


def lstm_predict(params, inputs):
    def update_lstm(input, hiddens, cells):
        change = np.tanh(concat_and_multiply(params['change'], input, hiddens))
        forget = rnn_sigmoid(concat_and_multiply(params['forget'], input, hiddens))
        ingate = rnn_sigmoid(concat_and_multiply(params['ingate'], input, hiddens))
        outgate = rnn_sigmoid(concat_and_multiply(params['outgate'], input, hiddens))
        cells = cells * forget + ingate * change
        hiddens = outgate * np.tanh(cells)
        return hiddens, cells

    def hiddens_to_output_probs(hiddens):
        output = concat_and_multiply(params['predict'], hiddens)
        return output - logsumexp(output, axis=1, keepdims=True)

    num_sequences = inputs.shape[1]
    hiddens = np.repeat(params['init hiddens'], num_sequences, axis=0)
    cells = np.repeat(params['init cells'], num_sequences, axis=0)

    output = [hiddens_to_output_probs(hiddens)]
    for input in inputs:
        hiddens, cells = update_lstm(input, hiddens, cells)
        output.append(hiddens_to_output_probs(hiddens))
    return output


def lstm_log_likelihood(params, inputs, targets):
    logprobs = lstm_predict(params, inputs)
    loglik = 0.0
    num_time_steps, num_examples, _ = inputs.shape
    for t in range(num_time_steps):
        loglik += np.sum(logprobs[t] * targets[t])
    return loglik / (num_time_steps * num_examples)


PROGRAMS.append(Program("lstm_log_likelihood", lstm_log_likelihood,
                        lambda: (create_lstm_params(3, 3, 3, rs=npr.RandomState(1)), seq_inputs,
                                 seq_targets)))


def elman_rnn_loss(Wx, Wh, Wy, xs, ys):
    """A plain loop over a list of time steps, hidden state carried, outputs appended."""
    h = np.zeros(Wh.shape[0])
    outputs = []
    for x in xs:
        h = np.tanh(Wx @ x + Wh @ h)
        outputs.append(Wy @ h)
    loss = 0.0
    for y_hat, y in zip(outputs, ys):
        loss = loss + 0.5 * np.sum((y_hat - y) ** 2)
    return loss / len(xs)


def _elman_args():
    rs = npr.RandomState(7)
    xs = [rs.randn(3) for _ in range(4)]
    ys = [rs.randn(2) for _ in range(4)]
    return 0.4 * rs.randn(4, 3), 0.4 * rs.randn(4, 4), 0.4 * rs.randn(2, 4), xs, ys


PROGRAMS.append(Program("elman_rnn_list_of_steps", elman_rnn_loss, _elman_args,
                        wrt=(0, 1, 2), hvp=False))


# --------------------------------------------------------------------------- bayesian neural net
def make_nn_funs(layer_sizes, L2_reg, noise_variance, nonlinearity=np.tanh):
    """Weights of many networks at once, one row per sample, unpacked by a generator."""
    shapes = list(zip(layer_sizes[:-1], layer_sizes[1:]))
    num_weights = sum((m + 1) * n for m, n in shapes)

    def unpack_layers(weights):
        num_weight_sets = len(weights)
        for m, n in shapes:
            yield weights[:, :m * n].reshape((num_weight_sets, m, n)), \
                weights[:, m * n:m * n + n].reshape((num_weight_sets, 1, n))
            weights = weights[:, (m + 1) * n:]

    def predictions(weights, inputs):
        inputs = np.expand_dims(inputs, 0)
        for W, b in unpack_layers(weights):
            outputs = np.einsum('mnd,mdo->mno', inputs, W) + b
            inputs = nonlinearity(outputs)
        return outputs

    def logprob(weights, inputs, targets):
        log_prior = -L2_reg * np.sum(weights**2, axis=1)
        preds = predictions(weights, inputs)
        log_lik = -np.sum((preds - targets)**2, axis=1)[:, 0] / noise_variance
        return log_prior + log_lik

    return num_weights, predictions, logprob


bnn_num_weights, bnn_predictions, bnn_logprob = make_nn_funs([1, 4, 1], 0.1, 0.01)
bnn_inputs = np.linspace(-2, 2, 5).reshape((5, 1))
bnn_targets = np.cos(bnn_inputs)


def bnn_variational_objective(params, eps):
    """Negative ELBO of a mean-field Gaussian over the network weights, eps fixed."""
    D = bnn_num_weights
    mean, log_std = params[:D], params[D:]
    samples = eps * np.exp(log_std) + mean
    entropy = 0.5 * D * (1.0 + np.log(2 * np.pi)) + np.sum(log_std)
    lower_bound = entropy + np.mean(bnn_logprob(samples, bnn_inputs, bnn_targets))
    return -lower_bound


PROGRAMS.append(Program("bayesian_neural_net_elbo", bnn_variational_objective,
                        lambda: (np.concatenate([0.3 * npr.RandomState(2).randn(
                            bnn_num_weights), -1.0 * np.ones(bnn_num_weights)]),
                                 npr.RandomState(3).randn(2, bnn_num_weights))))


# --------------------------------------------------------------------------- black-box SVI
def black_box_variational_inference(logprob, D, num_samples):
    """The objective factory of autograd's black_box_svi example, with the Monte Carlo draw
    made once outside (so the objective is a deterministic function of its parameters)."""
    rs = npr.RandomState(0)
    eps = rs.randn(num_samples, D)

    def unpack_params(params):
        mean, log_std = params[:D], params[D:]
        return mean, log_std

    def gaussian_entropy(log_std):
        return 0.5 * D * (1.0 + np.log(2 * np.pi)) + np.sum(log_std)

    def variational_objective(params, t):
        mean, log_std = unpack_params(params)
        samples = eps * np.exp(log_std) + mean
        lower_bound = gaussian_entropy(log_std) + np.mean(logprob(samples, t))
        return -lower_bound

    return variational_objective, unpack_params


def log_density(x, t):
    mu, log_sigma = x[:, 0], x[:, 1]
    sigma_density = norm.logpdf(log_sigma, 0, 1.35)
    mu_density = norm.logpdf(mu, 0, np.exp(log_sigma))
    return sigma_density + mu_density


svi_objective, _ = black_box_variational_inference(log_density, D=2, num_samples=5)
PROGRAMS.append(Program("black_box_svi_norm_logpdf", svi_objective,
                        lambda: (np.array([-1.0, -1.0, -5.0, -5.0]) * 0.2, 0)))


def log_density_by_hand(x, t):
    mu, log_sigma = x[:, 0], x[:, 1]
    sigma_density = -0.5 * (log_sigma / 1.35) ** 2 - np.log(1.35 * np.sqrt(2 * np.pi))
    mu_density = -0.5 * (mu / np.exp(log_sigma)) ** 2 - log_sigma - 0.5 * np.log(2 * np.pi)
    return sigma_density + mu_density


svi_objective_by_hand, _ = black_box_variational_inference(log_density_by_hand, D=2,
                                                           num_samples=5)
PROGRAMS.append(Program("black_box_svi_density_by_hand", svi_objective_by_hand,
                        lambda: (np.array([-1.0, -1.0, -5.0, -5.0]) * 0.2, 0), hvp=False))


def svi_fresh_seeded_draw(params):
    """A draw inside the objective from a freshly seeded generator (deterministic)."""
    rs = npr.RandomState(0)
    mean, log_std = params[:2], params[2:]
    samples = rs.randn(5, 2) * np.exp(log_std) + mean
    return -(np.sum(log_std) + np.mean(log_density_by_hand(samples, 0)))


PROGRAMS.append(Program("black_box_svi_seeded_draw_inside", svi_fresh_seeded_draw,
                        lambda: (np.array([0.2, -0.3, -1.0, -0.5]),)))


# --------------------------------------------------------------------------- gaussian process
def rbf_covariance(kernel_params, x, xp):
    output_scale = np.exp(kernel_params[0])
    lengthscales = np.exp(kernel_params[1:])
    diffs = np.expand_dims(x / lengthscales, 1) - np.expand_dims(xp / lengthscales, 0)
    return output_scale * np.exp(-0.5 * np.sum(diffs**2, axis=2))


def make_gp_funs(cov_func, num_cov_params):
    """GP regression with the covariance function passed in (a closure over it)."""
    def unpack_kernel_params(params):
        mean = params[0]
        cov_params = params[2:]
        noise_scale = np.exp(params[1]) + 0.0001
        return mean, cov_params, noise_scale

    def log_marginal_likelihood(params, x, y):
        mean, cov_params, noise_scale = unpack_kernel_params(params)
        cov_y_y = cov_func(cov_params, x, x) + noise_scale * np.eye(len(y))
        prior_mean = mean * np.ones(len(y))
        return scipy.stats.multivariate_normal.logpdf(y, prior_mean, cov_y_y)

    def log_marginal_likelihood_cholesky(params, x, y):
        mean, cov_params, noise_scale = unpack_kernel_params(params)
        K = cov_func(cov_params, x, x) + noise_scale * np.eye(len(y))
        L = np.linalg.cholesky(K)
        alpha = np.linalg.solve(L.T, np.linalg.solve(L, y - mean))
        return (-0.5 * np.dot(y - mean, alpha) - np.sum(np.log(np.diag(L)))
                - 0.5 * len(y) * np.log(2 * np.pi))

    def log_marginal_likelihood_slogdet(params, x, y):
        mean, cov_params, noise_scale = unpack_kernel_params(params)
        K = cov_func(cov_params, x, x) + noise_scale * np.eye(len(y))
        sign, logdet = np.linalg.slogdet(K)
        r = y - mean
        return -0.5 * (r @ np.linalg.inv(K) @ r + logdet + len(y) * np.log(2 * np.pi))

    return (num_cov_params + 2, log_marginal_likelihood, log_marginal_likelihood_cholesky,
            log_marginal_likelihood_slogdet)


gp_rs = npr.RandomState(4)
gp_x = np.linspace(-2, 2, 6).reshape((6, 1))
gp_y = np.sin(gp_x[:, 0]) + 0.1 * gp_rs.randn(6)
_, gp_mvn, gp_cholesky, gp_slogdet = make_gp_funs(rbf_covariance, num_cov_params=2)


def _gp_args():
    return np.array([0.1, -1.0, 0.2, 0.3]), gp_x, gp_y


PROGRAMS.append(Program("gp_mvn_logpdf", gp_mvn, _gp_args))
PROGRAMS.append(Program("gp_cholesky_solve", gp_cholesky, _gp_args, hvp=True))
PROGRAMS.append(Program("gp_inv_slogdet", gp_slogdet, _gp_args, hvp=True))


def gp_lambda_kernel(log_ell, log_sf, log_sn, x, y):
    """Kernel as a lambda defined inside the objective, closing over hyperparameters."""
    ell, sf2 = np.exp(log_ell), np.exp(2 * log_sf)
    kernel = lambda a, b: sf2 * np.exp(-0.5 * (a[:, None] - b[None, :]) ** 2 / ell ** 2)  # noqa: E731
    K = kernel(x, x) + np.exp(2 * log_sn) * np.eye(len(x))
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(K, y)
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(L)))


PROGRAMS.append(Program("gp_kernel_lambda_in_objective", gp_lambda_kernel,
                        lambda: (0.2, 0.1, -1.0, gp_x[:, 0], gp_y), wrt=(0, 1, 2)))


# ---------------------------------------------------------------- variational autoencoder
def diag_gaussian_log_density(x, mu, log_std):
    return np.sum(norm.logpdf(x, mu, np.exp(log_std)), axis=-1)


def unpack_gaussian_params(params):
    D = np.shape(params)[-1] // 2
    mean, log_std = params[:, :D], params[:, D:]
    return mean, log_std


def bernoulli_log_density(targets, unnormalized_logprobs):
    # targets are -1 or 1
    label_probabilities = -np.logaddexp(0, -unnormalized_logprobs * targets)
    return np.sum(label_probabilities, axis=-1)


def vae_net_predict(params, inputs):
    for W, b in params[:-1]:
        inputs = np.tanh(np.dot(inputs, W) + b)
    outW, outb = params[-1]
    return np.dot(inputs, outW) + outb


def vae_lower_bound(gen_params, rec_params, data, eps):
    q_means, q_log_stds = unpack_gaussian_params(vae_net_predict(rec_params, data))
    latents = q_means + np.exp(q_log_stds) * eps
    q_latents = diag_gaussian_log_density(latents, q_means, q_log_stds)
    p_latents = diag_gaussian_log_density(latents, 0, 0)
    logits = vae_net_predict(gen_params, latents)
    p_x = bernoulli_log_density(data, logits)
    return np.mean(p_x + p_latents - q_latents)


vae_data = np.where(npr.RandomState(8).rand(3, 4) > 0.5, 1.0, -1.0)


def _vae_args():
    return (init_random_params(0.3, [2, 3, 4], rs=npr.RandomState(9)),
            init_random_params(0.3, [4, 3, 4], rs=npr.RandomState(10)),
            vae_data, npr.RandomState(11).randn(3, 2))


PROGRAMS.append(Program("vae_lower_bound_norm_logpdf", vae_lower_bound, _vae_args,
                        wrt=(0, 1)))


def diag_gaussian_by_hand(x, mu, log_std):
    return np.sum(-0.5 * ((x - mu) / np.exp(log_std)) ** 2 - log_std
                  - 0.5 * np.log(2 * np.pi), axis=-1)


def vae_lower_bound_by_hand(gen_params, rec_params, data, eps):
    q_means, q_log_stds = unpack_gaussian_params(vae_net_predict(rec_params, data))
    latents = q_means + np.exp(q_log_stds) * eps
    q_latents = diag_gaussian_by_hand(latents, q_means, q_log_stds)
    p_latents = diag_gaussian_by_hand(latents, 0, 0)
    logits = vae_net_predict(gen_params, latents)
    p_x = bernoulli_log_density(data, logits)
    return np.mean(p_x + p_latents - q_latents)


PROGRAMS.append(Program("vae_lower_bound_by_hand", vae_lower_bound_by_hand, _vae_args,
                        wrt=(0, 1)))


# --------------------------------------------------------------------------- gaussian mixture
def init_gmm_params(num_components, D, scale, rs=npr.RandomState(0)):  # noqa: B008
    return {'log proportions': rs.randn(num_components) * scale,
            'means': rs.randn(num_components, D) * scale,
            'lower triangles': np.zeros((num_components, D, D)) + np.eye(D)}


def log_normalize(x):
    return x - logsumexp(x)


def unpack_gmm_params(params):
    normalized_log_proportions = log_normalize(params['log proportions'])
    return normalized_log_proportions, params['means'], params['lower triangles']


def gmm_log_likelihood(params, data):
    cluster_lls = []
    for log_proportion, mean, cov_sqrt in zip(*unpack_gmm_params(params)):
        cov = np.dot(cov_sqrt.T, cov_sqrt)
        cluster_lls.append(log_proportion + scipy.stats.multivariate_normal.logpdf(
            data, mean, cov))
    return np.sum(logsumexp(np.vstack(cluster_lls), axis=0))


gmm_data = npr.RandomState(12).randn(7, 2)


def _gmm_args():
    params = init_gmm_params(3, 2, 0.5, rs=npr.RandomState(0))
    params['lower triangles'] = params['lower triangles'] + 0.1 * npr.RandomState(13).randn(
        3, 2, 2)
    return params, gmm_data


PROGRAMS.append(Program("gmm_mvn_logpdf", gmm_log_likelihood, _gmm_args))


def mvn_logpdf(x, mean, cov):
    """Multivariate normal log density by hand: solve and slogdet."""
    D = len(mean)
    diff = x - mean
    sign, logdet = np.linalg.slogdet(cov)
    maha = np.sum(diff * np.linalg.solve(cov, diff.T).T, axis=1)
    return -0.5 * (maha + logdet + D * np.log(2 * np.pi))


def gmm_log_likelihood_by_hand(params, data):
    cluster_lls = []
    for log_proportion, mean, cov_sqrt in zip(*unpack_gmm_params(params)):
        cov = np.dot(cov_sqrt.T, cov_sqrt)
        cluster_lls.append(log_proportion + mvn_logpdf(data, mean, cov))
    return np.sum(logsumexp(np.vstack(cluster_lls), axis=0))


PROGRAMS.append(Program("gmm_mvn_by_hand_zip_star", gmm_log_likelihood_by_hand, _gmm_args))


def mixture_1d_nll(logits, means, log_scales, x):
    """A 1-d mixture: norm.logpdf broadcast over components, logsumexp over them."""
    log_weights = logits - logsumexp(logits)
    component_lls = norm.logpdf(x[:, None], means[None, :], np.exp(log_scales)[None, :])
    return -np.sum(logsumexp(log_weights + component_lls, axis=1))


PROGRAMS.append(Program("mixture_1d_norm_logpdf", mixture_1d_nll,
                        lambda: (np.array([0.1, -0.3, 0.2]), np.array([-1.0, 0.0, 1.5]),
                                 np.array([-0.2, 0.1, 0.3]), regression_y / 3),
                        wrt=(0, 1, 2)))


# --------------------------------------------------------------------------- ICA
def make_ica_funs(observed_dimension, latent_dimension):
    """autograd's ica example: a Student-t likelihood on the observations."""
    def logprob(weights, latents, noise_std, observations):
        preds = np.dot(weights, latents)
        log_lik = np.sum(scipy.stats.t.logpdf(preds, 2.4, observations, noise_std))
        return log_lik

    num_weights = observed_dimension * latent_dimension

    def unpack_weights(weights):
        return np.reshape(weights, (observed_dimension, latent_dimension))

    return num_weights, unpack_weights, logprob


ica_num_weights, ica_unpack, ica_logprob = make_ica_funs(3, 2)
ica_observations = npr.RandomState(14).randn(3, 6)


def ica_objective(params):
    weights = ica_unpack(params[:ica_num_weights])
    latents = np.reshape(params[ica_num_weights:], (2, 6))
    return -ica_logprob(weights, latents, 0.5, ica_observations)


PROGRAMS.append(Program("ica_student_t_logpdf", ica_objective,
                        lambda: (0.3 * npr.RandomState(15).randn(ica_num_weights + 12),)))


def ica_loglik_by_hand(W, X):
    """Maximum-likelihood ICA: log|det W| plus a logcosh source prior."""
    S = X.T @ W.T
    sign, logdet = np.linalg.slogdet(W)
    return np.sum(-2.0 * np.log(np.cosh(S))) / len(S) + logdet


PROGRAMS.append(Program("ica_logcosh_slogdet", ica_loglik_by_hand,
                        lambda: (np.eye(3) + 0.2 * npr.RandomState(16).randn(3, 3),
                                 ica_observations), hvp=True))


# --------------------------------------------------------------------------- HMM forward algorithm
def hmm_log_partition(natural_params, data):
    log_pi, log_A, log_B = natural_params
    log_alpha = log_pi
    for y in data:
        log_alpha = logsumexp(log_alpha[:, None] + log_A, axis=0) + log_B[:, y]
    return logsumexp(log_alpha)


hmm_data = np.array([0, 2, 1, 1, 0, 2])


def _hmm_args():
    rs = npr.RandomState(17)
    return (rs.randn(2), rs.randn(2, 2), rs.randn(2, 3)), hmm_data


PROGRAMS.append(Program("hmm_forward_algorithm", hmm_log_partition, _hmm_args))


def hmm_normalized_loglik(log_pi, log_A, log_B, sequences):
    """Normalized parameters, a list of observation sequences, `sum(map(lambda ...))`."""
    log_pi = log_pi - logsumexp(log_pi)
    log_A = log_A - logsumexp(log_A, axis=1, keepdims=True)
    log_B = log_B - logsumexp(log_B, axis=1, keepdims=True)
    return sum(map(lambda seq: hmm_log_partition((log_pi, log_A, log_B), seq), sequences))


PROGRAMS.append(Program("hmm_normalized_sequences_map_lambda", hmm_normalized_loglik,
                        lambda: (*_hmm_args()[0], [hmm_data, hmm_data[::-1][:4]]),
                        wrt=(0, 1, 2)))


def hmm_forward_indexed(log_pi, log_A, log_B, obs):
    T = len(obs)
    log_alpha = np.zeros((T, len(log_pi)))
    log_alpha[0] = log_pi + log_B[:, obs[0]]
    for t in range(1, T):
        log_alpha[t] = logsumexp(log_alpha[t - 1][:, None] + log_A, axis=0) + log_B[:, obs[t]]
    return logsumexp(log_alpha[-1])


PROGRAMS.append(Program("hmm_forward_table_writes", hmm_forward_indexed,
                        lambda: (*_hmm_args()[0], hmm_data), wrt=(0, 1, 2)))


# --------------------------------------------------------------------------- regression losses
def gaussian_nll(w, log_sigma, X, y):
    """A regression loss with scipy.stats.norm.logpdf and keyword arguments."""
    mu = X @ w
    return -np.sum(norm.logpdf(y, loc=mu, scale=np.exp(log_sigma)))


PROGRAMS.append(Program("regression_norm_logpdf_keywords", gaussian_nll,
                        lambda: (np.array([0.3, -0.5, 1.0]), 0.2, regression_x, regression_y),
                        wrt=(0, 1)))


def poisson_glm_nll(beta, X, counts):
    eta = X @ beta
    return -np.sum(counts * eta - np.exp(eta) - scipy.special.gammaln(counts + 1))


PROGRAMS.append(Program("poisson_glm_gammaln", poisson_glm_nll,
                        lambda: (np.array([0.1, -0.2, 0.3]), regression_x,
                                 np.array([0.0, 1.0, 3.0, 2.0, 0.0, 1.0, 5.0, 2.0])), hvp=True))


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


PROGRAMS.append(Program("rosenbrock", rosenbrock,
                        lambda: (np.array([-1.2, 1.0, 0.8, 1.1]),), hvp=True))


# --------------------------------------------------------------------------- PyTorch-style loops
def mse_epoch(w, b, X, y, batch_size=3):
    """One epoch of minibatch losses, PyTorch style, with `.mean()`, `@` and a print."""
    n = X.shape[0]
    total = 0.0
    for start in range(0, n, batch_size):
        xb = X[start:start + batch_size]
        yb = y[start:start + batch_size]
        pred = xb @ w + b
        loss = ((pred - yb) ** 2).mean()
        total += loss * len(xb)
    print(f"epoch loss {total / n:.4f}")
    return total / n


PROGRAMS.append(Program("pytorch_style_epoch_minibatches", mse_epoch,
                        lambda: (np.array([0.1, 0.2, -0.1]), 0.3, regression_x, regression_y),
                        wrt=(0, 1), hvp=True))


def unrolled_sgd_validation(log_lr, w0):
    """Hyperparameter gradient through a few hand-written SGD steps (prints in the loop)."""
    lr = np.exp(log_lr)
    w = w0
    X_train, y_train = regression_x[:5], regression_y[:5]
    X_val, y_val = regression_x[5:], regression_y[5:]
    for step in range(4):
        grad_w = X_train.T @ (X_train @ w - y_train) / len(y_train)
        w = w - lr * grad_w
        if step % 2 == 0:
            print("step", step, "train loss", np.mean((X_train @ w - y_train) ** 2))
    return np.mean((X_val @ w - y_val) ** 2)


PROGRAMS.append(Program("unrolled_sgd_hyperparameter", unrolled_sgd_validation,
                        lambda: (np.log(0.1), np.zeros(3)), wrt=(0, 1)))


def neural_ode_euler(W, z0, num_steps=5, dt=0.1):
    z = z0
    trajectory = [z]
    for _ in range(num_steps):
        z = z + dt * np.tanh(z @ W)
        trajectory.append(z)
    return np.sum(np.stack(trajectory) ** 2)


PROGRAMS.append(Program("neural_ode_euler_stack", neural_ode_euler,
                        lambda: (0.5 * npr.RandomState(18).randn(3, 3),
                                 npr.RandomState(19).randn(2, 3)), wrt=(0, 1), hvp=True))


# --------------------------------------------------------------------------- small building blocks
def conv1d_valid(x, w):
    n = len(x) - len(w) + 1
    return np.array([np.dot(x[i:i + len(w)], w) for i in range(n)])


def conv_net_loss(w, x, target):
    return np.sum((np.tanh(conv1d_valid(x, w)) - target) ** 2)


PROGRAMS.append(Program("conv1d_list_comprehension", conv_net_loss,
                        lambda: (np.array([0.2, -0.5, 0.3]), np.linspace(-1.0, 1.0, 7),
                                 np.zeros(5)), wrt=(0, 1)))


def embedding_bag(E, W, word_ids):
    """Embedding lookup with repeated ids (the gradient must accumulate duplicates)."""
    h = E[word_ids].mean(axis=0)
    return np.sum(np.tanh(h @ W))


PROGRAMS.append(Program("embedding_lookup_repeated_ids", embedding_bag,
                        lambda: (npr.RandomState(20).randn(5, 3), npr.RandomState(21).randn(3, 2),
                                 np.array([1, 3, 1, 4, 1])), wrt=(0, 1)))


def attention(Q, K, V):
    scores = Q @ K.T / np.sqrt(Q.shape[-1])
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = e / e.sum(axis=-1, keepdims=True)
    return np.sum((weights @ V) ** 2)


PROGRAMS.append(Program("softmax_attention", attention,
                        lambda: tuple(npr.RandomState(22 + k).randn(3, 4) for k in range(3)),
                        wrt=(0, 1, 2)))


def batch_norm_mlp(W1, gamma, beta, X):
    h = X @ W1
    mu = h.mean(axis=0)
    var = h.var(axis=0)
    h_hat = (h - mu) / np.sqrt(var + 1e-5)
    out = np.tanh(gamma * h_hat + beta)
    return np.sum(out ** 2)


PROGRAMS.append(Program("batch_norm_layer", batch_norm_mlp,
                        lambda: (npr.RandomState(25).randn(4, 3), np.ones(3),
                                 np.zeros(3), train_inputs), wrt=(0, 1, 2)))


def object_params_loss(params, X, y):
    h = X
    for W, b in params:
        h = np.tanh(h @ W + b)
    return np.mean((h[:, 0] - y) ** 2)


PROGRAMS.append(Program("mlp_regression_list_of_tuples_tanh_last", object_params_loss,
                        lambda: (init_random_params(0.5, [3, 4, 1], rs=npr.RandomState(26)),
                                 regression_x, np.tanh(regression_y))))


# --------------------------------------------------------------------------- minimal rewrites
# The smallest change that gets each refused program above past its refusal, so that what is
# behind the refused construct is checked too.
def concat_and_multiply_tuple(weights, args):
    cat_state = np.hstack(args + (np.ones((args[0].shape[0], 1)),))
    return np.dot(cat_state, weights)


def rnn_log_likelihood_no_varargs(params, inputs, targets):
    """rnn_log_likelihood with concat_and_multiply taking a tuple instead of *args."""
    def update_rnn(input, hiddens):
        return np.tanh(concat_and_multiply_tuple(params['change'], (input, hiddens)))

    def hiddens_to_output_probs(hiddens):
        output = concat_and_multiply_tuple(params['predict'], (hiddens,))
        return output - logsumexp(output, axis=1, keepdims=True)

    num_sequences = inputs.shape[1]
    hiddens = np.repeat(params['init hiddens'], num_sequences, axis=0)
    logprobs = [hiddens_to_output_probs(hiddens)]
    for input in inputs:
        hiddens = update_rnn(input, hiddens)
        logprobs.append(hiddens_to_output_probs(hiddens))
    loglik = 0.0
    num_time_steps, num_examples, _ = inputs.shape
    for t in range(num_time_steps):
        loglik += np.sum(logprobs[t] * targets[t])
    return loglik / (num_time_steps * num_examples)


PROGRAMS.append(Program("rnn_log_likelihood_no_varargs", rnn_log_likelihood_no_varargs,
                        lambda: (create_rnn_params(3, 4, 3, rs=npr.RandomState(0)), seq_inputs,
                                 seq_targets)))


def lstm_log_likelihood_no_varargs(params, inputs, targets):
    """lstm_log_likelihood with concat_and_multiply taking a tuple instead of *args."""
    def gate(name, input, hiddens):
        return concat_and_multiply_tuple(params[name], (input, hiddens))

    num_sequences = inputs.shape[1]
    hiddens = np.repeat(params['init hiddens'], num_sequences, axis=0)
    cells = np.repeat(params['init cells'], num_sequences, axis=0)
    loglik = 0.0
    for t, input in enumerate(inputs):
        change = np.tanh(gate('change', input, hiddens))
        forget = rnn_sigmoid(gate('forget', input, hiddens))
        ingate = rnn_sigmoid(gate('ingate', input, hiddens))
        outgate = rnn_sigmoid(gate('outgate', input, hiddens))
        cells = cells * forget + ingate * change
        hiddens = outgate * np.tanh(cells)
        output = concat_and_multiply_tuple(params['predict'], (hiddens,))
        logprobs = output - logsumexp(output, axis=1, keepdims=True)
        loglik += np.sum(logprobs * targets[t])
    return loglik / (inputs.shape[0] * inputs.shape[1])


PROGRAMS.append(Program("lstm_log_likelihood_no_varargs", lstm_log_likelihood_no_varargs,
                        lambda: (create_lstm_params(3, 3, 3, rs=npr.RandomState(1)),
                                 seq_inputs, seq_targets)))


def bnn_unpack_layers_list(weights, shapes=((1, 4), (4, 1))):
    """unpack_layers returning a list instead of yielding."""
    num_weight_sets = len(weights)
    layers = []
    for m, n in shapes:
        layers.append((weights[:, :m * n].reshape((num_weight_sets, m, n)),
                       weights[:, m * n:m * n + n].reshape((num_weight_sets, 1, n))))
        weights = weights[:, (m + 1) * n:]
    return layers


def bnn_objective_no_generator(params, eps):
    D = bnn_num_weights
    mean, log_std = params[:D], params[D:]
    samples = eps * np.exp(log_std) + mean
    inputs = np.expand_dims(bnn_inputs, 0)
    for W, b in bnn_unpack_layers_list(samples):
        outputs = np.einsum('mnd,mdo->mno', inputs, W) + b
        inputs = np.tanh(outputs)
    log_prior = -0.1 * np.sum(samples**2, axis=1)
    log_lik = -np.sum((outputs - bnn_targets)**2, axis=1)[:, 0] / 0.01
    entropy = 0.5 * D * (1.0 + np.log(2 * np.pi)) + np.sum(log_std)
    return -(entropy + np.mean(log_prior + log_lik))


def _bnn_args():
    return (np.concatenate([0.3 * npr.RandomState(2).randn(bnn_num_weights),
                            -1.0 * np.ones(bnn_num_weights)]),
            npr.RandomState(3).randn(2, bnn_num_weights))


PROGRAMS.append(Program("bayesian_neural_net_elbo_no_generator", bnn_objective_no_generator,
                        _bnn_args))


def bnn_objective_layers_named(params, eps):
    """bayesian_neural_net_elbo_no_generator with the list of layers named before the loop."""
    D = bnn_num_weights
    mean, log_std = params[:D], params[D:]
    samples = eps * np.exp(log_std) + mean
    inputs = np.expand_dims(bnn_inputs, 0)
    layers = bnn_unpack_layers_list(samples)
    for W, b in layers:
        outputs = np.einsum('mnd,mdo->mno', inputs, W) + b
        inputs = np.tanh(outputs)
    log_prior = -0.1 * np.sum(samples**2, axis=1)
    log_lik = -np.sum((outputs - bnn_targets)**2, axis=1)[:, 0] / 0.01
    entropy = 0.5 * D * (1.0 + np.log(2 * np.pi)) + np.sum(log_std)
    return -(entropy + np.mean(log_prior + log_lik))


PROGRAMS.append(Program("bayesian_neural_net_elbo_layers_named", bnn_objective_layers_named,
                        _bnn_args))


def gmm_log_likelihood_no_star(params, data):
    """gmm_mvn_by_hand_zip_star with the unpacked triple named instead of zip(*...)."""
    log_proportions, means, cov_sqrts = unpack_gmm_params(params)
    cluster_lls = []
    for log_proportion, mean, cov_sqrt in zip(log_proportions, means, cov_sqrts):
        cov = np.dot(cov_sqrt.T, cov_sqrt)
        cluster_lls.append(log_proportion + mvn_logpdf(data, mean, cov))
    return np.sum(logsumexp(np.vstack(cluster_lls), axis=0))


PROGRAMS.append(Program("gmm_mvn_by_hand_no_star", gmm_log_likelihood_no_star, _gmm_args))


def hmm_normalized_loglik_genexp(log_pi, log_A, log_B, sequences):
    """hmm_normalized_sequences_map_lambda with a generator expression instead of map."""
    log_pi = log_pi - logsumexp(log_pi)
    log_A = log_A - logsumexp(log_A, axis=1, keepdims=True)
    log_B = log_B - logsumexp(log_B, axis=1, keepdims=True)
    return sum(hmm_log_partition((log_pi, log_A, log_B), seq) for seq in sequences)


PROGRAMS.append(Program("hmm_normalized_sequences_genexp", hmm_normalized_loglik_genexp,
                        lambda: (*_hmm_args()[0], [hmm_data, hmm_data[::-1][:4]]),
                        wrt=(0, 1, 2)))


def mse_epoch_no_print(w, b, X, y, batch_size=3):
    n = X.shape[0]
    total = 0.0
    for start in range(0, n, batch_size):
        xb = X[start:start + batch_size]
        yb = y[start:start + batch_size]
        pred = xb @ w + b
        loss = ((pred - yb) ** 2).mean()
        total += loss * len(xb)
    return total / n


PROGRAMS.append(Program("pytorch_style_epoch_no_print", mse_epoch_no_print,
                        lambda: (np.array([0.1, 0.2, -0.1]), 0.3, regression_x, regression_y),
                        wrt=(0, 1), hvp=True))


def unrolled_sgd_no_print(log_lr, w0):
    lr = np.exp(log_lr)
    w = w0
    X_train, y_train = regression_x[:5], regression_y[:5]
    X_val, y_val = regression_x[5:], regression_y[5:]
    for _ in range(4):
        grad_w = X_train.T @ (X_train @ w - y_train) / len(y_train)
        w = w - lr * grad_w
    return np.mean((X_val @ w - y_val) ** 2)


PROGRAMS.append(Program("unrolled_sgd_no_print", unrolled_sgd_no_print,
                        lambda: (np.log(0.1), np.zeros(3)), wrt=(0, 1)))


def bias_first_rnn_loss(W_h, W_out, xs):
    """A recurrent cell that puts the bias column first: `(ones,) + (x, h)`."""
    h = np.zeros((xs.shape[1], W_h.shape[1]))
    loss = 0.0
    for x in xs:
        parts = (np.ones((x.shape[0], 1)),) + (x, h)
        h = np.tanh(np.hstack(parts) @ W_h)
        loss = loss + np.sum((h @ W_out) ** 2)
    return loss


PROGRAMS.append(Program("rnn_bias_column_first_tuple_concat", bias_first_rnn_loss,
                        lambda: (0.4 * npr.RandomState(27).randn(1 + 3 + 4, 4),
                                 npr.RandomState(28).randn(4, 2), seq_inputs),
                        wrt=(0, 1)))


# --------------------------------------------------------------------------- everyday NumPy
def standardized_regression(w, X, y):
    """Standardize the predictions with mean and std (`.std()` as a method)."""
    pred = X @ w
    z = (pred - pred.mean()) / pred.std()
    return np.mean((z - y) ** 2)


PROGRAMS.append(Program("standardize_with_std", standardized_regression,
                        lambda: (np.array([0.4, -0.3, 0.8]), regression_x,
                                 regression_y / 3), hvp=True))


def polynomial_fit(w, t, y):
    """Design matrix built with np.c_ inside the objective."""
    features = np.c_[np.ones(len(t)), t, t ** 2]
    return np.sum((features @ w - y) ** 2)


PROGRAMS.append(Program("polynomial_design_matrix_c_", polynomial_fit,
                        lambda: (np.array([0.1, -0.2, 0.3]), np.linspace(-1, 1, 6),
                                 np.cos(np.linspace(-1, 1, 6))), hvp=True))


def decay_fit(log_k, amplitude, observed):
    """A time grid made with np.linspace inside the model."""
    ts = np.linspace(0.0, 2.0, len(observed))
    model = amplitude * np.exp(-np.exp(log_k) * ts)
    return 0.5 * np.sum((model - observed) ** 2)


PROGRAMS.append(Program("exponential_decay_linspace", decay_fit,
                        lambda: (0.1, 1.5, np.array([1.4, 1.0, 0.7, 0.5, 0.4])),
                        wrt=(0, 1)))


def cumulative_path(increments):
    """A path starting at zero: np.r_ prepends a constant to a cumulative sum."""
    path = np.r_[0.0, np.cumsum(increments)]
    return np.sum(np.sin(path) ** 2)


PROGRAMS.append(Program("random_walk_r_prepend", cumulative_path,
                        lambda: (np.array([0.3, -0.2, 0.5, 0.1]),), hvp=True))


def p_norm_penalty(w, p=1.5):
    return np.sum(np.abs(w) ** p) ** (1.0 / p) + np.sum(np.power(w ** 2 + 1.0, 0.25))


PROGRAMS.append(Program("fractional_powers", p_norm_penalty,
                        lambda: (np.array([0.4, -1.2, 0.7]),), hvp=True))


def spectral_energy(x):
    """Energy of a signal's spectrum (complex intermediate values)."""
    spectrum = np.fft.fft(x)
    return np.sum(np.abs(spectrum) ** 2) / len(x)


PROGRAMS.append(Program("fft_spectral_energy", spectral_energy,
                        lambda: (np.array([0.3, -0.2, 0.5, 0.1]),)))


def phase_rotation(theta, z_re):
    """Rotate points by exp(i theta) and keep the real part."""
    rotated = z_re * np.exp(1j * theta)
    return np.sum(np.real(rotated) ** 2)


PROGRAMS.append(Program("complex_phase_rotation", phase_rotation,
                        lambda: (0.3, np.array([1.0, 2.0, -0.5]))))



# ------------------------------------------------- neural ODE (odeint with a list of layers)
def init_ode_layers(sizes, scale=0.4, rs=npr.RandomState(5)):  # noqa: B008 - as in the examples
    return [(rs.randn(m, n) * scale, rs.randn(n) * scale) for m, n in zip(sizes[:-1], sizes[1:])]


def ode_mlp(state, t, layers):
    """The learned vector field: an MLP of the state (t unused), layers a list of (W, b)."""
    h = state
    for W, b in layers[:-1]:
        h = np.tanh(np.dot(h, W) + b)
    W, b = layers[-1]
    return np.dot(h, W) + b


ode_times = np.linspace(0.0, 1.0, 6)
ode_start = np.array([1.0, -0.5])
ode_observed = np.stack([np.cos(2 * ode_times), -np.sin(2 * ode_times)], axis=1)


def neural_ode_loss(layers):
    path = scipy.integrate.odeint(ode_mlp, ode_start, ode_times, args=(layers,),
                                  rtol=1e-10, atol=1e-10)
    return np.mean((path - ode_observed) ** 2)


PROGRAMS.append(Program("neural_ode_layer_list", neural_ode_loss,
                        lambda: (init_ode_layers([2, 4, 2]),)))


def ode_mlp_dict(state, t, net, n_hidden):
    """The same field with dict parameters and an integer in args (not differentiated)."""
    h = np.tanh(np.dot(state, net["hidden"]["W"]) + net["hidden"]["b"])
    return np.dot(h[:n_hidden], net["out"])


def neural_ode_dict_loss(net, y0):
    path = scipy.integrate.odeint(ode_mlp_dict, y0, ode_times, args=(net, 3), rtol=1e-10,
                                  atol=1e-10)
    return np.sum(path[-1] ** 2) + np.mean(path[:, 0])


def _ode_dict_args():
    rs = npr.RandomState(8)
    net = {"hidden": {"W": 0.5 * rs.randn(2, 3), "b": 0.1 * rs.randn(3)},
           "out": 0.5 * rs.randn(3, 2)}
    return net, np.array([0.4, 0.9])


PROGRAMS.append(Program("neural_ode_dict_params", neural_ode_dict_loss, _ode_dict_args,
                        wrt=(0, 1)))


# ------------------------------------------------------- fixed-point square root (curried)
def heron_step(a):
    return lambda x: 0.5 * (x + a / x)


def relaxed_step(a):
    return lambda x: x - 0.1 * (x * x - a)


def abs_gap(x, y):
    return np.abs(x - y)


def heron_sqrt(a):
    return tangent_src.fixed_point(heron_step, a, 1.0, abs_gap, 1e-14)


def relaxed_sqrt_loss(a, guess=3.0):
    root = tangent_src.fixed_point(relaxed_step, a, guess, abs_gap, 1e-14)
    return root * np.log(a) + root ** 3


PROGRAMS.append(Program("fixed_point_heron_sqrt", heron_sqrt, lambda: (2.5,), hvp=True))
PROGRAMS.append(Program("fixed_point_relaxed_sqrt", relaxed_sqrt_loss, lambda: (1.7,),
                        hvp=True))



# ------------------------------------------- map(functools.partial(f, params), sequences)
def sequence_log_likelihood(natural_params, seq):
    log_pi, log_A = natural_params
    log_alpha = log_pi
    for y in seq:
        log_alpha = logsumexp(log_alpha[:, None] + log_A, axis=0) + 0.1 * y
    return logsumexp(log_alpha)


hmm_sequences = [np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.2]), np.array([-0.3, 0.7, 0.1])]


def hmm_total_log_likelihood(natural_params):
    return sum(map(functools.partial(sequence_log_likelihood, natural_params), hmm_sequences))


def _natural_params_args():
    rs = npr.RandomState(4)
    return ([np.log(rs.dirichlet(np.ones(3))), np.log(rs.dirichlet(np.ones(3), size=3))],)


PROGRAMS.append(Program("map_partial_over_sequences", hmm_total_log_likelihood,
                        _natural_params_args))


# Programs tangent_src refuses, with the error class (and a fragment of the message).
REFUSED: dict[str, tuple[type, str]] = {
}


# =========================================================================== the checks
def _ids(programs):
    return [p.name for p in programs]


def _grad_tuple(p, args):
    wrt = p.wrt if len(p.wrt) > 1 else p.wrt[0]
    grads = tangent_src.grad(p.func, wrt=wrt)(*args)
    return grads if len(p.wrt) > 1 else (grads,)


def _assert_located_refusal(p, run):
    error_class, fragment = REFUSED[p.name]
    with pytest.raises(TangentError) as info:
        run()
    err = info.value
    assert isinstance(err, error_class), f"{p.name}: expected {error_class.__name__}, got " \
                                         f"{type(err).__name__}: {err}"
    assert fragment in str(err), f"{p.name}: {fragment!r} not in {err}"
    if isinstance(err, UserCodeError):
        where = (os.path.abspath(err.filename), err.lineno)
    else:  # errors about the request carry the location in their message only
        found = re.search(r"(/\S+\.py):(\d+)", str(err))
        assert found, f"{p.name}: the refusal has no location: {err}"
        where = (os.path.abspath(found.group(1)), int(found.group(2)))
    assert where[0] == HERE and where[1] > 0, \
        f"{p.name}: the refusal points at {where}, not at this file"


@pytest.mark.parametrize("p", PROGRAMS, ids=_ids(PROGRAMS))
def test_gradient_matches_finite_differences(p):
    args = p.make_args()
    if p.name in REFUSED:
        _assert_located_refusal(p, lambda: _grad_tuple(p, args))
        return
    before = copy.deepcopy(args)
    grads = _grad_tuple(p, args)
    for k, g in zip(p.wrt, grads):
        assert structure(g) == structure(args[k]), \
            f"{p.name}: gradient of argument {k} has structure {structure(g)}"
        expected = fd_gradient(p.func, before, k)
        np.testing.assert_allclose(flatten(g)[0], expected, rtol=RTOL, atol=ATOL,
                                   err_msg=f"{p.name}: d/d argument {k}")
    for a, b in zip(flatten(args)[0], flatten(before)[0]):
        assert a == b, f"{p.name}: the gradient changed its inputs"


def _directions(p, args, seed=0):
    rs = npr.RandomState(seed)
    out = {}
    for k in p.wrt:
        vec, rebuild = flatten(args[k])
        out[k] = rebuild(rs.randn(vec.size))
    return out


def _zero_tangent(value):
    if isinstance(value, dict):
        return {key: _zero_tangent(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_zero_tangent(v) for v in value)
    return np.zeros(np.shape(value)) if isinstance(value, np.ndarray) else 0.0


FORWARD = [p for p in PROGRAMS if p.fwd]


@pytest.mark.parametrize("p", FORWARD, ids=_ids(FORWARD))
def test_forward_mode_matches_finite_differences(p):
    args = p.make_args()
    directions = _directions(p, args)
    tangents = tuple(directions.get(k, _zero_tangent(a)) for k, a in enumerate(args))
    if p.name in REFUSED:
        _assert_located_refusal(p, lambda: tangent_src.jvp(p.func, args, tangents))
        return
    fresh = copy.deepcopy(args)
    value, tangent = tangent_src.jvp(p.func, args, tangents)
    np.testing.assert_allclose(value, p.func(*copy.deepcopy(fresh)), rtol=1e-12, atol=1e-12)
    expected = fd_directional(p.func, fresh, directions)
    np.testing.assert_allclose(tangent, expected, rtol=RTOL, atol=ATOL,
                               err_msg=f"{p.name}: forward mode")


HVP = [p for p in PROGRAMS if p.hvp]


@pytest.mark.parametrize("p", HVP, ids=_ids(HVP))
def test_hessian_vector_product_matches_nested_finite_differences(p):
    args = p.make_args()
    fresh = copy.deepcopy(args)
    for k in p.wrt:
        v = _directions(p, args, seed=k + 1)[k]
        if p.name in REFUSED:
            _assert_located_refusal(p, lambda k=k, v=v: tangent_src.hvp(p.func, k)(*args, v))
            return
        computed = tangent_src.hvp(p.func, k)(*args, v)
        expected = fd_hvp(p.func, fresh, k, v)
        np.testing.assert_allclose(flatten(computed)[0], expected, rtol=1e-4, atol=1e-5,
                                   err_msg=f"{p.name}: Hessian-vector product, argument {k}")


def test_every_refusal_names_a_program():
    assert set(REFUSED) <= {p.name for p in PROGRAMS}


# ============================================== autograd's example idioms, run as written
# (issue 13): grad(..., argnum=k), odeint with a list of layers in args, fixed points
def nb_log_likelihood(log_r, logit_p, counts):
    """Negative binomial log-likelihood of counts, r = exp(log_r), p = sigmoid(logit_p)."""
    r = np.exp(log_r)
    log_p = -np.logaddexp(0.0, -logit_p)
    log_q = -np.logaddexp(0.0, logit_p)
    terms = scipy.special.gammaln(counts + r) - scipy.special.gammaln(r) \
        - scipy.special.gammaln(counts + 1) + r * log_q + counts * log_p
    return np.sum(terms)


nb_rs = npr.RandomState(11)
nb_counts = nb_rs.negative_binomial(4, 0.35, size=40).astype(float)


def test_negative_binomial_maximum_likelihood_with_argnum():
    objective = lambda log_r, logit_p: -nb_log_likelihood(log_r, logit_p, nb_counts) / 40  # noqa: E731
    d_log_r = tangent_src.grad(objective, argnum=0)
    d_logit_p = tangent_src.grad(objective, argnum=1)
    args = (np.log(2.0), 0.3)
    assert abs(d_log_r(*args) - fd_gradient(objective, args, 0)[0]) < 1e-6
    assert abs(d_logit_p(*args) - fd_gradient(objective, args, 1)[0]) < 1e-6
    forward = tangent_src.autodiff(objective, mode="forward", argnum=1)
    assert abs(forward(*args, 1.0) - fd_gradient(objective, args, 1)[0]) < 1e-6
    both = tangent_src.value_and_grad(objective, argnum=(0, 1))(*args)[1]
    np.testing.assert_allclose(both, [d_log_r(*args), d_logit_p(*args)], rtol=1e-12)
    log_r, logit_p = args
    history = []
    for step in range(200):
        log_r, logit_p = log_r - 0.1 * d_log_r(log_r, logit_p), \
            logit_p - 0.1 * d_logit_p(log_r, logit_p)
        history.append(objective(log_r, logit_p))
        if step % 50 == 0:
            print(f"iteration {step}: nll {history[-1]:.5f}")
    assert history[-1] < history[0] < objective(*args)
    curvature = tangent_src.hessian(objective, argnum=0)(log_r, logit_p)
    expected = fd_gradient(lambda r: d_log_r(r, logit_p), (log_r,), 0)[0]
    assert abs(curvature - expected) < 1e-5 * max(1.0, abs(expected))


def test_argnum_and_wrt_that_disagree_are_refused():
    from tangent_src.errors import RequestError
    f = lambda log_r, logit_p: nb_log_likelihood(log_r, logit_p, nb_counts)  # noqa: E731
    with pytest.raises(RequestError, match="argnum=0"):
        tangent_src.grad(f, wrt=1, argnum=0)
    with pytest.raises(RequestError, match="argnums=1"):
        tangent_src.hessian(f, argnums=1, argnum=0)


def test_neural_ode_training_loop_with_adam():
    from tangent_src.optimizers import adam
    layers = init_ode_layers([2, 5, 2], rs=npr.RandomState(2))
    train_loss = lambda layers, it: np.mean(np.abs(scipy.integrate.odeint(  # noqa: E731
        ode_mlp, ode_start, ode_times, args=(layers,), rtol=1e-6) - ode_observed))
    losses = []

    def callback(layers, it, g):
        losses.append(train_loss(layers, it))
        if it % 5 == 0:
            print(f"Iteration {it:d} train loss {losses[-1]:.6f}")

    trained = adam(tangent_src.grad(train_loss), layers, step_size=0.02, num_iters=20,
                   callback=callback)
    assert losses[-1] < losses[0]
    assert isinstance(trained, list) and isinstance(trained[0], tuple)


def test_fixed_point_sqrt_first_and_second_derivatives_both_modes():
    a = 2.5
    first_fd = fd_gradient(heron_sqrt, (a,), 0, eps=1e-6)[0]
    second_fd = fd_gradient(lambda t: fd_gradient(heron_sqrt, (t,), 0, eps=1e-4)[0], (a,), 0,
                            eps=1e-4)[0]
    d1 = tangent_src.grad(heron_sqrt)
    forward = tangent_src.autodiff(heron_sqrt, mode="forward")
    assert abs(d1(a) - first_fd) < 1e-8
    assert abs(forward(a, 1.0) - first_fd) < 1e-8
    assert abs(tangent_src.grad(d1)(a) - second_fd) < 1e-6
    assert abs(tangent_src.autodiff(forward, mode="forward", wrt=0)(a, 1.0, 1.0)
               - second_fd) < 1e-6
    print(heron_sqrt(a), d1(a), tangent_src.grad(d1)(a))


def bessel_features(x):
    """Modified Bessel features over a wide range of x (i1 from 0.1 to 4e7)."""
    return scipy.special.i1(x) + 0.5 * scipy.special.i0(x)


def test_check_grads_second_order_on_outputs_of_very_different_sizes():
    # the finite differences difference each output before the seed contracts them: the
    # contracted sum lost the small outputs' changes to the rounding of the large ones and
    # failed these correct second derivatives by 1e-5 relative
    x = np.array([[0.35, 19.6], [4.4, 18.2], [11.0, 0.8]])
    tangent_src.check_grads(bessel_features, (x,), order=2, modes=("rev", "fwd"))
    tangent_src.check_grads(lambda x: scipy.special.i1(x), (x,), order=2, modes=("rev",))

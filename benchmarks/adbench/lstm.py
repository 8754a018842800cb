"""LSTM: the character-model loss of ADBench (gradient w.r.t. main and extra params).

``main_params (2l, 4b)``: for layer j, row 2j holds the weights and row 2j+1 the
biases of the four gates; ``extra_params (3, b)``: input scale, output scale and
output bias; ``state (2l, b)``: row 2j the hidden and row 2j+1 the cell state of
layer j; ``sequence (c, b)``.

The objective is written the way the mathematics reads (a cell, a prediction
through the layers, a loop over the sequence), vectorized over the b entries.
:func:`lstm_objective_grad_hand` is a hand-written back-propagation through time.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_cell(weight, bias, hidden, cell, inp):
    b = hidden.shape[0]
    g = np.concatenate((inp, hidden, inp, hidden)) * weight + bias
    forget = sigmoid(g[0:b])
    ingate = sigmoid(g[b:2 * b])
    outgate = sigmoid(g[2 * b:3 * b])
    change = np.tanh(g[3 * b:])
    cell2 = cell * forget + ingate * change
    hidden2 = outgate * np.tanh(cell2)
    return hidden2, cell2


def lstm_predict(main_params, extra_params, state, x):
    """One step through every layer; returns the output and the new state (2l, b)."""
    n_layers = state.shape[0] // 2
    x = x * extra_params[0]
    rows = []
    for j in range(n_layers):
        h, c = lstm_cell(main_params[2 * j], main_params[2 * j + 1], state[2 * j],
                         state[2 * j + 1], x)
        rows.append(h)
        rows.append(c)
        x = h
    return x * extra_params[1] + extra_params[2], np.stack(rows)


def lstm_objective(main_params, extra_params, state, sequence):
    """ADBench's LSTM loss: mean negative log-likelihood of the next character."""
    c = sequence.shape[0]
    b = sequence.shape[1]
    total = 0.0
    x = sequence[0]
    for t in range(c - 1):
        y, state = lstm_predict(main_params, extra_params, state, x)
        ynorm = y - np.log(np.sum(np.exp(y)) + 2)
        total = total + np.sum(sequence[t + 1] * ynorm)
        x = sequence[t + 1]
    return -total / ((c - 1) * b)


# --------------------------------------------------------------------------- hand-written


def lstm_objective_grad_hand(main_params, extra_params, state, sequence):
    """Hand-written gradient of :func:`lstm_objective` w.r.t. (main_params, extra_params).

    Forward sweep recording each cell's inputs, activations and the derivative of the
    activations; backward sweep through time and layers; the weight and bias gradients
    and the output layer's are summed over time in whole-array operations."""
    n_layers = main_params.shape[0] // 2
    b = sequence.shape[1]
    T = sequence.shape[0] - 1
    W = main_params[0::2]
    B = main_params[1::2]
    inputs = np.empty((T, n_layers, 4 * b))  # concat(x, h, x, h) of each cell
    acts = np.empty((T, n_layers, 4 * b))  # sigmoid(f, i, o), tanh(change)
    dacts = np.empty((T, n_layers, 4 * b))  # their derivatives
    c_prev = np.empty((T, n_layers, b))
    tanh_c = np.empty((T, n_layers, b))
    h_top = np.empty((T, b))
    probs = np.empty((T, b))
    h = state[0::2].copy()
    cs = state[1::2].copy()
    b3 = 3 * b
    for t in range(T):
        x = sequence[t] * extra_params[0]
        for j in range(n_layers):
            z = np.concatenate((x, h[j], x, h[j]))
            inputs[t, j] = z
            g = z * W[j] + B[j]
            a = acts[t, j]
            da = dacts[t, j]
            s = 1.0 / (1.0 + np.exp(-g[:b3]))
            a[:b3] = s
            da[:b3] = s * (1.0 - s)
            ch = np.tanh(g[b3:])
            a[b3:] = ch
            da[b3:] = 1.0 - ch * ch
            c_prev[t, j] = cs[j]
            cn = cs[j] * s[:b] + s[b:2 * b] * ch
            tc = np.tanh(cn)
            tanh_c[t, j] = tc
            x = s[2 * b:] * tc
            cs[j] = cn
            h[j] = x
        h_top[t] = x
        e = np.exp(x * extra_params[1] + extra_params[2])
        probs[t] = e / (np.sum(e) + 2.0)
    # loss = -(1/(T b)) sum_t seq[t+1] . (y_t - log(sum(exp(y_t)) + 2))
    target = sequence[1:]
    dy = (-1.0 / (T * b)) * (target - probs * np.sum(target, axis=1, keepdims=True))
    dh_top = dy * extra_params[1]
    dgs = np.empty((T, n_layers, 4 * b))
    dh = np.zeros((n_layers, b))
    dc = np.zeros((n_layers, b))
    dx_in = np.empty((T, b))
    for t in range(T - 1, -1, -1):
        dx = dh_top[t]
        for j in range(n_layers - 1, -1, -1):
            a = acts[t, j]
            dhn = dh[j] + dx
            tc = tanh_c[t, j]
            dcn = dc[j] + dhn * a[2 * b:b3] * (1.0 - tc * tc)
            dg = np.concatenate((dcn * c_prev[t, j], dcn * a[b3:], dhn * tc,
                                 dcn * a[b:2 * b])) * dacts[t, j]
            dgs[t, j] = dg
            dz = dg * W[j]
            dc[j] = dcn * a[:b]
            dh[j] = dz[b:2 * b] + dz[b3:]
            dx = dz[:b] + dz[2 * b:b3]
        dx_in[t] = dx
    dmain = np.empty_like(main_params)
    dmain[0::2] = np.sum(dgs * inputs, axis=0)
    dmain[1::2] = np.sum(dgs, axis=0)
    dextra = np.stack((np.sum(dx_in * sequence[:-1], axis=0), np.sum(dy * h_top, axis=0),
                       np.sum(dy, axis=0)))
    return dmain, dextra


def flat_gradient(grads) -> np.ndarray:
    """(dmain, dextra) -> one vector in ADBench's order."""
    return np.concatenate([np.ravel(g) for g in grads])

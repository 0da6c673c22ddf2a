"""Baseline for bench/training.ts: the reference MLP trained with numpy (OpenBLAS, one thread).

Reads the same float32 data the TypeScript bench trains on (raw little-endian files written by
the bench), trains 32 -> 64 relu -> 64 relu -> 2 softmax with Adam and the same batch size and
epochs (rows shuffled every epoch, like the trainer under test), and prints one JSON line: samples/s, final loss, and the BLAS core in use.
The caller sets OPENBLAS_NUM_THREADS=1 (and OPENBLAS_CORETYPE when it must) before start.
An optional last argument runs that many batches first, untimed, on a copy of the weights: the
same warm-up the bench gives every contender.
"""
import json
import sys
import time

import numpy as np


def main() -> None:
    x_path, y_path, rows, features, classes, hidden, batch, epochs, lr, seed = sys.argv[1:11]
    warmup = int(sys.argv[11]) if len(sys.argv) > 11 else 0
    rows, features, classes, hidden = int(rows), int(features), int(classes), int(hidden)
    batch, epochs, lr, seed = int(batch), int(epochs), float(lr), int(seed)
    x = np.fromfile(x_path, dtype=np.float32).reshape(rows, features)
    y = np.fromfile(y_path, dtype=np.int32)
    onehot = np.zeros((rows, classes), dtype=np.float32)
    onehot[np.arange(rows), y] = 1.0

    rng = np.random.default_rng(seed)
    sizes = [features, hidden, hidden, classes]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        params.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32))
        params.append(np.zeros(fan_out, dtype=np.float32))
    b1, b2, eps = np.float32(0.9), np.float32(0.999), np.float32(1e-7)

    def train(params, epochs, order_rng, limit=None):
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        step = 0
        loss = 0.0
        for _ in range(epochs):
            # a new order every epoch, as the trainer under test does
            order = order_rng.permutation(rows)
            for lo in range(0, rows, batch):
                if limit is not None and step >= limit:
                    return loss
                loss, step = batch_step(params, m, v, order[lo:lo + batch], step)
        return loss

    def batch_step(params, m, v, idx, step):
        xb = x[idx]
        yb = onehot[idx]
        n = xb.shape[0]
        w1, c1, w2, c2, w3, c3 = params
        z1 = xb @ w1 + c1
        a1 = np.maximum(z1, 0)
        z2 = a1 @ w2 + c2
        a2 = np.maximum(z2, 0)
        z3 = a2 @ w3 + c3
        z3 = z3 - z3.max(axis=1, keepdims=True)
        e = np.exp(z3)
        p = e / e.sum(axis=1, keepdims=True)
        loss = float(-np.sum(yb * np.log(p + 1e-12)) / n)
        d3 = (p - yb) / np.float32(n)
        g3 = a2.T @ d3
        h3 = d3.sum(axis=0)
        d2 = (d3 @ w3.T) * (z2 > 0)
        g2 = a1.T @ d2
        h2 = d2.sum(axis=0)
        d1 = (d2 @ w2.T) * (z1 > 0)
        g1 = xb.T @ d1
        h1 = d1.sum(axis=0)
        grads = [g1, h1, g2, h2, g3, h3]
        step += 1
        a = np.float32(lr * np.sqrt(1 - b2 ** step) / (1 - b1 ** step))
        for i, g in enumerate(grads):
            m[i] *= b1
            m[i] += (1 - b1) * g
            v[i] *= b2
            v[i] += (1 - b2) * (g * g)
            params[i] -= a * m[i] / (np.sqrt(v[i]) + eps)
        return loss, step

    if warmup > 0:
        train([p.copy() for p in params], epochs, np.random.default_rng(seed + 1), warmup)
    start = time.perf_counter()
    loss = train(params, epochs, rng)
    seconds = time.perf_counter() - start
    core = None
    try:
        import ctypes
        import glob
        import os
        libs = glob.glob(os.path.join(os.path.dirname(np.__file__), '..', 'scipy_openblas*', 'lib', '*.so*'))
        libs += glob.glob(os.path.join(os.path.dirname(np.__file__), '..', 'numpy.libs', '*openblas*.so*'))
        for lib in libs:
            so = ctypes.CDLL(lib)
            for name in ('scipy_openblas_get_corename64_', 'scipy_openblas_get_corename', 'openblas_get_corename64_', 'openblas_get_corename'):
                fn = getattr(so, name, None)
                if fn is not None:
                    fn.restype = ctypes.c_char_p
                    core = fn().decode()
                    break
            if core:
                break
    except OSError:
        core = None
    print(json.dumps({
        'samples': rows * epochs,
        'seconds': seconds,
        'samplesPerSecond': rows * epochs / seconds,
        'finalLoss': loss,
        'blasCore': core,
        'numpy': np.__version__,
    }))


if __name__ == '__main__':
    main()

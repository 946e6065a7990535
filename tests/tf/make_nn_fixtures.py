"""Writes tests/data/tf_nn.txt: what Keras 3 (TensorFlow 2.21) computes for
ember's optimizers, schedules, losses and metrics to reproduce
(tests/optimizers_test.cpp, tests/losses_test.cpp).

    /opt/tfvenv/bin/python tests/tf/make_nn_fixtures.py tests/data/tf_nn.txt

Format as tests/tf/make_random_fixtures.py: name, `dtype dims`, values as
float.hex(). Inputs are formulas the C++ tests recompute.
"""
import sys

import numpy as np
import keras
import tensorflow as tf

from fixture_file import write_cases

W0 = np.array([[0.5, -1.0, 1.5], [-2.0, 0.25, 3.0]], dtype=np.float32)


def grad(t):
    # Step t's gradient (t = 0, 1, ...): exact in float32.
    i = np.arange(6).reshape(2, 3)
    return ((i * 7 + t * 3) % 11 - 5).astype(np.float32) / 4


def run(opt, steps=5):
    w = keras.Variable(W0.copy())
    for t in range(steps):
        opt.apply([tf.constant(grad(t))], [w])
    return w.numpy()


def optimizer_cases():
    s = keras.optimizers.schedules
    O = keras.optimizers
    yield "opt/sgd", run(O.SGD(0.1))
    yield "opt/sgd_momentum", run(O.SGD(0.1, momentum=0.9))
    yield "opt/sgd_nesterov", run(O.SGD(0.1, momentum=0.9, nesterov=True))
    yield "opt/adam", run(O.Adam(0.01))
    yield "opt/adamw", run(O.AdamW(0.01, weight_decay=0.1))
    yield "opt/rmsprop", run(O.RMSprop(0.01))
    yield "opt/rmsprop_centered_momentum", run(O.RMSprop(0.01, momentum=0.5, centered=True))
    yield "opt/adagrad", run(O.Adagrad(0.1))
    yield "opt/adam_clipnorm", run(O.Adam(0.01, clipnorm=1.0))
    yield "opt/adam_global_clipnorm", run(O.Adam(0.01, global_clipnorm=1.0))
    yield "opt/sgd_clipvalue", run(O.SGD(0.1, clipvalue=0.5))
    yield "opt/adam_exponential_decay", run(O.Adam(s.ExponentialDecay(0.01, 2, 0.5)))
    steps = np.arange(12)
    scheds = {
        "exponential": s.ExponentialDecay(0.1, 3, 0.5),
        "exponential_staircase": s.ExponentialDecay(0.1, 3, 0.5, staircase=True),
        "piecewise": s.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1]),
        "cosine": s.CosineDecay(0.1, 8, alpha=0.1),
        "cosine_warmup": s.CosineDecay(0.0, 6, warmup_target=0.2, warmup_steps=4),
        "polynomial": s.PolynomialDecay(0.1, 8, 0.01, power=2.0),
        "polynomial_cycle": s.PolynomialDecay(0.1, 4, 0.01, power=1.0, cycle=True),
    }
    for name, sch in scheds.items():
        yield "schedule/" + name, np.array([float(sch(int(k))) for k in steps], dtype=np.float32)


def loss_cases():
    L = keras.losses
    rows, classes = 4, 5
    r = np.arange(rows * classes).reshape(rows, classes)
    logits = ((r * 37 % 17) - 8).astype(np.float32) / 4
    probs = tf.nn.softmax(logits).numpy()
    labels = np.array([1, 0, 4, 2], dtype=np.int32)
    onehot = np.eye(classes, dtype=np.float32)[labels]
    soft = ((r * 13 % 7) + 1).astype(np.float32)
    soft = soft / soft.sum(-1, keepdims=True)
    weights = np.array([1.0, 0.5, 2.0, 0.0], dtype=np.float32)
    yield "loss/sparse_cce_logits", L.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    yield "loss/sparse_cce_probs", L.SparseCategoricalCrossentropy()(labels, probs)
    yield "loss/sparse_cce_none", L.SparseCategoricalCrossentropy(from_logits=True, reduction=None)(labels, logits)
    yield "loss/sparse_cce_sum", L.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")(labels, logits)
    yield "loss/sparse_cce_weighted", L.SparseCategoricalCrossentropy(from_logits=True)(labels, logits, sample_weight=weights)
    yield "loss/cce_logits", L.CategoricalCrossentropy(from_logits=True)(soft, logits)
    yield "loss/cce_probs", L.CategoricalCrossentropy()(onehot, probs)
    yield "loss/cce_smoothing", L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(onehot, logits)
    z = (((r * 5) % 9) - 4).astype(np.float32) / 2
    y = ((r * 3) % 2).astype(np.float32)
    yield "loss/bce_logits", L.BinaryCrossentropy(from_logits=True)(y, z)
    yield "loss/bce_probs", L.BinaryCrossentropy()(y, tf.sigmoid(z).numpy())
    yield "loss/mse", L.MeanSquaredError()(y, z)
    yield "loss/mse_none", L.MeanSquaredError(reduction=None)(y, z)
    M = keras.metrics
    acc = M.SparseCategoricalAccuracy()
    acc.update_state(labels, logits)
    acc.update_state(np.array([0, 0, 1, 3], dtype=np.int32), logits)
    yield "metric/sparse_categorical_accuracy", acc.result()
    mean = M.Mean()
    mean.update_state([1.0, 2.0, 4.0])
    mean.update_state(3.0, sample_weight=2.0)
    yield "metric/mean", mean.result()


def layer_cases():
    d = keras.layers.Dropout(0.3, seed=7)
    x = np.arange(1, 21, dtype=np.float32).reshape(4, 5)
    yield "layer/dropout_call0", d(x, training=True)
    yield "layer/dropout_call1", d(x, training=True)


def conv_cases():
    # Inputs are formulas tests/conv_test.cpp recomputes.
    x = ((np.arange(2 * 7 * 6 * 3).reshape(2, 7, 6, 3) * 7 % 13) - 6).astype(np.float32) / 4
    f = ((np.arange(3 * 3 * 3 * 4).reshape(3, 3, 3, 4) * 5 % 11) - 5).astype(np.float32) / 8
    dw = ((np.arange(3 * 3 * 3 * 2).reshape(3, 3, 3, 2) * 3 % 7) - 3).astype(np.float32) / 4
    yield "conv/same_s2", tf.nn.conv2d(x, f, strides=2, padding="SAME")
    yield "conv/valid_d2", tf.nn.conv2d(x, f, strides=1, padding="VALID", dilations=2)
    yield "conv/explicit", tf.nn.conv2d(x, f, strides=1, padding=[[0, 0], [1, 2], [0, 1], [0, 0]])
    yield "conv/depthwise_same", tf.nn.depthwise_conv2d(x, dw, strides=[1, 1, 1, 1], padding="SAME")
    yield "pool/max_same_s2", tf.nn.max_pool2d(x, 3, 2, "SAME")
    yield "pool/avg_same_s2", tf.nn.avg_pool2d(x, 3, 2, "SAME")
    yield "pool/max_valid", tf.nn.max_pool2d(x, 2, 2, "VALID")


def main(path):
    write_cases(path, "TensorFlow %s, Keras %s (tests/tf/make_nn_fixtures.py)" % (tf.__version__, keras.__version__),
                list(optimizer_cases()) + list(loss_cases()) + list(layer_cases()) + list(conv_cases()))


if __name__ == "__main__":
    main(sys.argv[1])

"""Writes tests/data/tf_control_flow.txt: values and gradients TensorFlow
computes for programs with tf.cond, tf.while_loop, loops over tf.range and
tf.TensorArray, each inside a tf.function with the GradientTape inside it
(so TensorFlow differentiates its own While/If/TensorList graph ops), for
tests/control_flow_test.cpp to reproduce in ember.

    /opt/tfvenv/bin/python tests/tf/make_control_flow_fixtures.py tests/data/tf_control_flow.txt

Each case is three lines: its name, then `dtype d0,d1,...`, then the values
as float.hex(). Every input is a fixed float64 array listed here.
"""
import sys

import tensorflow as tf

from fixture_file import write_cases

X = tf.constant([0.5, -1.25, 2.0], tf.float64)
W = tf.constant(0.75, tf.float64)
M = tf.constant([[0.5, -1.0, 1.5], [2.0, 0.25, -0.5], [1.0, 1.0, -2.0], [0.75, -0.25, 0.5]], tf.float64)


@tf.function
def cond_grads(x, w):
    with tf.GradientTape() as t:
        t.watch([x, w])
        y = tf.cond(tf.reduce_sum(x) > 0, lambda: tf.reduce_sum(x * x * w), lambda: tf.reduce_sum(x * x * x))
    gx, gw = t.gradient(y, [x, w])
    return y, gx, gw


@tf.function
def power_grads(x, w, n):
    with tf.GradientTape() as t:
        t.watch([x, w])
        i0 = tf.constant(0, tf.int64)
        _, v = tf.while_loop(lambda i, v: i < n, lambda i, v: (i + 1, v * x * w), (i0, tf.ones_like(x)))
        y = tf.reduce_sum(v)
    gx, gw = t.gradient(y, [x, w])
    return v, gx, gw


@tf.function
def sine_second(x, n):
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            v = x
            for _ in tf.range(n):
                v = tf.sin(v) * x
            y = tf.reduce_sum(v)
        g = inner.gradient(y, x)
        gs = tf.reduce_sum(g)
    return v, g, outer.gradient(gs, x)


@tf.function
def array_cumprod(m, w):
    with tf.GradientTape() as t:
        t.watch([m, w])
        ta = tf.TensorArray(tf.float64, size=tf.shape(m)[0])
        y = tf.ones([3], tf.float64)
        for i in tf.range(tf.shape(m)[0]):
            y = y * m[i] + w
            ta = ta.write(i, y)
        s = ta.stack()
        loss = tf.reduce_sum(s * s)
    gm, gw = t.gradient(loss, [m, w])
    return s, gm, gw


@tf.function
def array_ops(m):
    with tf.GradientTape() as t:
        t.watch(m)
        ta = tf.TensorArray(tf.float64, size=4).unstack(m * m)
        a = ta.read(1) * ta.read(2) + tf.reduce_sum(ta.gather([0, 3]), axis=0)
        pieces = tf.TensorArray(tf.float64, size=2, infer_shape=False).split(tf.sin(m), [3, 1])
        back = tf.TensorArray(tf.float64, size=4).scatter([3, 2, 1, 0], m)
        loss = tf.reduce_sum(pieces.concat() * back.stack()) + tf.reduce_sum(a * a)
    return loss, t.gradient(loss, m)


@tf.function
def nested(x):
    with tf.GradientTape() as t:
        t.watch(x)
        total = tf.zeros_like(x)
        for i in tf.range(3):
            inner = tf.zeros_like(x)
            for _ in tf.range(i + 1):
                inner = inner + tf.cos(x) * x
            total = total + inner * tf.cast(i + 1, tf.float64)
        y = tf.reduce_sum(total)
    return total, t.gradient(y, x)


@tf.function
def grow(x):
    ta = tf.TensorArray(tf.float64, size=0, dynamic_size=True)
    i = tf.constant(0)
    _, ta = tf.while_loop(lambda i, ta: i < 5, lambda i, ta: (i + 1, ta.write(i, x * tf.cast(i, tf.float64))), (i, ta))
    return ta.stack()


def cases():
    for name, x in (("pos", X), ("neg", -X)):
        y, gx, gw = cond_grads(x, W)
        yield "cond/%s/y" % name, y
        yield "cond/%s/gx" % name, gx
        yield "cond/%s/gw" % name, gw
    for n in (0, 1, 4):
        v, gx, gw = power_grads(X, W, tf.constant(n, tf.int64))
        yield "power/%d/v" % n, v
        yield "power/%d/gx" % n, gx
        yield "power/%d/gw" % n, gw
    v, g, g2 = sine_second(X, tf.constant(3))
    yield "sine/v", v
    yield "sine/g", g
    yield "sine/g2", g2
    s, gm, gw = array_cumprod(M, W)
    yield "cumprod/stack", s
    yield "cumprod/gm", gm
    yield "cumprod/gw", gw
    loss, gm = array_ops(M)
    yield "array_ops/loss", loss
    yield "array_ops/gm", gm
    total, g = nested(X)
    yield "nested/total", total
    yield "nested/g", g
    yield "grow/stack", grow(X)


def main(path):
    write_cases(path, "TensorFlow %s (tests/tf/make_control_flow_fixtures.py)" % tf.__version__, cases())


if __name__ == "__main__":
    main(sys.argv[1])

"""Writes SavedModels with TensorFlow for ember to load
(tests/saved_model_test.cpp), each with a case file of TensorFlow's outputs.

usage: make_saved_models.py DIR   (the committed copy: tests/data/tf_saved_models)
Writes DIR/<name>/ (a SavedModel) and DIR/<name>.txt for name in
dense, loop, convnet, composites, keras_export (Keras 3's
model.export), unknown_op, and DIR/x.npy (the dense model's input). Case lines (values as doubles, repr exact):
  `call FUNCTION` (an attribute path of the root, or signature:KEY), then
  `input NAME DTYPE RANK DIMS... VALUES...` and
  `output INDEX DTYPE RANK DIMS... VALUES...` lines.
"""
import os
import sys

import numpy as np
import tensorflow as tf


def line(head, value):
    v = np.asarray(value)
    dims = " ".join(str(d) for d in v.shape)
    vals = " ".join(repr(float(x)) for x in v.astype(np.float64).ravel())
    return "%s %s %d %s %s\n" % (head, v.dtype.name, v.ndim, dims, vals)


def case(out, name, inputs, outputs):
    out.write("call %s\n" % name)
    for k, v in inputs:
        out.write(line("input " + k, v))
    for i, v in enumerate(tf.nest.flatten(outputs)):
        out.write(line("output %d" % i, v.numpy()))


class Inner(tf.Module):
    def __init__(self):
        super().__init__()
        self.scale = tf.Variable([0.5, -1.5], name="scale")


class Dense(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(np.sin(np.arange(6) * 0.9 + 0.1).reshape(3, 2).astype(np.float32), name="w")
        self.b = tf.Variable([0.25, -0.5], name="b")
        self.inner = Inner()

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def __call__(self, x):
        return tf.nn.relu(x @ self.w + self.b) * self.inner.scale

    @tf.function
    def stats(self, x):
        return {"mean": tf.reduce_mean(x, axis=0), "max": tf.reduce_max(x, axis=[0, 1]), "t": tf.transpose(x)}


class Loop(tf.Module):
    def __init__(self):
        super().__init__()
        self.base = tf.Variable([1.5, -0.5, 2.0], name="base")

    @tf.function(input_signature=[tf.TensorSpec([3], tf.float32, name="x"), tf.TensorSpec([], tf.int32, name="n")])
    def run(self, x, n):
        i = tf.constant(0)
        acc = tf.zeros_like(x)
        while i < n:
            acc = acc * x + self.base
            i += 1
        if tf.reduce_sum(acc) > 0:
            acc = acc * 2.0
        else:
            acc = acc - 1.0
        return acc, i


class ConvNet(tf.Module):
    def __init__(self):
        super().__init__()
        self.k = tf.Variable(np.cos(np.arange(36) * 0.37).reshape(3, 3, 1, 4).astype(np.float32), name="k")
        self.d = tf.Variable(np.sin(np.arange(108) * 0.11).reshape(36, 3).astype(np.float32), name="d")

    @tf.function(input_signature=[tf.TensorSpec([None, 6, 6, 1], tf.float32, name="images")])
    def __call__(self, images):
        h = tf.nn.relu(tf.nn.conv2d(images, self.k, 1, "SAME"))
        h = tf.nn.max_pool2d(h, 2, 2, "VALID")
        h = tf.reshape(h, [-1, 36])
        logits = h @ self.d
        probs = tf.nn.softmax(logits)
        ta = tf.TensorArray(tf.float32, size=3)
        for i in tf.range(3):
            ta = ta.write(i, tf.reduce_sum(tf.gather(probs, i, axis=1)))
        labels = tf.cast(tf.argmax(logits, 1), tf.float32)
        return {
            "probs": probs,
            "sums": ta.stack(),
            "mean": tf.reduce_mean(h, axis=1, keepdims=True),
            "joined": tf.concat([logits, tf.expand_dims(labels, 1)], 1),
            "picked": tf.where(logits > 0, logits, tf.zeros_like(logits)),
        }


class Composites(tf.Module):
    """Ops ember runs as other ops: Pad, Split, SquaredDifference, Relu6,
    Select, and Shape/Size/Rank of a tensor of known shape."""

    @tf.function(input_signature=[tf.TensorSpec([2, 4], tf.float32, name="x")])
    def __call__(self, x):
        a, b = tf.split(x, 2, axis=1)
        return {
            "padded": tf.pad(x, [[1, 0], [0, 2]]),
            "sq": tf.math.squared_difference(a, b),
            "relu6": tf.nn.relu6(x * 4.0),
            "select": tf.raw_ops.Select(condition=x > 0, x=x, y=-x),
            "shape": tf.shape(x),
            "size": tf.size(x, out_type=tf.int64),
            "rank": tf.rank(x),
            "reshaped": tf.reshape(x, tf.shape(tf.transpose(x))),
        }


class UnknownOp(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([2, 2], tf.float32, name="m")])
    def det(self, m):
        return tf.linalg.det(m)


def main(root):
    x = np.sin(np.arange(12) * 0.7 + 0.3).reshape(4, 3).astype(np.float32)

    np.save(os.path.join(root, "x.npy"), x)  # the input ember-saved-model's test runs
    m = Dense()
    m.stats(tf.constant(x))
    m.stats(tf.constant(x.astype(np.float64)))
    tf.saved_model.save(m, os.path.join(root, "dense"))
    with open(os.path.join(root, "dense.txt"), "w") as out:
        case(out, "__call__", [("x", x)], m(tf.constant(x)))
        case(out, "signature:serving_default", [("x", x)], m(tf.constant(x)))
        for xs in (x, x.astype(np.float64)):
            r = m.stats(tf.constant(xs))
            case(out, "stats", [("x", xs)], [r[k] for k in sorted(r)])

    loop = Loop()
    tf.saved_model.save(loop, os.path.join(root, "loop"))
    with open(os.path.join(root, "loop.txt"), "w") as out:
        for xs, n in (([0.5, 2.0, -1.0], 4), ([-3.0, 0.25, 1.0], 3), ([1.0, 1.0, 1.0], 0)):
            xv, nv = np.array(xs, np.float32), np.array(n, np.int32)
            case(out, "run", [("x", xv), ("n", nv)], loop.run(tf.constant(xv), tf.constant(nv)))

    conv = ConvNet()
    tf.saved_model.save(conv, os.path.join(root, "convnet"))
    images = np.sin(np.arange(72) * 0.23).reshape(2, 6, 6, 1).astype(np.float32)
    with open(os.path.join(root, "convnet.txt"), "w") as out:
        r = conv(tf.constant(images))
        case(out, "__call__", [("images", images)], [r[k] for k in sorted(r)])

    comp = Composites()
    tf.saved_model.save(comp, os.path.join(root, "composites"))
    xc = np.array([[1.5, -2.0, 0.25, 3.0], [-0.5, 2.5, -1.75, 0.0]], np.float32)
    with open(os.path.join(root, "composites.txt"), "w") as out:
        r = comp(tf.constant(xc))
        case(out, "__call__", [("x", xc)], [r[k] for k in sorted(r)])

    # Keras 3's export (model.export): what a Keras user hands to TF Serving.
    import keras
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.set_weights([np.sin(np.arange(w.size) * 0.3 + i).reshape(w.shape).astype(np.float32)
                       for i, w in enumerate(model.get_weights())])
    model.export(os.path.join(root, "keras_export"), format="tf_saved_model", verbose=False)
    xk = np.linspace(-1, 1, 8).reshape(2, 4).astype(np.float32)
    with open(os.path.join(root, "keras_export.txt"), "w") as out:
        case(out, "signature:serving_default", [("keras_tensor", xk)], [tf.constant(model(xk))])
        case(out, "serve", [("keras_tensor", xk)], [tf.constant(model(xk))])

    tf.saved_model.save(UnknownOp(), os.path.join(root, "unknown_op"))
    print("OK")


if __name__ == "__main__":
    main(sys.argv[1])

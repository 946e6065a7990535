"""Writes SavedModels with TensorFlow for ember to load
(tests/saved_model_test.cpp), each with a case file of TensorFlow's outputs.

usage: make_saved_models.py DIR [NAME...]   (the committed copy: tests/data/tf_saved_models)
Writes DIR/<name>/ (a SavedModel) and DIR/<name>.txt for name in
dense, loop, convnet, composites, keras_export (Keras 3's
model.export), unknown_shapes, range_loop, fanout10,
keras_flatten, keras_lstm, unknown_op, cyclic (an object graph with
cycles), keras_transformer (Keras 3's causal attention block: its
mask is a Cumsum, its exact gelu an Erfc), keras_bidirectional (a
Bidirectional LSTM over masked embeddings: its backward half reverses
time, ReverseV2; then a swish Dense, whose tf.custom_gradient saves
captured tensors), keras_preprocessing (Rescaling, Resizing (a
ResizeBilinear with half-pixel centers, up and down) and a Normalization
given its mean and variance: constants its function captures), resize_bilinear
(TensorFlow 1's align_corners and legacy ResizeBilinear), math_ops
(IsNan, IsInf, IsFinite, Roll, BroadcastArgs, DenseBincount, Where), more_ops
(the ops of MoreOps, with a StatelessCase), keras_upsampling (UpSampling2D,
nearest then bilinear after a Conv2D: its images' height and width known
only when it runs, and a nearest Resizing), keras_conv3d (Conv3D with
SAME padding, and VALID with strides; MaxPooling3D and
AveragePooling3D, SAME and VALID), linalg (tf.linalg's Cholesky,
inverse, determinants, solves, QR and band_part in float64, and TensorFlow's
gradients of them: ember loads both functions, and its own gradients are
compared with the second's outputs), special (tf.math's lgamma, digamma,
polygamma, zeta, erfinv at their poles and edges, cumulative_logsumexp, the
sorted segment reductions with an empty segment, cross, LRN and
histogram_fixed_width), images (ResizeBicubic in its three forms,
ExtractImagePatches VALID and SAME, CropAndResize), bitwise (tf.bitwise on int32, int64
and uint8), keras_train (Keras models' training steps: an LSTM under SGD, a
mix of activations, batch normalization and a Huber loss under Adam), grad_ops
(the ops of TensorFlow's gradient graphs ember imports, called directly), trig (tf.math's
trigonometric and hyperbolic functions in and outside their domains, and their gradients), eig_svd
(tf.linalg.eigh, eigvalsh and svd as quantities free of the vectors' signs, and TensorFlow's gradients
of them), stateless_random (tf.random.stateless_* as TensorFlow traces them now: a key and counter from
the seed, then the V2 draws), random_ints (integer draws, a shuffle, tf.nn.l2_loss and its gradient),
non_max_suppression (tf.image's, NonMaxSuppression to V5), projective
(ImageProjectiveTransformV3 and V2, Keras's RandomRotation, RandomZoom and RandomTranslation),
resize_grads (ResizeBilinearGrad, ResizeBicubicGrad and ResizeNearestNeighborGrad), generators
(tf.random.Generator's draws from the state variable the model saves; and generator_skip, a
Generator.skip ember refuses), window3d_grads
(the 3-D convolution's and pools' gradients, Keras's Conv3DTranspose), colorspace
(tf.image.rgb_to_hsv and hsv_to_rgb, Keras's RandomHue and RandomSaturation),
and DIR/x.npy (the dense model's input); with NAMEs, only those
of the ones main_only() makes (so the others stay byte for byte). Case lines (values as doubles, repr exact):
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


class UnknownShapes(tf.Module):
    """Functions of an input of unknown rank (TensorSpec(None)): TensorFlow
    resolves "all axes", "reverse the axes" and negative axes when it runs."""

    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32, name="x")])
    def __call__(self, x):
        return {
            "sum": tf.reduce_sum(x),
            "sum_kept": tf.reduce_sum(x, keepdims=True),
            "max": tf.reduce_max(x),
            "transposed": tf.transpose(x),
            "expanded": tf.expand_dims(x, -1),
            "softmax": tf.nn.softmax(x),
            "argmax": tf.argmax(x, -1),
            "joined": tf.concat([x, x], -1),
            "stacked": tf.stack([x, x], 0),
            "shape": tf.shape(x),
            "flat": tf.reshape(x, [tf.shape(x)[0], -1]),
        }


class RangeLoop(tf.Module):
    """for i in tf.range(n): a loop bound known when the function runs."""

    def __init__(self):
        super().__init__()
        self.w = tf.Variable([0.5, -1.0, 2.0], name="w")

    @tf.function(input_signature=[tf.TensorSpec([3], tf.float32, name="x"), tf.TensorSpec([], tf.int32, name="n")])
    def __call__(self, x, n):
        acc = tf.zeros_like(x)
        ta = tf.TensorArray(tf.float32, size=n)
        for i in tf.range(n):
            acc = acc + x * tf.cast(i, tf.float32) + self.w
            ta = ta.write(i, tf.reduce_sum(acc))
        return {"acc": acc, "steps": ta.stack(), "count": tf.range(n)}


def fanout(depth):
    """A function library whose calls fan out: f_k calls f_(k-1) twice."""
    def next_level(prev):
        return tf.function(lambda x: prev(x) * 0.5 + prev(x * 0.5))

    m = tf.Module()
    f = tf.function(lambda x: x * 1.5 - 0.25)
    for _ in range(depth):
        f = next_level(f)
    m.f = tf.function(lambda x: f(x), input_signature=[tf.TensorSpec([2], tf.float32, name="x")])
    return m


class UnknownOp(tf.Module):
    """An op ember lacks (it once was MatrixDeterminant, then Lgamma, then Qr, which ember now has)."""

    @tf.function(input_signature=[tf.TensorSpec([2, 2], tf.float32, name="m")])
    def bessel(self, m):
        return tf.math.special.bessel_i0e(m)


def unknown_op(root):
    tf.saved_model.save(UnknownOp(), os.path.join(root, "unknown_op"))


class Node(tf.Module):
    def __init__(self, value):
        super().__init__()
        self.v = tf.Variable(value, name="v")


class Cyclic(Node):
    """A root whose child names it back, and a child naming itself."""

    def __init__(self):
        super().__init__([1.5, -2.0])
        self.child = Node([0.25, 4.0])
        self.child.parent = self
        self.child.itself = self.child

    @tf.function(input_signature=[tf.TensorSpec([2], tf.float32, name="x")])
    def f(self, x):
        return x * self.v + self.child.parent.child.v


def cyclic(root):
    m = Cyclic()
    tf.saved_model.save(m, os.path.join(root, "cyclic"))
    with open(os.path.join(root, "cyclic.txt"), "w") as out:
        xv = np.array([2.0, -0.5], np.float32)
        case(out, "f", [("x", xv)], [m.f(tf.constant(xv))])


def keras_transformer(root):
    import keras
    keras.utils.set_random_seed(5)
    ids_in = keras.Input((6,), dtype="int32")
    h = keras.layers.Embedding(11, 8)(ids_in)
    a = keras.layers.MultiHeadAttention(2, 4)(h, h, use_causal_mask=True)
    h = keras.layers.LayerNormalization()(h + a)
    f = keras.layers.Dense(16, activation="gelu")(h)
    h = keras.layers.LayerNormalization()(h + keras.layers.Dense(8)(f))
    model = keras.Model(ids_in, keras.layers.Dense(11)(h))
    model.export(os.path.join(root, "keras_transformer"), format="tf_saved_model", verbose=False)
    ids = np.array([[3, 0, 10, 7, 7, 1], [9, 2, 4, 4, 0, 5]], np.int32)
    with open(os.path.join(root, "keras_transformer.txt"), "w") as out:
        case(out, "serve", [("keras_tensor", ids)], [tf.constant(model(ids))])


def keras_bidirectional(root):
    import keras
    keras.utils.set_random_seed(6)
    model = keras.Sequential([keras.Input((7,), dtype="int32"), keras.layers.Embedding(20, 4, mask_zero=True),
                              keras.layers.Bidirectional(keras.layers.LSTM(3)),
                              keras.layers.Dense(4, activation="swish"), keras.layers.Dense(2)])
    model.export(os.path.join(root, "keras_bidirectional"), format="tf_saved_model", verbose=False)
    ids = np.array([[3, 1, 19, 7, 0, 0, 0], [9, 2, 4, 4, 8, 5, 1]], np.int32)
    with open(os.path.join(root, "keras_bidirectional.txt"), "w") as out:
        case(out, "serve", [("keras_tensor", ids)], [tf.constant(model(ids))])


def keras_preprocessing(root):
    import keras
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((4, 5, 3)), keras.layers.Rescaling(0.5, offset=1.0),
                              keras.layers.Resizing(7, 3),
                              keras.layers.Normalization(mean=[0.5, 1.0, -2.0], variance=[4.0, 0.25, 1.0]),
                              keras.layers.Flatten(), keras.layers.Dense(2)])
    model.export(os.path.join(root, "keras_preprocessing"), format="tf_saved_model", verbose=False)
    xp = np.sin(np.arange(120) * 0.37).reshape(2, 4, 5, 3).astype(np.float32) * 3
    with open(os.path.join(root, "keras_preprocessing.txt"), "w") as out:
        case(out, "serve", [("keras_tensor", xp)], [tf.constant(model(xp))])
    # TensorFlow 1's corners: align_corners, and neither (the legacy scale).
    resize = ResizeBilinear()
    tf.saved_model.save(resize, os.path.join(root, "resize_bilinear"))
    with open(os.path.join(root, "resize_bilinear.txt"), "w") as out:
        r = resize(tf.constant(xp))
        case(out, "__call__", [("images", xp)], [r[k] for k in sorted(r)])
    math = MathOps()
    tf.saved_model.save(math, os.path.join(root, "math_ops"))
    xm = np.array([[1.0, np.nan, -np.inf, 2.5], [np.inf, -0.0, 3.0, -7.0], [0.5, 0.25, np.nan, 1e30]], np.float32)
    ym = np.array([[2.0], [-1.0], [0.5]], np.float32)
    im = np.array([[0, 3, 3, 5, 1], [2, 2, 2, 2, 0], [4, 1, 0, 5, 5]], np.int32)
    with open(os.path.join(root, "math_ops.txt"), "w") as out:
        r = math(tf.constant(xm), tf.constant(ym), tf.constant(im))
        case(out, "__call__", [("x", xm), ("y", ym), ("ids", im)], [r[k] for k in sorted(r)])


def keras_upsampling(root):
    import keras
    keras.utils.set_random_seed(8)
    model = keras.Sequential([keras.Input((4, 5, 3)), keras.layers.UpSampling2D(2),
                              keras.layers.Conv2D(2, 3, padding="same"),
                              keras.layers.UpSampling2D((1, 2), interpolation="bilinear"),
                              keras.layers.Resizing(5, 9, interpolation="nearest")])
    model.export(os.path.join(root, "keras_upsampling"), format="tf_saved_model", verbose=False)
    xu = np.cos(np.arange(120) * 0.41).reshape(2, 4, 5, 3).astype(np.float32)
    with open(os.path.join(root, "keras_upsampling.txt"), "w") as out:
        case(out, "serve", [("keras_tensor", xu)], [tf.constant(model(xu))])


def keras_conv3d(root):
    import keras
    keras.utils.set_random_seed(9)
    L = keras.layers
    model = keras.Sequential([keras.Input((5, 6, 7, 2)),
                              L.Conv3D(3, (3, 2, 2), padding="same", activation="relu"),
                              L.MaxPooling3D((2, 2, 2), strides=(2, 1, 2), padding="same"),
                              L.AveragePooling3D((3, 2, 2), strides=(1, 2, 1), padding="same"),
                              L.Conv3D(2, (2, 2, 2), strides=(2, 1, 1), padding="valid"),
                              L.MaxPooling3D((1, 2, 2)), L.Flatten(), L.Dense(3)])
    model.export(os.path.join(root, "keras_conv3d"), format="tf_saved_model", verbose=False)
    xc = np.sin(np.arange(2 * 5 * 6 * 7 * 2) * 0.23).reshape(2, 5, 6, 7, 2).astype(np.float32)
    with open(os.path.join(root, "keras_conv3d.txt"), "w") as out:
        case(out, "serve", [("keras_tensor", xc)], [tf.constant(model(xc))])


def more_ops(root):
    m = MoreOps()
    tf.saved_model.save(m, os.path.join(root, "more_ops"))
    xo = (np.sin(np.arange(30) * 0.77 + 0.2) * 2).reshape(5, 6).astype(np.float32)
    xo[1, 2] = 0  # (zeros: the no-NaN ops' case, cumprod's gradient's)
    with open(os.path.join(root, "more_ops.txt"), "w") as out:
        for b in (0, 1, 2, 7):  # 7: out of range, the last branch
            r = m(tf.constant(xo), tf.constant(b, tf.int32))
            case(out, "__call__", [("x", xo), ("branch", np.array(b, np.int32))], [r[k] for k in sorted(r)])


class MathOps(tf.Module):
    """TensorFlow ops ember imports as its own: IsNan, IsInf, IsFinite, Roll,
    BroadcastArgs (a broadcast to a shape known when it runs), DenseBincount
    (Keras's CategoryEncoding: counts and multi-hot rows), Where (and
    tf.boolean_mask, its gather)."""

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32), tf.TensorSpec([None, 1], tf.float32),
                                  tf.TensorSpec([None, 5], tf.int32)])
    def __call__(self, x, y, ids):
        f = lambda b: tf.cast(b, tf.float32)
        return {"is_nan": f(tf.math.is_nan(x)), "is_inf": f(tf.math.is_inf(x)), "is_finite": f(tf.math.is_finite(x)),
                "roll": tf.roll(x, shift=[1, -3, 2], axis=[1, 0, 1]),
                "broadcast": tf.broadcast_to(y, tf.broadcast_dynamic_shape(tf.shape(y), tf.shape(x))),
                "counts": tf.math.bincount(ids, minlength=6, maxlength=6, axis=-1, dtype=tf.float32),
                "multi_hot": tf.math.bincount(ids, minlength=6, maxlength=6, axis=-1, binary_output=True,
                                              dtype=tf.float32),
                "where": tf.cast(tf.where(ids > 2), tf.float32),
                "masked": tf.boolean_mask(y, y[:, 0] > 0)}


class MoreOps(tf.Module):
    """More TensorFlow ops ember imports: its own Cumprod, Atan2, DivNoNan,
    Xdivy, Xlogy, Xlog1py, Softsign, TruncateDiv, TruncateMod, CheckNumerics,
    GatherNd (TensorFlow's lacks ember's batch_dims) and TopKV2 with k a
    tensor (tf.sort and tf.argsort); and MatrixDiagV3 (tf.eye of a size known
    when it runs, tf.linalg.diag), MatrixDiagPartV3 (diag_part, trace),
    MatrixSetDiagV3, ResizeNearestNeighbor (half-pixel, aligned and legacy),
    SpaceToDepth, DepthToSpace, Rint, PreventGradient, StatelessCase
    (tf.switch_case), Bucketize (Keras's Discretization), an Assert
    (tf.debugging.assert_less, its message string constants),
    TensorScatterUpdate, UnsortedSegmentMax/Min/Prod, ReverseSequence and
    LowerBound/UpperBound (tf.searchsorted) as other ops."""

    @tf.function(input_signature=[tf.TensorSpec([None, 6], tf.float32), tf.TensorSpec([], tf.int32)])
    def __call__(self, x, branch):
        f = lambda t: tf.cast(t, tf.float32)
        with tf.control_dependencies([tf.debugging.assert_less(x, 10.0, message="x too big")]):
            asserted = tf.identity(x) * 2
        img = tf.reshape(x[:4], [1, 4, 6, 1])
        sq = tf.reshape(x[:4], [2, 3, 4])
        r = {"sort": tf.sort(x), "argsort": f(tf.argsort(x, axis=0, direction="DESCENDING")),
             "cumprod": tf.math.cumprod(x, axis=1), "cumprod_ex_rev": tf.math.cumprod(x, axis=0, exclusive=True, reverse=True),
             "atan2": tf.math.atan2(x, x[::-1] + 0.1), "div_no_nan": tf.math.divide_no_nan(x, tf.round(x)),
             "xdivy": tf.math.xdivy(tf.round(x), x), "xlogy": tf.math.xlogy(tf.round(x), tf.abs(x)),
             "xlog1py": tf.math.xlog1py(tf.round(x), tf.abs(x)), "softsign": tf.nn.softsign(x),
             "truncatediv": tf.truncatediv(x, 0.3), "truncatemod": f(tf.truncatemod(tf.cast(x * 10, tf.int32), 3)),
             "check_numerics": tf.debugging.check_numerics(x, "finite"),
             "gather_nd": tf.gather_nd(x, [[0, 1], [3, 5]]),
             "gather_nd_batch": tf.gather_nd(sq, [[[1, 2]], [[0, 3]]], batch_dims=1),
             "eye": tf.eye(tf.shape(x)[0]) * x[0, 0], "diag": tf.linalg.diag(x[:2]),
             "diag_above": tf.linalg.diag(x[:2, :3], k=1), "diag_below_rect": tf.linalg.diag(x[:2, :3], k=-1, num_rows=4, num_cols=5),
             "diag_part": tf.linalg.diag_part(sq), "diag_part_k": tf.linalg.diag_part(sq, k=2),
             "diag_part_below": tf.linalg.diag_part(sq, k=-1), "trace": tf.linalg.trace(sq),
             "set_diag": tf.linalg.set_diag(sq, x[:2, :3]), "set_diag_k": tf.linalg.set_diag(sq, x[:2, :2], k=2),
             "nearest_half": tf.image.resize(img, [7, 5], method="nearest"),
             "nearest_aligned": tf.compat.v1.image.resize_nearest_neighbor(img, [7, 4], align_corners=True),
             "nearest_legacy": tf.compat.v1.image.resize_nearest_neighbor(img, [3, 9]),
             "space_to_depth": tf.nn.space_to_depth(tf.reshape(x[:4], [1, 4, 2, 3]), 2),
             "depth_to_space": tf.nn.depth_to_space(tf.reshape(x[:4], [2, 1, 3, 4]), 2),
             "rint": tf.math.rint(x * 2), "prevent_gradient": tf.raw_ops.PreventGradient(input=x) * 2,
             "switch_case": tf.switch_case(branch, [lambda: x * 2, lambda: x - 1, lambda: tf.sort(x)]),
             "asserted": asserted,
             "scatter_update": tf.tensor_scatter_nd_update(x, [[1, 2], [3, 0]], [9.0, -9.0]),
             "scatter_update_rows": tf.tensor_scatter_nd_update(x, [[0], [4]], tf.ones([2, 6])),
             "segment_max": tf.math.unsorted_segment_max(x, [0, 2, 0, 1, 2], 4),
             "segment_min": tf.math.unsorted_segment_min(x, [0, 2, 0, 1, 2], 4),
             "segment_prod": tf.math.unsorted_segment_prod(x, [0, 2, 0, 1, 2], 4),
             "reverse_sequence": tf.reverse_sequence(x, [1, 2, 6, 0, 3], seq_axis=1, batch_axis=0),
             "reverse_sequence_t": tf.reverse_sequence(tf.transpose(x), [2, 0, 5, 1, 4], seq_axis=0, batch_axis=1),
             "searchsorted": f(tf.searchsorted(tf.sort(x), x * 0.5)),
             "searchsorted_right": f(tf.searchsorted(tf.sort(x), tf.round(x), side="right")),
             "bucketize": f(tf.raw_ops.Bucketize(input=x, boundaries=[-1.0, 0.0, 0.5])),
             "bucketize_int": f(tf.raw_ops.Bucketize(input=tf.cast(x * 3, tf.int32), boundaries=[-2.0, 0.5, 1.0, 3.0]))}
        return r


    @tf.function(input_signature=[tf.TensorSpec([None, 6], tf.float32)])
    def scatter_twice(self, x):  # duplicate indices: TensorFlow's order is undefined
        return tf.tensor_scatter_nd_update(x, [[1, 2], [1, 2]], [9.0, -9.0])


class ResizeBilinear(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 4, 5, 3], tf.float32)])
    def __call__(self, images):
        v1 = tf.compat.v1.image
        return {"aligned": v1.resize_bilinear(images, [7, 3], align_corners=True),
                "legacy": v1.resize_bilinear(images, [3, 8]),
                "half_pixel_down": v1.resize_bilinear(images, [2, 2], half_pixel_centers=True)}


def linalg_outputs(a, b):
    """tf.linalg's ops on a [batch, n, n] and b [batch, n, k] (made well
    conditioned, or positive definite for Cholesky), by name."""
    n = tf.shape(a)[-1]
    spd = tf.matmul(a, a, transpose_b=True) + 3 * tf.eye(n, dtype=a.dtype)
    well = a + 4 * tf.eye(n, dtype=a.dtype)
    chol = tf.linalg.cholesky(spd)
    sign, logdet = tf.linalg.slogdet(a)
    qr = tf.linalg.qr(a)
    wide = tf.linalg.qr(tf.concat([a, b], -1))
    full = tf.linalg.qr(tf.concat([a, tf.linalg.matrix_transpose(b)], -2), full_matrices=True)
    return {"chol": chol, "inv": tf.linalg.inv(well), "inv_adjoint": tf.linalg.inv(well, adjoint=True),
            "det": tf.linalg.det(a), "sign": sign, "logdet": logdet,
            "solve": tf.linalg.solve(well, b), "solve_adjoint": tf.linalg.solve(well, b, adjoint=True),
            "lower": tf.linalg.triangular_solve(well, b),
            "upper_adjoint": tf.linalg.triangular_solve(well, b, lower=False, adjoint=True),
            "cholesky_solve": tf.linalg.cholesky_solve(chol, b), "band": tf.linalg.band_part(a, 1, 0),
            # QR of the square a, of the wide [a, b] and (full_matrices, not differentiable) of the tall
            # [a; bᵀ]; Q's sum of squares is constant, so its loss is of q + 1.
            "qr_q": qr.q + 1, "qr_r": qr.r, "qr_wide_q": wide.q + 1, "qr_wide_r": wide.r,
            "qr_full_q": full.q, "qr_full_r": full.r}


class Linalg(tf.Module):
    spec = [tf.TensorSpec([None, None, None], tf.float64), tf.TensorSpec([None, None, None], tf.float64)]

    @tf.function(input_signature=spec)
    def __call__(self, a, b):
        return linalg_outputs(a, b)

    @tf.function(input_signature=spec)
    def gradients(self, a, b):
        """Of each output's sum of squares, with respect to a and b (those
        outputs that depend on b), in sorted order of the names."""
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([a, b])
            outs = linalg_outputs(a, b)
            losses = {k: tf.reduce_sum(v * v) for k, v in outs.items() if k != "sign" and not k.startswith("qr_")}
        return gradients_of(tape, losses, a, b)

    @tf.function(input_signature=[tf.TensorSpec([2, 3, 3], tf.float64), tf.TensorSpec([2, 3, 2], tf.float64)])
    def qr_gradients(self, a, b):
        """Those of the QR outputs but Q and R of full_matrices (TensorFlow's QrGrad needs the shapes,
        and refuses the full form of a tall matrix)."""
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([a, b])
            outs = linalg_outputs(a, b)
            losses = {k: tf.reduce_sum(v * v) for k, v in outs.items()
                      if k.startswith("qr_") and not k.startswith("qr_full")}
        return gradients_of(tape, losses, a, b)


    @tf.function(input_signature=[tf.TensorSpec([2], tf.int32)])
    def qr(self, size):
        """QR of one matrix of `size` (large enough for LAPACK's blocked form), made here from the sines of
        a quadratic phase, reduced and full: R's diagonals (their signs), R's first row, Q's first column
        and the full Q's last (what the reflectors leave of the identity's)."""
        count = tf.cast(tf.range(size[0] * size[1]), tf.float64)
        m = tf.reshape(tf.sin(count * count * 0.37 + 0.4) * 2, size)
        q, r = tf.linalg.qr(m)
        q_full, r_full = tf.linalg.qr(m, full_matrices=True)
        return {"r_diag": tf.linalg.diag_part(r), "r_full_diag": tf.linalg.diag_part(r_full), "r_row0": r[0],
                "q_col0": q[:, 0], "q_full_col_last": q_full[:, -1]}


def gradients_of(tape, losses, a, b):
    """Each loss's gradients with respect to a and b (where it depends on b), by name."""
    grads = {}
    for k, loss in losses.items():
        ga, gb = tape.gradient(loss, [a, b])
        grads[k + "_a"] = ga
        if gb is not None:
            grads[k + "_b"] = gb
    return grads


def linalg(root):
    m = Linalg()
    tf.saved_model.save(m, os.path.join(root, "linalg"))
    with open(os.path.join(root, "linalg.txt"), "w") as out:
        for shape_a, shape_b in (((2, 3, 3), (2, 3, 2)), ((1, 4, 4), (1, 4, 1)), ((1, 1, 1), (1, 1, 3))):
            count = int(np.prod(shape_a)) + int(np.prod(shape_b))
            v = np.sin(np.arange(count) ** 2 * 0.37 + 0.4) * 2  # (a linear phase would make rank-2 matrices)
            a, b = v[:int(np.prod(shape_a))].reshape(shape_a), v[int(np.prod(shape_a)):].reshape(shape_b)
            for fn in ("__call__", "gradients", "qr_gradients"):
                if fn == "qr_gradients" and shape_a != (2, 3, 3):
                    continue
                r = getattr(m, fn)(tf.constant(a), tf.constant(b))
                case(out, fn, [("a", a), ("b", b)], [r[k] for k in sorted(r)])
        for shape in ((40, 33), (33, 40)):
            r = m.qr(tf.constant(shape, tf.int32))
            case(out, "qr", [("size", np.array(shape, np.int32))], [r[k] for k in sorted(r)])


def special_outputs(x, y, m, ids):
    """tf.math's special functions (x, with their poles; erfinv of y),
    cumulative_logsumexp, the sorted segment reductions, cross, LRN and
    histogram_fixed_width of the rows m [n, 3], by name."""
    ones = tf.ones_like(x)
    # (LRN of the rows without the -inf: TensorFlow's CPU kernel sums the squares as a product with a band
    # matrix, so inf·0 makes every channel of that pixel NaN; ember sums the window's squares)
    lrn = tf.nn.local_response_normalization(tf.cast(m[tf.newaxis, tf.newaxis, 2:], tf.float32), depth_radius=1,
                                             bias=2.0, alpha=0.5, beta=0.75)
    return {"lgamma": tf.math.lgamma(x), "digamma": tf.math.digamma(x), "erfinv": tf.math.erfinv(y),
            "trigamma": tf.math.polygamma(ones, x), "polygamma3": tf.math.polygamma(3 * ones, x),
            "zeta": tf.math.zeta(2.5 * ones, x),
            "cumlse": tf.math.cumulative_logsumexp(m, axis=0),
            "cumlse_exclusive_reverse": tf.math.cumulative_logsumexp(m, axis=1, exclusive=True, reverse=True),
            "segment_sum": tf.math.segment_sum(m, ids), "segment_mean": tf.math.segment_mean(m, ids),
            "segment_max": tf.math.segment_max(m, ids), "segment_min": tf.math.segment_min(m, ids),
            "segment_prod": tf.math.segment_prod(m, ids), "cross": tf.linalg.cross(m[:-1], m[1:]),
            "lrn": tf.cast(lrn[0, 0], tf.float64),
            "histogram": tf.cast(tf.histogram_fixed_width(m, [-1.0, 2.0], nbins=4), tf.float64)}


class Special(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float64), tf.TensorSpec([None], tf.float64),
                                  tf.TensorSpec([None, 3], tf.float64), tf.TensorSpec([None], tf.int32)])
    def __call__(self, x, y, m, ids):
        return special_outputs(x, y, m, ids)


def special(root):
    s = Special()
    tf.saved_model.save(s, os.path.join(root, "special"))
    x = np.array([0, -1, -1.5, 0.5, 1, 2.5, 10, 1e-3, -2.5, 30, np.inf, np.nan, 1e10, 0.2])
    y = np.array([-1, 1, 0, 0.5, -0.999999, 1.5, np.nan, 1e-10, 0.9999999999, -0.3, 0.25, 0.75, -0.6, 0.1])
    m = (np.sin(np.arange(15) ** 2 * 0.37 + 0.4) * 2).reshape(5, 3)
    m[0, 0], m[1, 2] = -1000, -np.inf  # (a logsumexp far below the rest; a term that adds nothing)
    ids = np.array([0, 0, 2, 2, 3], np.int32)  # (segment 1 empty)
    with open(os.path.join(root, "special.txt"), "w") as out:
        r = s(tf.constant(x), tf.constant(y), tf.constant(m), tf.constant(ids))
        case(out, "__call__", [("x", x), ("y", y), ("m", m), ("ids", ids)], [r[k] for k in sorted(r)])


class Bitwise(tf.Module):
    """tf.bitwise on int32, int64 and uint8: shift counts negative and past the width (TensorFlow clamps
    them to [0, bits - 1]), signed right shifts (arithmetic), left shifts into and past the sign bit."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([None], tf.int64), tf.TensorSpec([None], tf.int64),
                                  tf.TensorSpec([None], tf.uint8), tf.TensorSpec([None], tf.uint8)])
    def __call__(self, a32, b32, a64, b64, a8, b8):
        out = {}
        for kind, (a, b) in {"i32": (a32, b32), "i64": (a64, b64), "u8": (a8, b8)}.items():
            out[kind + "_and"] = tf.bitwise.bitwise_and(a, b)
            out[kind + "_or"] = tf.bitwise.bitwise_or(a, b)
            out[kind + "_xor"] = tf.bitwise.bitwise_xor(a, b)
            out[kind + "_left"] = tf.bitwise.left_shift(a, b)
            out[kind + "_right"] = tf.bitwise.right_shift(a, b)
            out[kind + "_invert"] = tf.bitwise.invert(a)
            out[kind + "_popcount"] = tf.raw_ops.PopulationCount(x=a)
            out[kind + "_left_scalar"] = tf.bitwise.left_shift(a, tf.constant(1, a.dtype))  # (broadcast)
        return out


def bitwise(root):
    m = Bitwise()
    tf.saved_model.save(m, os.path.join(root, "bitwise"))
    # (every value exact as a double: the case lines hold doubles)
    a32 = np.array([5, -5, 1, -1, 2**30, -2**31, 7, 0x5555], np.int32)
    b32 = np.array([-1, 40, 31, 31, 2, 1, 32, 0x0ff0], np.int32)
    a64 = np.array([5, -5, 1, -1, 2**52, -2**52, 7, 12345], np.int64)
    b64 = np.array([-1, 70, 63, 63, 2, 1, 64, 5], np.int64)
    a8 = np.array([5, 255, 128, 1, 0, 77, 200, 3], np.uint8)
    b8 = np.array([1, 9, 7, 255, 3, 2, 8, 0], np.uint8)
    with open(os.path.join(root, "bitwise.txt"), "w") as out:
        r = m(*[tf.constant(v) for v in (a32, b32, a64, b64, a8, b8)])
        case(out, "__call__", [("a32", a32), ("b32", b32), ("a64", a64), ("b64", b64), ("a8", a8), ("b8", b8)],
             [r[k] for k in sorted(r)])


def eig_svd_outputs(a, b):
    """tf.linalg.eigh, eigvalsh and svd of [2, 4, 4] `a` (its lower triangle read), a tall [2, 5, 3]
    `b` and the full SVD of a wide [2, 3, 4] part of it, as quantities a vector's sign does not change
    (v², u₁·v₁ᵀ), and TensorFlow's gradients of losses of them."""
    w4 = tf.reshape(tf.cos(tf.range(16, dtype=tf.float64) * 0.7), [4, 4])
    w5 = tf.reshape(tf.cos(tf.range(15, dtype=tf.float64) * 0.4), [5, 3])
    out = {}
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([a, b])
        e, v = tf.linalg.eigh(a)
        s, u, vb = tf.linalg.svd(b)
        s_wide, u_wide, v_wide = tf.linalg.svd(tf.linalg.matrix_transpose(b[:, :4]), full_matrices=True)  # (3 x 4)
        losses = {"eigh_values": tf.reduce_sum(e * tf.constant([1.0, -2.0, 0.5, 3.0], tf.float64)),
                  "eigh_vectors": tf.reduce_sum(v * v * w4),
                  "eigvalsh": tf.reduce_sum(tf.linalg.eigvalsh(a) ** 2),
                  "svd_values": tf.reduce_sum(s * tf.constant([2.0, -1.0, 0.7], tf.float64)),
                  "svd_vectors": tf.reduce_sum(tf.matmul(u[..., :1], vb[..., :1], transpose_b=True) * w5) +
                                 tf.reduce_sum(u * u * w5),
                  "svd_values_only": tf.reduce_sum(tf.linalg.svd(b, compute_uv=False) ** 3),
                  "svd_wide_full": tf.reduce_sum(tf.matmul(u_wide[..., :1], v_wide[..., :1], transpose_b=True) *
                                                 tf.transpose(w5[:4])) + tf.reduce_sum(s_wide)}
    out["eigh_e"] = e
    out["eigh_v_squared"] = v * v
    out["svd_s"] = s
    out["svd_u1_v1"] = tf.matmul(u[..., :1], vb[..., :1], transpose_b=True)
    out["svd_wide_s"] = s_wide
    out["svd_wide_full_v_squared"] = v_wide * v_wide
    for name, loss in losses.items():
        ga, gb = tape.gradient(loss, [a, b], unconnected_gradients=tf.UnconnectedGradients.ZERO)
        out["grad_" + name + "_a"] = ga
        out["grad_" + name + "_b"] = gb
    return out


class EigSvd(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([2, 4, 4], tf.float64), tf.TensorSpec([2, 5, 3], tf.float64)])
    def __call__(self, a, b):
        return eig_svd_outputs(a, b)


def eig_svd(root):
    m = EigSvd()
    tf.saved_model.save(m, os.path.join(root, "eig_svd"))
    a = (np.sin(np.arange(32) ** 2 * 0.37 + 0.4) * 2).reshape(2, 4, 4)
    b = (np.cos(np.arange(30) ** 2 * 0.29 + 0.1) * 2).reshape(2, 5, 3)
    with open(os.path.join(root, "eig_svd.txt"), "w") as out:
        r = m(tf.constant(a), tf.constant(b))
        case(out, "__call__", [("a", a), ("b", b)], [r[k] for k in sorted(r)])


class StatelessRandom(tf.Module):
    """tf.random.stateless_* as TensorFlow 2.7 and later trace them: StatelessRandomGetKeyCounter of
    the seed, then StatelessRandomUniformV2, NormalV2 and TruncatedNormalV2 from its key and counter;
    scaled, in float32, float64 and float16, the shape a tensor too."""

    @tf.function(input_signature=[tf.TensorSpec([2], tf.int64), tf.TensorSpec([None], tf.int32)])
    def __call__(self, seed, shape):
        return {"uniform": tf.random.stateless_uniform([3, 4], seed=seed, minval=-2.0, maxval=3.0),
                "normal_f64": tf.random.stateless_normal([5], seed=seed, mean=1.0, stddev=0.5, dtype=tf.float64),
                "truncated": tf.random.stateless_truncated_normal([6], seed=seed),
                "uniform_f16": tf.random.stateless_uniform([4], seed=seed, dtype=tf.float16),
                "uniform_of_shape": tf.random.stateless_uniform(shape, seed=seed + 1)}


def stateless_random(root):
    m = StatelessRandom()
    tf.saved_model.save(m, os.path.join(root, "stateless_random"))
    with open(os.path.join(root, "stateless_random.txt"), "w") as out:
        for seed, shape in (([7, 3], [2, 3]), ([2**40, -9], [5])):
            seed, shape = np.array(seed, np.int64), np.array(shape, np.int32)
            r = m(tf.constant(seed), tf.constant(shape))
            case(out, "__call__", [("seed", seed), ("shape", shape)], [r[k] for k in sorted(r)])


class RandomInts(tf.Module):
    """Integer draws, a shuffle and tf.nn.l2_loss as TensorFlow traces them: StatelessRandomUniformIntV2
    from the seed's key and counter (int32, and int64 of a tensor shape), RandomUniformInt and
    RandomShuffle with op seeds (stateful: a second call continues their streams), L2Loss and its
    gradient."""

    @tf.function(input_signature=[tf.TensorSpec([2], tf.int64), tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([None, 3], tf.float32)])
    def __call__(self, seed, shape, x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            l2 = tf.nn.l2_loss(x)
        return {"int32": tf.random.stateless_uniform([3, 4], seed=seed, minval=-5, maxval=5, dtype=tf.int32),
                "int64": tf.random.stateless_uniform(shape, seed=seed, minval=-2**40, maxval=2**40, dtype=tf.int64),
                "seeded_int32": tf.random.uniform([4], 0, 50, dtype=tf.int32, seed=6),
                "shuffled": tf.random.shuffle(x, seed=4),
                "l2": l2,
                "l2_grad": tape.gradient(l2, x)}


def random_ints(root):
    m = RandomInts()
    tf.saved_model.save(m, os.path.join(root, "random_ints"))
    with open(os.path.join(root, "random_ints.txt"), "w") as out:
        for seed, shape, rows in (([7, 3], [2, 3], 5), ([2**40, -9], [5], 9)):
            seed, shape = np.array(seed, np.int64), np.array(shape, np.int32)
            x = np.sin(np.arange(rows * 3) ** 2 * 0.37 + 0.4).reshape(rows, 3).astype(np.float32)
            r = m(tf.constant(seed), tf.constant(shape), tf.constant(x))
            case(out, "__call__", [("seed", seed), ("shape", shape), ("x", x)], [r[k] for k in sorted(r)])


class NonMaxSuppression(tf.Module):
    """tf.image.non_max_suppression (NonMaxSuppressionV3) with and without a score threshold,
    non_max_suppression_with_scores (V5, soft suppression), V4 padded, V2 and V1, and float16 boxes
    (V3 with float32 thresholds)."""

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32), tf.TensorSpec([None], tf.float32),
                                  tf.TensorSpec([], tf.int32)])
    def __call__(self, boxes, scores, k):
        soft = tf.image.non_max_suppression_with_scores(boxes, scores, k, iou_threshold=0.6, score_threshold=0.05,
                                                        soft_nms_sigma=0.5)
        v4 = tf.raw_ops.NonMaxSuppressionV4(boxes=boxes, scores=scores, max_output_size=k, iou_threshold=0.4,
                                            score_threshold=0.2, pad_to_max_output_size=True)
        half = tf.image.non_max_suppression(tf.cast(boxes, tf.float16), tf.cast(scores, tf.float16), k, 0.45)
        return {"v3": tf.image.non_max_suppression(boxes, scores, k, iou_threshold=0.5),
                "v3_threshold": tf.image.non_max_suppression(boxes, scores, k, 0.3, score_threshold=0.4),
                "soft_indices": soft[0], "soft_scores": soft[1],
                "v4_indices": v4[0], "v4_valid": v4[1],
                "v2": tf.raw_ops.NonMaxSuppressionV2(boxes=boxes, scores=scores, max_output_size=k,
                                                     iou_threshold=0.7),
                "v1": tf.raw_ops.NonMaxSuppression(boxes=boxes, scores=scores, max_output_size=k),
                "half": half}


def non_max_suppression(root):
    m = NonMaxSuppression()
    tf.saved_model.save(m, os.path.join(root, "non_max_suppression"))
    with open(os.path.join(root, "non_max_suppression.txt"), "w") as out:
        for n, k in ((12, 6), (40, 40), (1, 3)):
            i = np.arange(n)
            y, x = np.sin(i * i * 0.37 + 0.4) * 3, np.cos(i * i * 0.29 + 0.1) * 3
            h, w = 1.5 + np.sin(i * 1.3) * 0.8, 1.5 + np.cos(i * 0.7) * 0.8
            # opposite corners in either order; a few empty boxes
            boxes = np.stack([y, x, y + h, x + w], 1).astype(np.float32)
            boxes[i % 5 == 3] = boxes[i % 5 == 3][:, [2, 3, 0, 1]]
            boxes[i % 11 == 7, 2] = boxes[i % 11 == 7, 0]
            scores = np.round((np.sin(i * 2.1 + 0.3) + 1) / 2, 2).astype(np.float32)  # (ties)
            r = m(tf.constant(boxes), tf.constant(scores), tf.constant(k, tf.int32))
            case(out, "__call__", [("boxes", boxes), ("scores", scores), ("k", np.int32(k))],
                 [r[key] for key in sorted(r)])


class Projective(tf.Module):
    """ImageProjectiveTransformV3 in both interpolations and every fill mode, with a rotation-zoom, a
    projective map (c0, c1 nonzero), a shift off the image and a per-image batch of transforms, into a
    larger output; uint8 and float16 images; V2; and Keras's RandomRotation, RandomZoom and
    RandomTranslation in training (seeded: stateless draws, then the transform)."""

    def __init__(self):
        super().__init__()
        import keras
        self.rotate = keras.layers.RandomRotation(0.2, fill_mode="reflect", seed=3)
        self.zoom = keras.layers.RandomZoom(0.3, fill_mode="constant", fill_value=0.5, seed=5)
        self.shift = keras.layers.RandomTranslation(0.2, 0.3, fill_mode="wrap", interpolation="nearest", seed=7)
        # (the layers' seed generators' states, tracked so the SavedModel holds them)
        self.seed_states = [g.state.value for layer in (self.rotate, self.zoom, self.shift) for g in layer._seed_generators]

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, None], tf.float32),
                                  tf.TensorSpec([None, 8], tf.float32)])
    def __call__(self, images, transforms):
        out = {}
        size = tf.shape(images)[1:3] + [1, 2]
        for interpolation in ("NEAREST", "BILINEAR"):
            for mode in ("REFLECT", "WRAP", "CONSTANT", "NEAREST"):
                out["%s_%s" % (interpolation.lower(), mode.lower())] = tf.raw_ops.ImageProjectiveTransformV3(
                    images=images, transforms=transforms, output_shape=size, fill_value=-1.5,
                    interpolation=interpolation, fill_mode=mode)
        out["uint8"] = tf.raw_ops.ImageProjectiveTransformV3(
            images=tf.cast(tf.abs(images) * 40, tf.uint8), transforms=transforms, output_shape=size, fill_value=7.0,
            interpolation="BILINEAR", fill_mode="REFLECT")
        out["float16"] = tf.raw_ops.ImageProjectiveTransformV3(
            images=tf.cast(images, tf.float16), transforms=transforms[:1], output_shape=size, fill_value=0.25,
            interpolation="BILINEAR", fill_mode="CONSTANT")
        out["v2"] = tf.raw_ops.ImageProjectiveTransformV2(images=images, transforms=transforms, output_shape=size,
                                                          interpolation="BILINEAR", fill_mode="WRAP")
        out["keras_rotation"] = self.rotate(images, training=True)
        out["keras_zoom"] = self.zoom(images, training=True)
        out["keras_translation"] = self.shift(images, training=True)
        return out


def projective(root):
    m = Projective()
    tf.saved_model.save(m, os.path.join(root, "projective"))
    i = np.arange(2 * 5 * 6 * 3)
    images = np.sin(i * i * 0.37 + 0.4).reshape(2, 5, 6, 3).astype(np.float32)
    c, s = np.cos(0.4) * 0.9, np.sin(0.4) * 0.9
    transforms = np.array([[c, -s, 1.2, s, c, -0.7, 0.0, 0.0],
                           [1.1, 0.3, -2.6, -0.2, 0.8, 1.9, 0.04, -0.03]], np.float32)
    with open(os.path.join(root, "projective.txt"), "w") as out:
        for t in (transforms, transforms[1:] * [1, 1, 9, 1, 1, -8, 1, 1]):
            r = m(tf.constant(images), tf.constant(t.astype(np.float32)))
            case(out, "__call__", [("images", images), ("transforms", t.astype(np.float32))],
                 [r[k] for k in sorted(r)])


class Gamma(tf.Module):
    """tf.random.stateless_gamma as TensorFlow traces it (StatelessRandomGammaV3 from the seed's key, its
    shape a tensor, alpha an input) with its gradients in alpha and beta (RandomGammaGrad), tf.random.gamma
    with an op seed (RandomGamma, stateful: a second call continues its stream), and Keras's MixUp and
    CutMix in training (their gamma and beta draws from the seed generators' states)."""

    def __init__(self):
        super().__init__()
        import keras
        self.mixup = keras.layers.MixUp(alpha=0.4, seed=3)
        self.cutmix = keras.layers.CutMix(factor=1.0, seed=5)
        # (the layers' seed generators' states, tracked so the SavedModel holds them)
        self.seed_states = [g.state.value for layer in (self.mixup, self.cutmix) for g in layer._seed_generators]

    @tf.function(input_signature=[tf.TensorSpec([2], tf.int64), tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([None], tf.float32), tf.TensorSpec([None, 6, 5, 2], tf.float32),
                                  tf.TensorSpec([None, 3], tf.float32)])
    def __call__(self, seed, shape, alpha, images, labels):
        beta = tf.constant(2.0)
        with tf.GradientTape() as tape:
            tape.watch([alpha, beta])
            y = tf.random.stateless_gamma(shape, seed=seed, alpha=alpha, beta=beta)
            loss = tf.reduce_sum(y * y)
        da, db = tape.gradient(loss, [alpha, beta])
        mixed = self.mixup({"images": images, "labels": labels}, training=True)
        cut = self.cutmix({"images": images, "labels": labels}, training=True)
        return {"stateless": y, "dalpha": da, "dbeta": db,
                "seeded": tf.random.gamma([3], alpha=[0.5, 4.0], seed=6),
                "mixup_images": mixed["images"], "mixup_labels": mixed["labels"],
                "cutmix_images": cut["images"], "cutmix_labels": cut["labels"]}


def gamma(root):
    m = Gamma()
    tf.saved_model.save(m, os.path.join(root, "gamma"))
    with open(os.path.join(root, "gamma.txt"), "w") as out:
        for seed, rows, alpha, batch in (([7, 3], 5, [0.3, 1.0, 2.5], 4), ([2**40, -9], 3, [6.0, 0.05], 3)):
            seed, shape = np.array(seed, np.int64), np.array([rows, len(alpha)], np.int32)
            alpha = np.array(alpha, np.float32)
            i = np.arange(batch * 6 * 5 * 2)
            images = np.sin(i * i * 0.37 + 0.4).reshape(batch, 6, 5, 2).astype(np.float32)
            labels = np.eye(3, dtype=np.float32)[np.arange(batch) % 3]
            r = m(tf.constant(seed), tf.constant(shape), tf.constant(alpha), tf.constant(images), tf.constant(labels))
            case(out, "__call__", [("seed", seed), ("shape", shape), ("alpha", alpha), ("images", images),
                                   ("labels", labels)], [r[k] for k in sorted(r)])


class Poisson(tf.Module):
    """tf.random.stateless_poisson as TensorFlow traces it (StatelessRandomPoisson, its shape a tensor, the
    rates an input; int32 and float32 counts), tf.random.poisson with an op seed (RandomPoissonV2,
    stateful: a second call continues its stream), and tf.random.split and fold_in of the seed
    (StatelessRandomUniformFullIntV2 from the seed's key)."""

    @tf.function(input_signature=[tf.TensorSpec([2], tf.int64), tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([None], tf.float32)])
    def __call__(self, seed, shape, lam):
        return {"int32": tf.random.stateless_poisson(shape, seed=seed, lam=lam),
                "float32": tf.random.stateless_poisson(shape, seed=seed, lam=lam * 3, dtype=tf.float32),
                "seeded": tf.random.poisson([4], lam=lam, seed=6, dtype=tf.int64),
                "split": tf.random.split(seed, num=3),
                "fold_in": tf.random.fold_in(seed, tf.size(lam, out_type=tf.int64))}


def poisson(root):
    m = Poisson()
    tf.saved_model.save(m, os.path.join(root, "poisson"))
    with open(os.path.join(root, "poisson.txt"), "w") as out:
        for seed, rows, lam in (([7, 3], 5, [0.3, 4.0, 11.0]), ([2**40, -9], 3, [60.0, 2.5])):
            seed, shape = np.array(seed, np.int64), np.array([rows, len(lam)], np.int32)
            lam = np.array(lam, np.float32)
            r = m(tf.constant(seed), tf.constant(shape), tf.constant(lam))
            case(out, "__call__", [("seed", seed), ("shape", shape), ("lam", lam)], [r[k] for k in sorted(r)])


class Generators(tf.Module):
    """tf.random.Generator's draws as TensorFlow 2.21 traces them (RngReadAndSkip, then
    StatelessRandomNormalV2, UniformV2, TruncatedNormalV2, UniformIntV2 and UniformFullIntV2 on the
    counter and key bitcast to uint64) from a generator the module tracks: the SavedModel holds its
    state variable as it was when saved, and each call continues that stream."""

    def __init__(self):
        super().__init__()
        self.gen = tf.random.Generator.from_seed(11)

    @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
    def __call__(self, scale):
        return {"normal": self.gen.normal([3]) * scale,
                "uniform": self.gen.uniform([4], -1.0, 1.0),
                "truncated": self.gen.truncated_normal([2], dtype=tf.float64),
                "ints": self.gen.uniform([5], 0, 100, dtype=tf.int32),
                "full_ints": self.gen.uniform_full_int([2], dtype=tf.int32)}


class GeneratorSkip(tf.Module):
    """tf.random.Generator.skip: an RngReadAndSkip whose state no draw takes, which ember refuses."""

    def __init__(self):
        super().__init__()
        self.gen = tf.random.Generator.from_seed(11)

    @tf.function(input_signature=[])
    def __call__(self):
        self.gen.skip(3)
        return self.gen.normal([2])


def generators(root):
    tf.saved_model.save(GeneratorSkip(), os.path.join(root, "generator_skip"))
    m = Generators()
    m.gen.normal([2])  # the state saved is past a first draw
    tf.saved_model.save(m, os.path.join(root, "generators"))
    with open(os.path.join(root, "generators.txt"), "w") as out:
        for scale in (1.0, 2.0):
            scale = np.float32(scale)
            r = m(tf.constant(scale))
            case(out, "__call__", [("scale", scale)], [r[k] for k in sorted(r)])


class ResizeGrads(tf.Module):
    """The resizes' gradients as TensorFlow's tapes write them (ResizeBilinearGrad, ResizeBicubicGrad,
    ResizeNearestNeighborGrad): up and down, with aligned corners, half-pixel centers and the legacy
    rule, float32 and float16 images."""

    @tf.function(input_signature=[tf.TensorSpec([2, 4, 5, 3], tf.float32), tf.TensorSpec([2, 7, 3, 3], tf.float32)])
    def __call__(self, x, w):
        r = tf.raw_ops
        size = tf.constant([7, 3])
        x16 = tf.cast(x, tf.float16)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([x, x16])
            ys = {"bilinear": tf.image.resize(x, size, "bilinear"),
                  "bilinear_aligned": r.ResizeBilinear(images=x, size=size, align_corners=True),
                  "bilinear_legacy": r.ResizeBilinear(images=x, size=size),
                  "bilinear_f16": tf.cast(r.ResizeBilinear(images=x16, size=size, half_pixel_centers=True), tf.float32),
                  "bicubic": tf.image.resize(x, size, "bicubic"),
                  "bicubic_legacy": r.ResizeBicubic(images=x, size=size),
                  "nearest": tf.image.resize(x, size, "nearest"),
                  "nearest_aligned": r.ResizeNearestNeighbor(images=x, size=size, align_corners=True)}
            losses = {k: tf.reduce_sum(y * w) for k, y in ys.items()}
        out = {}
        for k, loss in losses.items():
            g = tape.gradient(loss, x16 if k.endswith("f16") else x)
            out[k] = tf.cast(g, tf.float32)
        return out


def resize_grads(root):
    m = ResizeGrads()
    tf.saved_model.save(m, os.path.join(root, "resize_grads"))
    i = np.arange(2 * 4 * 5 * 3)
    x = np.sin(i * i * 0.37 + 0.4).reshape(2, 4, 5, 3).astype(np.float32)
    j = np.arange(2 * 7 * 3 * 3)
    w = np.cos(j * j * 0.29 + 0.1).reshape(2, 7, 3, 3).astype(np.float32)
    with open(os.path.join(root, "resize_grads.txt"), "w") as out:
        r = m(tf.constant(x), tf.constant(w))
        case(out, "__call__", [("x", x), ("w", w)], [r[k] for k in sorted(r)])


class Window3dGrads(tf.Module):
    """The 3-D windows' gradients as TensorFlow's tapes write them (Conv3DBackpropInputV2 and
    FilterV2, MaxPool3DGrad, AvgPool3DGrad), SAME and VALID, strided; and Keras's
    Conv3DTranspose, whose forward op is Conv3DBackpropInputV2."""

    def __init__(self):
        super().__init__()
        import keras
        self.up = keras.layers.Conv3DTranspose(2, 3, strides=2, padding="same")
        self.up.build((2, 5, 6, 6, 2))
        self.up_weights = [w.value for w in self.up.weights]

    @tf.function(input_signature=[tf.TensorSpec([2, 5, 6, 6, 2], tf.float32), tf.TensorSpec([3, 3, 2, 2, 3], tf.float32)])
    def __call__(self, x, f):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([x, f])
            ys = {"conv_same": tf.nn.conv3d(x, f, [1, 2, 2, 2, 1], "SAME"),
                  "conv_valid": tf.nn.conv3d(x, f, [1, 1, 2, 1, 1], "VALID"),  # (dilated: TensorFlow's oneDNN
                                                                                # backward refuses it)
                  "max_pool": tf.nn.max_pool3d(x, [1, 2, 3, 2, 1], [1, 2, 2, 1, 1], "SAME"),
                  "avg_pool": tf.nn.avg_pool3d(x, [1, 3, 2, 2, 1], [1, 1, 2, 2, 1], "VALID")}
            weights = {k: tf.reshape(tf.sin(tf.cast(tf.range(tf.size(y)), tf.float32) * 0.7 + 0.2), tf.shape(y))
                       for k, y in ys.items()}
            losses = {k: tf.reduce_sum(y * weights[k]) for k, y in ys.items()}
        out = {"transpose": self.up(x)}
        for k, loss in losses.items():
            out[k + "_dx"] = tape.gradient(loss, x)
            if k.startswith("conv"):
                out[k + "_df"] = tape.gradient(loss, f)
        return out


def window3d_grads(root):
    m = Window3dGrads()
    tf.saved_model.save(m, os.path.join(root, "window3d_grads"))
    i = np.arange(2 * 5 * 6 * 6 * 2)
    x = np.sin(i * i * 0.37 + 0.4).reshape(2, 5, 6, 6, 2).astype(np.float32)
    j = np.arange(3 * 3 * 2 * 2 * 3)
    f = np.cos(j * j * 0.29 + 0.1).reshape(3, 3, 2, 2, 3).astype(np.float32)
    with open(os.path.join(root, "window3d_grads.txt"), "w") as out:
        r = m(tf.constant(x), tf.constant(f))
        case(out, "__call__", [("x", x), ("f", f)], [r[k] for k in sorted(r)])


class Colorspace(tf.Module):
    """tf.image.rgb_to_hsv and hsv_to_rgb (RGBToHSV, HSVToRGB) in float32, float64 and float16, with
    gray pixels (no hue), black ones, each channel the largest and hues that wrap; TensorFlow's gradient
    of rgb_to_hsv; and Keras's RandomHue and RandomSaturation in training (seeded)."""

    def __init__(self):
        super().__init__()
        import keras
        self.hue = keras.layers.RandomHue(0.3, value_range=(0, 1), seed=11)
        self.saturation = keras.layers.RandomSaturation(0.4, value_range=(0, 1), seed=13)
        self.seed_states = [g.state.value for layer in (self.hue, self.saturation) for g in layer._seed_generators]

    @tf.function(input_signature=[tf.TensorSpec([None, 4, 3], tf.float32)])
    def __call__(self, rgb):
        with tf.GradientTape() as tape:
            tape.watch(rgb)
            hsv = tf.image.rgb_to_hsv(rgb)
            loss = tf.reduce_sum(hsv * tf.constant([0.7, -1.3, 0.4]))
        back = tf.image.hsv_to_rgb(hsv)
        images = tf.reshape(rgb, [-1, 2, 2, 3])
        return {"hsv": hsv, "grad": tape.gradient(loss, rgb), "rgb": back,
                "hsv_f64": tf.cast(tf.image.rgb_to_hsv(tf.cast(rgb, tf.float64)), tf.float32),
                "hsv_f16": tf.cast(tf.image.rgb_to_hsv(tf.cast(rgb, tf.float16)), tf.float32),
                "rgb_of_hsv_f16": tf.cast(tf.image.hsv_to_rgb(tf.cast(rgb, tf.float16)), tf.float32),
                "rgb_of_wrapping": tf.image.hsv_to_rgb(rgb * [1.8, 1, 1] - [0.4, 0, 0]),
                "keras_hue": self.hue(images, training=True),
                "keras_saturation": self.saturation(images, training=True)}


def colorspace(root):
    m = Colorspace()
    tf.saved_model.save(m, os.path.join(root, "colorspace"))
    i = np.arange(2 * 4 * 3)
    rgb = ((np.sin(i * i * 0.37 + 0.4) + 1) / 2).reshape(2, 4, 3)
    rgb[0, 0] = [0.5, 0.5, 0.5]  # gray: no hue, no saturation
    rgb[0, 1] = [0.0, 0.0, 0.0]  # black
    rgb[1, 0] = [0.2, 0.9, 0.4]  # green the largest
    rgb[1, 1] = [0.3, 0.1, 0.8]  # blue the largest, red above green
    rgb = rgb.astype(np.float32)
    with open(os.path.join(root, "colorspace.txt"), "w") as out:
        r = m(tf.constant(rgb))
        case(out, "__call__", [("rgb", rgb)], [r[k] for k in sorted(r)])


TRIG = ["tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh"]


class Trig(tf.Module):
    """tf.math's trigonometric and hyperbolic functions in float64 and float32, in and outside their
    domains, and TensorFlow's gradients of the float64 ones (its math_grad.py formulas)."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float64), tf.TensorSpec([None], tf.float32)])
    def __call__(self, x, x32):
        out = {}
        for name in TRIG:
            f = getattr(tf.math, name)
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = f(x)
            out[name] = y
            out[name + "_grad"] = tape.gradient(y, x)
            out[name + "_f32"] = f(x32)
        return out


def trig(root):
    m = Trig()
    tf.saved_model.save(m, os.path.join(root, "trig"))
    x = np.array([-2, -1, -0.5, 0, 0.3, 0.99, 1, 1.5, 3, 20, 1e-8, np.inf, -np.inf, np.nan])
    x32 = x.astype(np.float32)
    with open(os.path.join(root, "trig.txt"), "w") as out:
        r = m(tf.constant(x), tf.constant(x32))
        case(out, "__call__", [("x", x), ("x32", x32)], [r[k] for k in sorted(r)])


class Images(tf.Module):
    """ResizeBicubic (tf.image.resize's half-pixel form, TensorFlow 1's aligned
    and legacy forms; up and down), ExtractImagePatches (VALID and SAME,
    strides and rates) and CropAndResize (bilinear, nearest, one pixel)."""

    @tf.function(input_signature=[tf.TensorSpec([None, 5, 6, 2], tf.float32)])
    def __call__(self, images):
        v1 = tf.compat.v1.image
        return {"bicubic_up": tf.image.resize(images, [9, 4], method="bicubic"),
                "bicubic_down": tf.image.resize(images, [2, 3], method="bicubic"),
                "bicubic_aligned": v1.resize_bicubic(images, [7, 11], align_corners=True),
                "bicubic_legacy": v1.resize_bicubic(images, [3, 8]),
                "patches_valid": tf.image.extract_patches(images, [1, 2, 3, 1], [1, 2, 1, 1], [1, 1, 1, 1], "VALID"),
                "patches_same": tf.image.extract_patches(images, [1, 3, 2, 1], [1, 2, 3, 1], [1, 2, 1, 1], "SAME"),
                "crop_bilinear": tf.image.crop_and_resize(images, self.boxes, self.box_ind, [3, 4]),
                "crop_nearest": tf.image.crop_and_resize(images, self.boxes, self.box_ind, [4, 3], method="nearest",
                                                         extrapolation_value=-1.5),
                "crop_one": tf.image.crop_and_resize(images, self.boxes, self.box_ind, [1, 1])}

    # CropAndResize's boxes [y1, x1, y2, x2]: inside, partly outside the image (extrapolated), flipped, a
    # line, and the image's indices
    boxes = tf.constant([[0.1, 0.2, 0.8, 0.9], [-0.2, 0.1, 1.3, 0.7], [0.9, 0.8, 0.2, 0.1], [0.5, 0.0, 0.5, 1.0]],
                        tf.float32)
    box_ind = tf.constant([0, 1, 1, 0], tf.int32)


def images(root):
    m = Images()
    tf.saved_model.save(m, os.path.join(root, "images"))
    x = (np.sin(np.arange(120) ** 2 * 0.21 + 0.1) * 3).reshape(2, 5, 6, 2).astype(np.float32)
    with open(os.path.join(root, "images.txt"), "w") as out:
        r = m(tf.constant(x))
        case(out, "__call__", [("images", x)], [r[k] for k in sorted(r)])


class KerasTrain(tf.Module):
    """Keras 3 models with their training steps (tape, gradients, optimizer updates) as tf.functions: what a
    program written for TensorFlow saves to train on elsewhere. rnn: an LSTM under SGD with momentum (the
    while loop's gradient: TanhGrad, SigmoidGrad, VariableShape, EmptyTensorList); mix: Conv1D (elu),
    batch normalization, a transpose (Permute), a dense layer of selu, then softplus, leaky relu, relu6 and
    sigmoid, a Huber loss, Adam (EluGrad, SeluGrad, ..., RsqrtGrad, ShapeN, DynamicStitch, InvertPermutation)."""

    def __init__(self):
        super().__init__()
        K = tf.keras
        K.utils.set_random_seed(3)
        self.rnn = K.Sequential([K.Input((5, 3)), K.layers.LSTM(4), K.layers.Dense(3)])
        self.rnn_opt = K.optimizers.SGD(0.1, momentum=0.9)
        self.rnn_opt.build(self.rnn.trainable_variables)
        self.mix = K.Sequential([K.Input((6, 3)), K.layers.Conv1D(4, 3, activation="elu"),
                                 K.layers.BatchNormalization(), K.layers.Permute((2, 1)), K.layers.Flatten(),
                                 K.layers.Dense(8, activation="selu")]
                                + [K.layers.Activation(a) for a in ("softplus", "leaky_relu", "relu6", "sigmoid")]
                                + [K.layers.Dense(1)])
        self.mix_opt = K.optimizers.Adam(0.05)
        self.mix_opt.build(self.mix.trainable_variables)

    @staticmethod
    def _step(model, opt, loss_fn, x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    @tf.function(input_signature=[tf.TensorSpec([None, 5, 3]), tf.TensorSpec([None], tf.int32)])
    def train_rnn(self, x, y):
        return self._step(self.rnn, self.rnn_opt, tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          x, y)

    @tf.function(input_signature=[tf.TensorSpec([None, 5, 3])])
    def predict_rnn(self, x):
        return self.rnn(x, training=False)

    @tf.function(input_signature=[tf.TensorSpec([None, 6, 3]), tf.TensorSpec([None, 1])])
    def train_mix(self, x, y):
        return self._step(self.mix, self.mix_opt, tf.keras.losses.Huber(), x, y)

    @tf.function(input_signature=[tf.TensorSpec([None, 6, 3])])
    def predict_mix(self, x):
        return self.mix(x, training=False)


def keras_train(root):
    m = KerasTrain()
    tf.saved_model.save(m, os.path.join(root, "keras_train"))
    xr = np.sin(np.arange(60) * 0.37 + 0.2).reshape(4, 5, 3).astype(np.float32)
    yr = np.array([0, 2, 1, 2], np.int32)
    xm = np.cos(np.arange(72) ** 2 * 0.13).reshape(4, 6, 3).astype(np.float32)
    ym = np.array([[0.5], [-1.0], [2.0], [0.25]], np.float32)
    with open(os.path.join(root, "keras_train.txt"), "w") as out:  # (from the state saved: the steps change it)
        for _ in range(3):
            case(out, "train_rnn", [("x", xr), ("y", yr)], m.train_rnn(xr, yr))
        case(out, "predict_rnn", [("x", xr)], m.predict_rnn(xr))
        for _ in range(3):
            case(out, "train_mix", [("x", xm), ("y", ym)], m.train_mix(xm, ym))
        case(out, "predict_mix", [("x", xm)], m.predict_mix(xm))


class GradOps(tf.Module):
    """The ops of TensorFlow's gradient graphs that ember imports as its own ops, called directly: the
    activations' gradients (at values of both signs, relu6's at both edges), DynamicStitch with an index
    given twice (the later wins), InvertPermutation, ShapeN and VariableShape."""

    def __init__(self):
        super().__init__()
        self.v = tf.Variable(tf.zeros([2, 3, 5]))

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32), tf.TensorSpec([None, 4], tf.float32)])
    def __call__(self, x, dy):
        r = tf.raw_ops
        return {"tanh": r.TanhGrad(y=tf.tanh(x), dy=dy), "sigmoid": r.SigmoidGrad(y=tf.sigmoid(x), dy=dy),
                "rsqrt": r.RsqrtGrad(y=tf.math.rsqrt(tf.abs(x) + 0.5), dy=dy),
                "sqrt": r.SqrtGrad(y=tf.sqrt(tf.abs(x) + 0.5), dy=dy),
                "reciprocal": r.ReciprocalGrad(y=1 / (tf.abs(x) + 0.5), dy=dy),
                "elu": r.EluGrad(gradients=dy, outputs=tf.nn.elu(x)),
                "selu": r.SeluGrad(gradients=dy, outputs=tf.nn.selu(x)),
                "leaky": r.LeakyReluGrad(gradients=dy, features=x, alpha=0.3),
                "relu6": r.Relu6Grad(gradients=dy, features=x * 4),
                "softplus": r.SoftplusGrad(gradients=dy, features=x),
                "softsign": r.SoftsignGrad(gradients=dy, features=x),
                "stitch": tf.dynamic_stitch([[0, 2], [[1], [2]]], [x[:2], x[2:4, tf.newaxis]]),
                "invert": tf.cast(tf.math.invert_permutation(tf.constant([2, 0, 3, 1])), tf.float32),
                "shape_n": tf.cast(tf.concat(tf.shape_n([x, dy[:1], self.v]), 0), tf.float32),
                "variable_shape": tf.cast(tf.raw_ops.VariableShape(input=self.v.handle), tf.float32)}


def grad_ops(root):
    m = GradOps()
    tf.saved_model.save(m, os.path.join(root, "grad_ops"))
    x = np.array([[-3, -0.5, 0, 0.25], [1.5, 6, 7, -1e-3], [0.5, -6.5, 2, -2], [4, 1.49, 1.51, -0.1]], np.float32)
    dy = (np.cos(np.arange(16) * 0.9) * 2).reshape(4, 4).astype(np.float32)
    with open(os.path.join(root, "grad_ops.txt"), "w") as out:
        r = m(tf.constant(x), tf.constant(dy))
        case(out, "__call__", [("x", x), ("dy", dy)], [r[k] for k in sorted(r)])


def main_only(root, names):
    for name in names:
        {"cyclic": cyclic, "keras_transformer": keras_transformer, "keras_bidirectional": keras_bidirectional,
         "keras_preprocessing": keras_preprocessing, "more_ops": more_ops,
         "keras_upsampling": keras_upsampling, "keras_conv3d": keras_conv3d, "linalg": linalg,
         "unknown_op": unknown_op, "special": special, "images": images, "bitwise": bitwise, "keras_train": keras_train,
         "grad_ops": grad_ops, "trig": trig, "eig_svd": eig_svd,
         "stateless_random": stateless_random, "random_ints": random_ints,
         "non_max_suppression": non_max_suppression, "projective": projective,
         "resize_grads": resize_grads, "window3d_grads": window3d_grads, "colorspace": colorspace,
         "gamma": gamma, "poisson": poisson, "generators": generators}[name](root)
    print("OK")


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

    shapes = UnknownShapes()
    tf.saved_model.save(shapes, os.path.join(root, "unknown_shapes"))
    with open(os.path.join(root, "unknown_shapes.txt"), "w") as out:
        for xs in (np.sin(np.arange(6) * 0.8).reshape(2, 3), np.cos(np.arange(8) * 0.6).reshape(2, 2, 2)):
            xs = xs.astype(np.float32)
            r = shapes(tf.constant(xs))
            case(out, "__call__", [("x", xs)], [r[k] for k in sorted(r)])

    rl = RangeLoop()
    tf.saved_model.save(rl, os.path.join(root, "range_loop"))
    with open(os.path.join(root, "range_loop.txt"), "w") as out:
        for n in (4, 1):
            xv, nv = np.array([1.0, -2.0, 0.5], np.float32), np.array(n, np.int32)
            r = rl(tf.constant(xv), tf.constant(nv))
            case(out, "__call__", [("x", xv), ("n", nv)], [r[k] for k in sorted(r)])

    for depth in (10,):  # (TensorFlow's own saving and calling take minutes from depth 20 on)
        m = fanout(depth)
        tf.saved_model.save(m, os.path.join(root, "fanout%d" % depth))
        with open(os.path.join(root, "fanout%d.txt" % depth), "w") as out:
            xv = np.array([0.75, -2.0], np.float32)
            case(out, "f", [("x", xv)], [m.f(tf.constant(xv))])

    # Keras exports with Flatten and with an LSTM (its loop over time).
    keras.utils.set_random_seed(3)
    flat = keras.Sequential([keras.Input((3, 4)), keras.layers.Flatten(), keras.layers.Dense(5)])
    flat.export(os.path.join(root, "keras_flatten"), format="tf_saved_model", verbose=False)
    xf = np.sin(np.arange(24) * 0.4).reshape(2, 3, 4).astype(np.float32)
    with open(os.path.join(root, "keras_flatten.txt"), "w") as out:
        case(out, "signature:serving_default", [("keras_tensor_3", xf)], [tf.constant(flat(xf))])
        case(out, "serve", [("keras_tensor_3", xf)], [tf.constant(flat(xf))])
    lstm = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4), keras.layers.Dense(2)])
    lstm.export(os.path.join(root, "keras_lstm"), format="tf_saved_model", verbose=False)
    xl = np.cos(np.arange(30) * 0.3).reshape(2, 5, 3).astype(np.float32)
    with open(os.path.join(root, "keras_lstm.txt"), "w") as out:
        case(out, "serve", [("keras_tensor_6", xl)], [tf.constant(lstm(xl))])

    unknown_op(root)
    cyclic(root)
    keras_transformer(root)
    keras_bidirectional(root)
    keras_preprocessing(root)
    more_ops(root)
    keras_upsampling(root)
    keras_conv3d(root)
    linalg(root)
    special(root)
    images(root)
    bitwise(root)
    keras_train(root)
    grad_ops(root)
    print("OK")


if __name__ == "__main__":
    if len(sys.argv) > 2:
        main_only(sys.argv[1], sys.argv[2:])
    else:
        main(sys.argv[1])

"""Writes tests/data/tf_print.txt: how tf.print prints tensors (its
summarize, nested brackets, float precision), the reference for ember's
print (the Print kernel, kernels/logging.cpp).

    /opt/tfvenv/bin/python tests/tf/make_tf_print_fixtures.py tests/data/tf_print.txt

Each case is four lines: `dtype d0,d1,...`, the values (float.hex() for
floats, integers for the rest), the summarize value, and what tf.print
wrote (newlines written as \\n).
"""
import os
import sys

import numpy as np
import tensorflow as tf

CASES = [
    (tf.int32, 3, 3), (tf.float32, 3.0, 3), (tf.float32, [1.5, -2.0], 3), (tf.int32, list(range(10)), 3),
    (tf.bool, [True, False], 3), (tf.int32, [[1, 2], [3, 4]], 3), (tf.float32, 0.1, 3), (tf.float32, 1 / 3, 3),
    (tf.float64, 1 / 3, 3), (tf.float32, 123456789.0, 3), (tf.float32, 1e-7, 3), (tf.float32, [1e10, 2.5], 3),
    (tf.int32, np.arange(24).reshape(2, 3, 4), 3), (tf.float32, float("nan"), 3), (tf.float32, -float("inf"), 3),
    (tf.float32, np.zeros([0]), 3), (tf.float32, np.zeros([2, 0]), 3), (tf.float32, [[1.25, 2.5, 3.75, 4, 5, 6, 7]], 3),
    (tf.float32, 1e20, 3), (tf.float32, 0.000123456, 3), (tf.float32, 1234567.0, 3), (tf.float32, -0.0, 3),
    (tf.int64, 7, 3), (tf.uint8, 200, 3), (tf.int32, list(range(10)), 2), (tf.int32, np.arange(100).reshape(10, 10), 3),
    (tf.float64, [0.1, 2.0, 1e-300], 3), (tf.int64, [-(2**62), 2**62], 3), (tf.float32, np.arange(7) * 0.5, -1),
    (tf.bfloat16, [2.5, -0.375], 3), (tf.float16, [0.1, 65504.0], 3), (tf.float32, np.arange(8).reshape(2, 2, 2), 1),
]


def main(path):
    with open(path, "w") as f:
        f.write("# tf.print, TensorFlow %s (tests/tf/make_tf_print_fixtures.py)\n" % tf.__version__)
        for dtype, value, summarize in CASES:
            t = tf.constant(value, dtype=dtype)
            tf.print(t, summarize=summarize, output_stream="file://" + path + ".tmp")
            with open(path + ".tmp") as tmp:
                printed = tmp.read()
            os.remove(path + ".tmp")
            flat = t.numpy().ravel()
            if dtype.is_floating:
                vals = " ".join(float(v).hex() for v in flat.astype(np.float64))
            else:
                vals = " ".join(str(int(v)) for v in flat)
            f.write("%s %s\n" % (dtype.name, ",".join(str(d) for d in t.shape)))
            f.write(vals + "\n")
            f.write("%d\n" % summarize)
            f.write(printed.rstrip("\n").replace("\n", "\\n") + "\n")


if __name__ == "__main__":
    main(sys.argv[1])

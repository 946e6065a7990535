"""Writes tests/data/loss_scale/steps.txt: Keras 3's LossScaleOptimizer
(TensorFlow's) step by step, for tests/mixed_precision_test.cpp.

A float32 variable w = [0.5, -1.5, 2.0], loss = sum((w * x - y)^2) for
fixed x, y, SGD(0.01) inside LossScaleOptimizer(initial_scale=2^127,
dynamic_growth_steps=2): the first scaled losses overflow (the step is
skipped and the scale halves) until they do not; then the scale doubles
every second finite step and overflows again. One line per step:
    step dynamic_scale step_counter iterations w0 w1 w2
(after the step; values printed with repr).

    /opt/tfvenv/bin/python tests/tf/make_loss_scale_fixtures.py tests/data/loss_scale
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def main(out_dir):
    w = keras.Variable(np.array([0.5, -1.5, 2.0], np.float32), name="w")
    x = tf.constant([1.0, 2.0, -3.0])
    y = tf.constant([0.25, 1.0, -2.0])
    opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.01), initial_scale=2.0**127,
                                              dynamic_growth_steps=2)
    lines = []
    for step in range(14):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(w * x - y))
            scaled = opt.scale_loss(loss)
        (g,) = tape.gradient(scaled, [w])
        opt.apply([g], [w])
        v = w.numpy()
        lines.append("%d %r %d %d %r %r %r" % (step, float(opt.dynamic_scale.numpy()), int(opt.step_counter.numpy()),
                                               int(opt.iterations.numpy()), float(v[0]), float(v[1]), float(v[2])))
    with open(os.path.join(out_dir, "steps.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1])

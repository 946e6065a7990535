"""Writes tests/data/half_optimizers.txt: Keras 3's optimizers updating 16-bit
variables (a "bfloat16" or "float16" dtype policy keeps them in 16 bits), for
tests/mixed_precision_test.cpp. Keras casts the learning rate, step and
hyper-parameters to the variable's dtype: in bfloat16 Adam's beta_2 (0.999)
rounds to 1, so 1 - beta_2^t is 0 and Adam makes no update.

    /opt/tfvenv/bin/python tests/tf/make_half_optimizer_fixtures.py tests/data/half_optimizers.txt
"""
import sys

import keras
import numpy as np
import tensorflow as tf

from fixture_file import write_cases


def cases():
    for dt in ("bfloat16", "float16"):
        g = tf.constant([0.5, -1.0, 2.0], dtype=dt)
        for name, make, steps in (("adam", lambda: keras.optimizers.Adam(0.1), 1),
                                  ("adam_3", lambda: keras.optimizers.Adam(0.1), 3),
                                  ("sgd_momentum_2", lambda: keras.optimizers.SGD(0.1, momentum=0.9), 2),
                                  ("rmsprop_2", lambda: keras.optimizers.RMSprop(0.01), 2)):
            v = keras.Variable(np.ones((3,)), dtype=dt)
            opt = make()
            for _ in range(steps):
                opt.apply_gradients([(g, v)])
            yield "%s/%s" % (dt, name), v.numpy()


def main(path):
    write_cases(path, "TensorFlow %s, Keras %s (tests/tf/make_half_optimizer_fixtures.py)" % (tf.__version__, keras.__version__),
                cases())


if __name__ == "__main__":
    main(sys.argv[1])

"""Checks, with TensorFlow, ember's checkpoint of 16-bit float variables.

    python tests/tf/check_half_checkpoint.py PREFIX

ember's test (HalfCheckpoint.TensorFlowReadsThem) saves Checkpoint(b=bf16
variable, h=float16 variable) holding the values below; TensorFlow must list
them with its own dtypes and read the same values, and restore them into
tf.Variables with assert_consumed(). Exit status 0 means TensorFlow agreed.
"""
import sys

import numpy as np
import tensorflow as tf

VALUES = [0.1, -2.5, 65504.0, 1e-3, 3.0e38]


def main(prefix):
    reader = tf.train.load_checkpoint(prefix)
    dtypes = reader.get_variable_to_dtype_map()
    key_b, key_h = "b/.ATTRIBUTES/VARIABLE_VALUE", "h/.ATTRIBUTES/VARIABLE_VALUE"
    assert dtypes[key_b] == tf.bfloat16, dtypes[key_b]
    assert dtypes[key_h] == tf.float16, dtypes[key_h]
    want_b = tf.constant(VALUES, tf.float32)
    want_b = tf.cast(want_b, tf.bfloat16)
    want_h = tf.cast(tf.constant(VALUES[:4], tf.float32), tf.float16)
    np.testing.assert_array_equal(reader.get_tensor(key_b).astype(np.float32),
                                  want_b.numpy().astype(np.float32))
    np.testing.assert_array_equal(reader.get_tensor(key_h), want_h.numpy())
    b = tf.Variable(tf.zeros([5], tf.bfloat16))
    h = tf.Variable(tf.zeros([4], tf.float16))
    tf.train.Checkpoint(b=b, h=h).restore(prefix).assert_consumed()
    np.testing.assert_array_equal(b.numpy().astype(np.float32), want_b.numpy().astype(np.float32))
    np.testing.assert_array_equal(h.numpy(), want_h.numpy())
    print("TensorFlow read ember's bfloat16 and float16 variables")


if __name__ == "__main__":
    main(sys.argv[1])

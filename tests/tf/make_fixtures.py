"""Writes the TensorFlow checkpoint fixture that ember's tests restore.

Run with a Python that has tensorflow-cpu (scripts/setup-tf.sh makes one):
    /opt/tfvenv/bin/python tests/tf/make_fixtures.py tests/data/tf_checkpoint
The values are simple formulas the C++ test recomputes (tests/checkpoint_test.cpp).
"""
import shutil
import sys

import numpy as np
import tensorflow as tf


class Dense(tf.Module):
    def __init__(self, name, scale):
        super().__init__(name=name)
        self.w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3) * scale, name="w")
        self.b = tf.Variable(np.array([1.5, -2.5, 3.25]) * scale, name="b")  # float64


def build():
    root = tf.Module(name="root")
    root.dense = Dense("dense", 0.5)
    root.counts = tf.Variable(np.array([1, -2, 3], dtype=np.int32))
    root.steps = tf.Variable(np.int64(123456789012))
    root.flags = tf.Variable([True, False, True])
    root.pixels = tf.Variable(np.array([[0, 128], [255, 7]], dtype=np.uint8))
    root.cube = tf.Variable(np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 8)
    setattr(root, "we.ird/name", tf.Variable(7.0))  # a name that needs escaping
    root.nested = tf.Module(name="nested")
    root.nested.inner = Dense("inner", 2.0)
    table = tf.lookup.experimental.MutableHashTable(key_dtype=tf.string, value_dtype=tf.int64, default_value=-1)
    table.insert(tf.constant(["apple", "banana", "cherry"]), tf.constant([1, 2, 3], dtype=tf.int64))
    root.table = table
    itable = tf.lookup.experimental.MutableHashTable(key_dtype=tf.int64, value_dtype=tf.float32, default_value=0.0)
    itable.insert(tf.constant([10, 20], dtype=tf.int64), tf.constant([0.5, 1.5]))
    root.itable = itable
    return root


def main(out_dir):
    shutil.rmtree(out_dir, ignore_errors=True)
    root = build()
    ckpt = tf.train.Checkpoint(model=root)
    path = ckpt.save(out_dir + "/ckpt")
    print("wrote", path)
    for key, shape in sorted(tf.train.list_variables(path)):
        print(" ", key, shape)


if __name__ == "__main__":
    main(sys.argv[1])

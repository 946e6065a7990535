"""Checks, with TensorFlow itself, a checkpoint that ember wrote.

    python tests/tf/check_ember_checkpoint.py PREFIX

ember's test writes the structure and values of make_fixtures.build(); this
script asserts that tf.train.load_checkpoint lists the same keys, dtypes,
shapes and values, and that tf.train.Checkpoint(...).restore(PREFIX)
.assert_consumed() passes on freshly built TensorFlow objects, whose values
then equal the originals. Exit status 0 means TensorFlow agreed.
"""
import os
import sys

import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(__file__))
import make_fixtures  # noqa: E402


def variables_by_key(root):
    out = {
        "model/dense/w": root.dense.w, "model/dense/b": root.dense.b, "model/counts": root.counts,
        "model/steps": root.steps, "model/flags": root.flags, "model/pixels": root.pixels, "model/cube": root.cube,
        "model/we..ird.Sname": getattr(root, "we.ird/name"), "model/nested/inner/w": root.nested.inner.w,
        "model/nested/inner/b": root.nested.inner.b,
    }
    return {k + "/.ATTRIBUTES/VARIABLE_VALUE": v for k, v in out.items()}


def main(prefix):
    expected = make_fixtures.build()
    reader = tf.train.load_checkpoint(prefix)
    dtypes = reader.get_variable_to_dtype_map()
    shapes = reader.get_variable_to_shape_map()
    want = variables_by_key(expected)
    want_keys = set(want) | {"save_counter/.ATTRIBUTES/VARIABLE_VALUE", "_CHECKPOINTABLE_OBJECT_GRAPH",
                             "model/table/.ATTRIBUTES/table-keys", "model/table/.ATTRIBUTES/table-values",
                             "model/itable/.ATTRIBUTES/table-keys", "model/itable/.ATTRIBUTES/table-values"}
    assert set(dtypes) == want_keys, sorted(set(dtypes) ^ want_keys)
    for key, var in want.items():
        assert dtypes[key] == var.dtype, (key, dtypes[key], var.dtype)
        assert shapes[key] == var.shape.as_list(), (key, shapes[key], var.shape)
        np.testing.assert_array_equal(reader.get_tensor(key), var.numpy(), err_msg=key)

    # Restore into fresh TensorFlow objects (zeros, empty tables) and compare.
    fresh = make_fixtures.build()
    for var in variables_by_key(fresh).values():
        var.assign(tf.zeros_like(var))
    fresh.table.remove(tf.constant(["apple", "banana", "cherry"]))
    fresh.itable.remove(tf.constant([10, 20], dtype=tf.int64))
    tf.train.Checkpoint(model=fresh).restore(prefix).assert_consumed()
    for key, var in variables_by_key(fresh).items():
        np.testing.assert_array_equal(var.numpy(), want[key].numpy(), err_msg=key)
    got = fresh.table.lookup(tf.constant(["apple", "banana", "cherry", "durian"])).numpy().tolist()
    assert got == [1, 2, 3, -1], got
    got = fresh.itable.lookup(tf.constant([10, 20, 30], dtype=tf.int64)).numpy().tolist()
    assert got == [0.5, 1.5, 0.0], got
    print("TensorFlow read ember's checkpoint:", len(dtypes), "keys")


if __name__ == "__main__":
    main(sys.argv[1])

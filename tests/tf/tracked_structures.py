"""TensorFlow's tracked lists and dicts (ListWrapper, _DictWrapper) against
ember's TrackedList / TrackedDict (tests/tracked_structures_test.cpp).

    python tests/tf/tracked_structures.py make DIR
        writes DIR/ckpt (tf.train.Checkpoint(m=build(1.0)).write) and
        DIR/keys.txt (its keys and Module.variables' order), the committed
        fixture tests/data/tf_tracked;
    python tests/tf/tracked_structures.py check PREFIX DIR SCALE
        restores ember's checkpoint PREFIX into TensorFlow's structure,
        asserting every value matched (assert_consumed) and equals
        M(SCALE)'s, then loads ember's SavedModel DIR and reads the values
        through the lists and dicts TensorFlow revives.
Exit status 0 means TensorFlow agreed.
"""
import os
import shutil
import sys

import numpy as np
import tensorflow as tf


class M(tf.Module):
    def __init__(self, scale):
        super().__init__()
        self.vs = [tf.Variable(1.0 * scale, name="a"), tf.Variable(2.0 * scale, name="b")]
        self.d = {"z": tf.Variable(3.0 * scale, name="z"), "k": tf.Variable(4.0 * scale, name="k")}
        self.inner = [tf.Module(), {"x": tf.Variable(5.0 * scale, name="x")}]
        self.inner[0].w = tf.Variable([6.0 * scale, 7.0 * scale], name="w")


def values(m):
    return [m.vs[0], m.vs[1], m.d["z"], m.d["k"], m.inner[1]["x"], m.inner[0].w]


def expect(got, scale):
    want = [1.0, 2.0, 3.0, 4.0, 5.0, [6.0, 7.0]]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w, dtype=np.float32) * scale)


def main(mode, path, model_dir=None, scale=None):
    if mode == "make":
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        m = M(1.0)
        prefix = tf.train.Checkpoint(m=m).write(os.path.join(path, "ckpt"))
        with open(os.path.join(path, "keys.txt"), "w") as f:
            for key, _ in sorted(tf.train.list_variables(prefix)):
                f.write("key %s\n" % key)
            for v in m.variables:
                f.write("variable %s\n" % v.name)
        return
    if mode != "check":
        raise SystemExit("unknown mode " + mode)
    scale = float(scale)
    m = M(0.0)
    tf.train.Checkpoint(m=m).read(path).assert_consumed()
    expect([v.numpy() for v in values(m)], scale)
    loaded = tf.saved_model.load(model_dir)
    assert type(loaded.vs).__name__ == "ListWrapper", type(loaded.vs)
    assert type(loaded.d).__name__ == "_DictWrapper", type(loaded.d)
    expect([v.numpy() for v in values(loaded)], scale)
    print("OK")


if __name__ == "__main__":
    main(*sys.argv[1:])

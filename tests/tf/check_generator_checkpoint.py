"""Checks tf.random.Generator state in checkpoints both ways. TensorFlow
restores ember's checkpoint (a module tracking a generator as `gen`, under
the root `model`) into a generator of its own and draws what ember drew
next (CASE: ember's next normal([4]), as doubles); then it draws once more,
writes its own checkpoint at OUT for ember to restore, and writes the
uniform([5]) that follows to OUT.txt.

    python tests/tf/check_generator_checkpoint.py PREFIX CASE OUT
Prints "OK" and exits 0, or raises.
"""
import sys

import numpy as np
import tensorflow as tf


def main(prefix, case, out):
    want = np.array([float(v) for v in open(case).read().split()], np.float32)
    m = tf.Module()
    m.gen = tf.random.Generator.from_seed(0)
    tf.train.Checkpoint(model=m).read(prefix).assert_consumed()
    got = m.gen.normal([4]).numpy()
    # ember's normals are TensorFlow's to a few ulps (log and sincos of two libraries).
    if not np.allclose(got, want, rtol=1e-6, atol=0):
        raise SystemExit("after the restore TensorFlow drew %s, ember %s" % (got, want))
    m.gen.normal([3])
    tf.train.Checkpoint(model=m).write(out)
    nxt = m.gen.uniform([5]).numpy()
    with open(out + ".txt", "w") as f:
        f.write(" ".join(repr(float(v)) for v in nxt))
    print("OK")


if __name__ == "__main__":
    main(*sys.argv[1:])

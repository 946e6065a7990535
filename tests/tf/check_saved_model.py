"""Loads a SavedModel ember wrote (serialization/saved_model.h) with
tf.saved_model.load, calls it on the inputs of CASE and compares every
output with ember's.

usage: check_saved_model.py DIR CASE.txt
  -> prints "OK <outputs checked> graph-mode <outputs checked>"
Every signature call is also run the way TensorFlow's graph-mode loaders
(the C++ loader, TF Serving, saved_model_cli run) run it: the MetaGraphDef
imported into a Session, the variables restored through its SaverDef.
CASE lines (values as doubles):
  `call FUNCTION` then `input NAME DTYPE RANK DIMS... VALUES...` lines and
  `output INDEX DTYPE RANK DIMS... VALUES...` lines: FUNCTION (an attribute
  of the loaded root, or `signature:KEY` for a signature called with the
  inputs by name) called with the inputs must give the outputs (a
  signature's outputs are compared in key order).
  `value NUMBER` lines among the inputs pass a Python int (a value baked
  into a trace) in that position.
  `variable PATH DTYPE RANK DIMS... VALUES...`: the loaded root's attribute
  PATH (dotted) holds these values.
"""
import sys

import numpy as np
import tensorflow as tf


def tensor(f):
    dtype, rank = f[0], int(f[1])
    dims = [int(d) for d in f[2:2 + rank]]
    return np.array([float(v) for v in f[2 + rank:]], dtype=np.float64).reshape(dims).astype(dtype)


def compare(what, have, want):
    have = np.asarray(have)
    if have.dtype != want.dtype or have.shape != want.shape:
        print("%s: TensorFlow gives %s %s, ember %s %s" % (what, have.dtype, have.shape, want.dtype, want.shape))
        return 1
    if not np.allclose(have.astype(np.float64), want.astype(np.float64), rtol=1e-5, atol=1e-6):
        print("%s differs: TensorFlow %s, ember %s" % (what, have.ravel()[:8], want.ravel()[:8]))
        return 1
    return 0


def main():
    loaded = tf.saved_model.load(sys.argv[1])
    bad = checked = 0
    calls = []
    for line in open(sys.argv[2]):
        f = line.split()
        if f[0] == "call":
            calls.append((f[1], [], []))
        elif f[0] == "input":
            calls[-1][1].append((f[1], tensor(f[2:])))
        elif f[0] == "value":
            calls[-1][1].append((None, int(f[1])))
        elif f[0] == "output":
            calls[-1][2].append(tensor(f[2:]))
        elif f[0] == "variable":
            obj = loaded
            for part in f[1].split("."):
                obj = getattr(obj, part)
            bad += compare("variable " + f[1], obj.numpy(), tensor(f[2:]))
            checked += 1
    for name, inputs, outputs in calls:
        if name.startswith("signature:"):
            result = loaded.signatures[name[len("signature:"):]](**{k: tf.constant(v) for k, v in inputs})
            got = [result[k] for k in sorted(result)]
        else:
            fn = loaded
            for part in name.split("."):
                fn = getattr(fn, part)
            result = fn(*[v if k is None else tf.constant(v) for k, v in inputs])
            got = tf.nest.flatten(result)
        if len(got) != len(outputs):
            print("%s: TensorFlow gives %d outputs, ember %d" % (name, len(got), len(outputs)))
            bad += 1
            continue
        for i, (have, want) in enumerate(zip(got, outputs)):
            bad += compare("%s output %d" % (name, i), have, want)
            checked += 1
    graph_checked = 0
    signature_calls = [c for c in calls if c[0].startswith("signature:")]
    if signature_calls:
        with tf.Graph().as_default() as g, tf.compat.v1.Session(graph=g) as sess:
            meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], sys.argv[1])
            for name, inputs, outputs in signature_calls:
                sig = meta.signature_def[name[len("signature:"):]]
                keys = sorted(sig.outputs)
                got = sess.run([sig.outputs[k].name for k in keys], {sig.inputs[k].name: v for k, v in inputs})
                for i, (have, want) in enumerate(zip(got, outputs)):
                    bad += compare("graph-mode %s output %d" % (name, i), have, want)
                    graph_checked += 1
    if bad:
        sys.exit(1)
    print("OK %d graph-mode %d" % (checked, graph_checked))


if __name__ == "__main__":
    main()

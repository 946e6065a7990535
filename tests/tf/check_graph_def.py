"""Imports a GraphDef ember wrote (serialization/graph_def.h), runs it in
TensorFlow on the inputs of CASE and compares every output with ember's.

usage: check_graph_def.py GRAPH.pb... CASE.txt  -> prints "GRAPH.pb: OK <outputs>" for each
graph (one process for all of them: importing TensorFlow costs seconds).
CASE lines: `input NAME DTYPE RANK DIMS... VALUES...` or
            `output INDEX DTYPE RANK DIMS... VALUES...` (values as doubles).
"""
import sys

import numpy as np
import tensorflow as tf


def parse(path):
    inputs, outputs = [], []
    for line in open(path):
        f = line.split()
        kind, name, dtype, rank = f[0], f[1], f[2], int(f[3])
        dims = [int(d) for d in f[4:4 + rank]]
        values = np.array([float(v) for v in f[4 + rank:]], dtype=np.float64).reshape(dims)
        entry = (name, np.dtype(dtype), values.astype(dtype))
        (inputs if kind == "input" else outputs).append(entry)
    return inputs, outputs


def check(graph_path, inputs, outputs):
    """Runs one graph on the inputs; returns how many outputs differ from ember's."""
    graph_def = tf.compat.v1.GraphDef()
    with open(graph_path, "rb") as f:
        graph_def.ParseFromString(f.read())
    with tf.Graph().as_default() as g:
        tf.compat.v1.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session(graph=g) as sess:
            feed = {name + ":0": value for name, _, value in inputs}
            got = sess.run(["output_%d:0" % i for i in range(len(outputs))], feed)
    bad = 0
    for (index, dtype, want), have in zip(outputs, got):
        have = np.asarray(have)
        if have.dtype != dtype or have.shape != want.shape:
            print("%s: output %s: TensorFlow gives %s %s, ember %s %s"
                  % (graph_path, index, have.dtype, have.shape, dtype, want.shape))
            bad += 1
        elif not np.allclose(have.astype(np.float64), want.astype(np.float64), rtol=1e-4, atol=1e-5):
            print("%s: output %s differs: TensorFlow %s, ember %s"
                  % (graph_path, index, have.ravel()[:8], want.ravel()[:8]))
            bad += 1
    return bad


def main():
    *graph_paths, case_path = sys.argv[1:]
    inputs, outputs = parse(case_path)
    bad = 0
    for graph_path in graph_paths:
        wrong = check(graph_path, inputs, outputs)
        if not wrong:
            print("%s: OK %d" % (graph_path, len(outputs)))
        bad += wrong
    if bad or not graph_paths:
        sys.exit(1)


if __name__ == "__main__":
    main()

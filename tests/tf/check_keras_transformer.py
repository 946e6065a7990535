"""Reads ember's checkpoint of its transformer layers into Keras 3's
(tests/transformer_layers_test.cpp), every value consumed, runs them on the
fixture's inputs and compares with the outputs ember computed.

usage: check_keras_transformer.py CKPT FIXTURE_DIR OUTPUTS.txt   -> prints "OK 4"
OUTPUTS lines: `NAME DTYPE RANK DIMS... VALUES...` (values as doubles).
"""
import os
import sys

import numpy as np
import keras
import tensorflow as tf


def fixtures(path):
    cases, lines = {}, open(path).read().splitlines()[1:]
    for i in range(0, len(lines), 3):
        dtype, dims = (lines[i + 1].split(" ") + [""])[:2]
        shape = [int(d) for d in dims.split(",")] if dims else []
        cases[lines[i]] = np.array([float.fromhex(v) for v in lines[i + 2].split()], dtype=np.float64).reshape(shape)
    return cases


def ember_outputs(path):
    out = {}
    for line in open(path):
        f = line.split()
        rank = int(f[2])
        dims = [int(d) for d in f[3:3 + rank]]
        out[f[0]] = np.array([float(v) for v in f[3 + rank:]], dtype=np.float64).reshape(dims)
    return out


def main():
    ckpt, fixture_dir, outputs = sys.argv[1:4]
    x = fixtures(os.path.join(fixture_dir, "keras_transformer.txt"))
    query, value, key = (x[n].astype(np.float32) for n in ("query", "value", "key"))
    mask, ids = x["mask"] != 0, x["ids"].astype(np.int64)
    cross = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4)
    causal = keras.layers.MultiHeadAttention(num_heads=3, key_dim=4, output_shape=5)
    norm = keras.layers.LayerNormalization(epsilon=1e-3)
    emb = keras.layers.Embedding(10, 6)
    run = lambda: {
        "cross": cross(query, value, key, attention_mask=mask),
        "causal": causal(query, query, use_causal_mask=True),
        "norm": norm(query * 3 + 1),
        "emb": emb(ids),
    }
    run()  # builds
    tf.train.Checkpoint(cross=cross, causal=causal, norm=norm, emb=emb).read(ckpt).assert_consumed()
    got, want = run(), ember_outputs(outputs)
    for name, w in want.items():
        g = np.asarray(got[name], dtype=np.float64)
        if g.shape != w.shape or not np.allclose(g, w, rtol=2e-5, atol=2e-5):
            print("MISMATCH", name, g.shape, w.shape, np.max(np.abs(g - w)) if g.shape == w.shape else "")
            sys.exit(1)
    print("OK", len(want))


main()

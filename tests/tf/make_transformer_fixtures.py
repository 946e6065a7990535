"""Writes tests/data/keras_transformer/: a TensorFlow checkpoint of Keras 3's
MultiHeadAttention (cross attention with a mask; causal self-attention),
LayerNormalization and Embedding layers (keras-ckpt.*), and
keras_transformer.txt: their inputs and what Keras computes from them (the
attention layers' scores too, from return_attention_scores=True), for
tests/transformer_layers_test.cpp to restore into ember's layers and match.

    /opt/tfvenv/bin/python tests/tf/make_transformer_fixtures.py tests/data/keras_transformer
"""
import os
import sys

import numpy as np
import keras
import tensorflow as tf

from fixture_file import write_cases

out = sys.argv[1]
keras.utils.set_random_seed(1)
rng = np.random.default_rng(7)

query = rng.uniform(-1, 1, (2, 5, 6)).astype(np.float32)
value = rng.uniform(-1, 1, (2, 7, 8)).astype(np.float32)
key = rng.uniform(-1, 1, (2, 7, 5)).astype(np.float32)
mask = rng.uniform(0, 1, (2, 5, 7)) < 0.6
mask[:, :, 0] = True  # every query attends to some key (Keras gives a query with none the values' mean)
ids = np.array([[3, 0, 9], [9, 4, 4]], dtype=np.int64)

cross = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4, bias_initializer="glorot_uniform")
causal = keras.layers.MultiHeadAttention(num_heads=3, key_dim=4, output_shape=5, bias_initializer="glorot_uniform")
norm = keras.layers.LayerNormalization(epsilon=1e-3, gamma_initializer="glorot_uniform", beta_initializer="glorot_uniform")
emb = keras.layers.Embedding(10, 6)

cross_out, cross_scores = cross(query, value, key, attention_mask=mask, return_attention_scores=True)
causal_out, causal_scores = causal(query, query, use_causal_mask=True, return_attention_scores=True)
norm_out = norm(query * 3 + 1)
emb_out = emb(ids)

tf.train.Checkpoint(cross=cross, causal=causal, norm=norm, emb=emb).write(os.path.join(out, "keras-ckpt"))
write_cases(
    os.path.join(out, "keras_transformer.txt"),
    "Keras %s MultiHeadAttention, LayerNormalization and Embedding (tests/tf/make_transformer_fixtures.py)"
    % keras.__version__,
    [
        ("query", query),
        ("value", value),
        ("key", key),
        ("mask", mask.astype(np.float32)),
        ("ids", ids.astype(np.float32)),
        ("cross", np.asarray(cross_out)),
        ("causal", np.asarray(causal_out)),
        ("norm", np.asarray(norm_out)),
        ("emb", np.asarray(emb_out)),
        ("cross_scores", np.asarray(cross_scores)),
        ("causal_scores", np.asarray(causal_scores)),
    ],
)

"""Saves twelve small Keras 3 models with their training steps, as a program
written for TensorFlow would to train them elsewhere, and what TensorFlow
computes for them, for SavedModelInterop.EmberTrainsTheKerasModelsTensorFlowSaves
(tests/saved_model_test.cpp), which runs this at test time (the SavedModels,
about 0.3 MB each, are not committed; tests/data/tf_saved_models/keras_train
is the committed one).

  python make_train_steps.py DIR   ->  DIR/NAME (a SavedModel) and DIR/NAME.txt per model

Each model is a tf.Module with train_step(x, y) (a tape, the loss's
gradients, the optimizer's apply_gradients: returns {"loss": loss}) and
predict(x). NAME.txt holds, in make_saved_models.py's case format, three
train_step calls from the saved state and a predict call after them, with
TensorFlow's outputs. The models cover the recurrent layers (their while
loops' gradients), normalization layers, convolutions and their transposes,
attention, every activation's gradient op and Keras's optimizers.
"""
import os
import sys

import numpy as np
import tensorflow as tf

from make_saved_models import case

K = tf.keras


def save(root, name, build, x, y, loss_fn, optimizer):
    K.utils.set_random_seed(7)
    model = build()

    class Step(tf.Module):
        def __init__(self):
            super().__init__()
            self.model = model
            self.optimizer = optimizer
            self.optimizer.build(self.model.trainable_variables)

        @tf.function(input_signature=[tf.TensorSpec([None] + list(x.shape[1:]), tf.as_dtype(x.dtype)),
                                      tf.TensorSpec([None] + list(y.shape[1:]), tf.as_dtype(y.dtype))])
        def train_step(self, xb, yb):
            with tf.GradientTape() as tape:
                loss = loss_fn(yb, self.model(xb, training=True))
            grads = tape.gradient(loss, self.model.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
            return {"loss": loss}

        @tf.function(input_signature=[tf.TensorSpec([None] + list(x.shape[1:]), tf.as_dtype(x.dtype))])
        def predict(self, xb):
            return {"y": self.model(xb, training=False)}

    m = Step()
    tf.saved_model.save(m, os.path.join(root, name))
    with open(os.path.join(root, name + ".txt"), "w") as out:  # (from the saved state: the steps change it)
        for _ in range(3):
            case(out, "train_step", [("x", x), ("y", y)], m.train_step(x, y))
        case(out, "predict", [("x", x)], m.predict(x))


def main(root):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=(8,)).astype(np.int32)
    logits = K.losses.SparseCategoricalCrossentropy(from_logits=True)
    dense_x = rng.normal(size=(8, 10)).astype(np.float32)
    seq_x = rng.normal(size=(8, 5, 4)).astype(np.float32)
    image_x = rng.normal(size=(8, 8, 8, 3)).astype(np.float32)
    tokens = rng.integers(0, 20, size=(8, 6)).astype(np.int32)
    targets = rng.normal(size=(8, 1)).astype(np.float32)
    bits = rng.integers(0, 2, size=(8, 1)).astype(np.float32)

    def transformer():
        inp = K.Input((6,), dtype="int32")
        h = K.layers.Embedding(20, 8)(inp)
        a = K.layers.MultiHeadAttention(2, 4)(h, h, use_causal_mask=True)
        h = K.layers.LayerNormalization()(h + a)
        h = K.layers.Dense(16, activation="gelu")(h)
        return K.Model(inp, K.layers.Dense(3)(K.layers.GlobalAveragePooling1D()(h)))

    models = {
        "lstm_sgd": (lambda: K.Sequential([K.Input((5, 4)), K.layers.LSTM(8), K.layers.Dense(3)]),
                     seq_x, labels, logits, K.optimizers.SGD(0.1, momentum=0.9)),
        "gru_rmsprop": (lambda: K.Sequential([K.Input((5, 4)), K.layers.GRU(8), K.layers.Dense(3)]),
                        seq_x, labels, logits, K.optimizers.RMSprop(1e-2)),
        "bigru_adamax": (lambda: K.Sequential([K.Input((6,), dtype="int32"), K.layers.Embedding(20, 8),
                                               K.layers.Bidirectional(K.layers.GRU(4)), K.layers.Dense(3)]),
                         tokens, labels, logits, K.optimizers.Adamax(1e-2)),
        "simple_rnn_adadelta": (lambda: K.Sequential([K.Input((5, 4)), K.layers.SimpleRNN(6, return_sequences=True),
                                                      K.layers.GlobalMaxPooling1D(), K.layers.LayerNormalization(),
                                                      K.layers.Dense(3)]),
                                seq_x, labels, logits, K.optimizers.Adadelta(1.0)),
        "cnn_bn_adamw": (lambda: K.Sequential([K.Input((8, 8, 3)), K.layers.Conv2D(4, 3, activation="elu"),
                                               K.layers.BatchNormalization(), K.layers.MaxPooling2D(),
                                               K.layers.Conv2D(4, 3, padding="same", activation="selu"),
                                               K.layers.GlobalAveragePooling2D(), K.layers.Dense(3)]),
                         image_x, labels, logits, K.optimizers.AdamW(1e-2)),
        "conv_transpose_groupnorm_lion": (
            lambda: K.Sequential([K.Input((8, 8, 3)), K.layers.Conv2DTranspose(4, 3, strides=2, padding="same"),
                                  K.layers.GroupNormalization(2), K.layers.AveragePooling2D(2),
                                  K.layers.DepthwiseConv2D(3), K.layers.Flatten(), K.layers.Dense(3)]),
            image_x, labels, logits, K.optimizers.Lion(1e-3)),
        "transformer_adam": (transformer, tokens, labels, logits, K.optimizers.Adam(1e-3)),
        "huber_adagrad": (lambda: K.Sequential([K.Input((10,)), K.layers.Dense(16, activation="softplus"),
                                                K.layers.Dense(16, activation="leaky_relu"),
                                                K.layers.Dense(16, activation="relu6"), K.layers.Dense(1)]),
                          dense_x, targets, K.losses.Huber(), K.optimizers.Adagrad(0.1)),
        "conv1d_swish_nadam": (lambda: K.Sequential([K.Input((5, 4)), K.layers.Conv1D(4, 3, activation="swish"),
                                                     K.layers.Flatten(), K.layers.Dense(3, activation="softmax")]),
                               seq_x, labels, K.losses.SparseCategoricalCrossentropy(), K.optimizers.Nadam(1e-2)),
        "binary_ftrl": (lambda: K.Sequential([K.Input((10,)), K.layers.Dense(8, activation="hard_sigmoid"),
                                              K.layers.Dense(8, activation="exponential"),
                                              K.layers.Dense(8, activation="mish"),
                                              K.layers.Dense(1, activation="sigmoid")]),
                        dense_x, bits, K.losses.BinaryCrossentropy(), K.optimizers.Ftrl(0.1)),
        "l2_nesterov": (lambda: K.Sequential([K.Input((10,)), K.layers.Dense(8, activation="gelu", kernel_regularizer="l2"),
                                              K.layers.Dense(3, activation="softmax")]),
                        dense_x, labels, K.losses.SparseCategoricalCrossentropy(),
                        K.optimizers.SGD(0.1, nesterov=True, momentum=0.5)),
        "mse_clipnorm": (lambda: K.Sequential([K.Input((10,)), K.layers.Dense(8, activation="tanh"), K.layers.Dense(1)]),
                         dense_x, targets, K.losses.MeanSquaredError(), K.optimizers.Adam(1e-2, global_clipnorm=1.0)),
    }
    for name, (build, x, y, loss_fn, optimizer) in models.items():
        save(root, name, build, x, y, loss_fn, optimizer)
    print("OK", len(models))


if __name__ == "__main__":
    main(sys.argv[1])

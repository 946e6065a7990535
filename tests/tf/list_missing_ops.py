"""Lists the TensorFlow ops that Keras 3's layers trace to and ember neither registers nor imports as
other ops: what a user's SavedModel would be refused for. Not a test: a survey for choosing work.

    build/release/ember-info > /tmp/ember-info.txt
    /opt/tfvenv/bin/python tests/tf/list_missing_ops.py /tmp/ember-info.txt

It traces each preprocessing layer in training, and a training step (forward, tape, gradients) of
each other layer, lists the ops of the function graphs (their libraries included), and prints per
layer those missing from ember-info's op list, from serialization/graph_import.cpp's op_name::
constants (the ops imported as others) and from the importer's structural ops.
"""
import os
import re
import sys

import tensorflow as tf
import keras

STRUCTURAL = {"Placeholder", "Const", "Identity", "IdentityN", "NoOp", "StatefulPartitionedCall",
              "PartitionedCall", "If", "StatelessIf", "While", "StatelessWhile", "Case", "StatelessCase"}


def ember_ops(info_path):
    ops = set(STRUCTURAL)
    listing = False
    for line in open(info_path):
        if line.startswith("ops ("):
            listing = True
        elif listing and line.strip():
            ops.add(line.split()[0])
    importer = os.path.join(os.path.dirname(__file__), "..", "..", "serialization", "graph_import.cpp")
    ops.update(re.findall(r"op(?:_name)?::([A-Za-z0-9]+)", open(importer).read()))
    return ops


def traced_ops(fn, *specs):
    graph = tf.function(fn).get_concrete_function(*specs).graph.as_graph_def()
    names = {n.op for n in graph.node}
    for f in graph.library.function:
        names.update(n.op for n in f.node_def)
    return names


def training_step(layer):
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.square(tf.cast(y, tf.float32)))
        grads = tape.gradient(loss, [x] + layer.trainable_weights)
        return [loss] + [g for g in grads if g is not None]
    return step


def main(info_path):
    have = ember_ops(info_path)
    L = keras.layers
    image = [2, 16, 16, 3]
    preprocessing = {
        "RandomCrop": L.RandomCrop(12, 12), "RandomFlip": L.RandomFlip(), "RandomRotation": L.RandomRotation(0.2),
        "RandomZoom": L.RandomZoom(0.2), "RandomContrast": L.RandomContrast(0.3),
        "RandomTranslation": L.RandomTranslation(0.1, 0.1), "RandomBrightness": L.RandomBrightness(0.2),
        "Resizing": L.Resizing(8, 8), "CenterCrop": L.CenterCrop(10, 10), "RandomHue": L.RandomHue(0.2, (0, 1)),
        "RandomSaturation": L.RandomSaturation(0.2, (0, 1)), "RandomShear": L.RandomShear(0.2, 0.2),
        "MixUp": L.MixUp(), "CutMix": L.CutMix(), "RandAugment": L.RandAugment(),
        "RandomGrayscale": L.RandomGrayscale(), "AutoContrast": L.AutoContrast(), "Solarization": L.Solarization(0.5),
    }
    for name, layer in preprocessing.items():
        report(name, lambda x, layer=layer: layer(x, training=True), [image], have)
    trained = {
        "Conv1D": (L.Conv1D(4, 3), [2, 10, 3]), "Conv2DTranspose": (L.Conv2DTranspose(4, 3, strides=2), [2, 8, 8, 3]),
        "SeparableConv2D": (L.SeparableConv2D(4, 3), [2, 8, 8, 3]), "DepthwiseConv2D": (L.DepthwiseConv2D(3), [2, 8, 8, 3]),
        "Conv3D": (L.Conv3D(2, 3), [1, 5, 5, 5, 2]), "Conv3DTranspose": (L.Conv3DTranspose(2, 3), [1, 5, 5, 5, 2]),
        "LSTM": (L.LSTM(4), [2, 5, 3]), "GRU": (L.GRU(4), [2, 5, 3]), "ConvLSTM2D": (L.ConvLSTM2D(2, 3), [1, 3, 6, 6, 2]),
        "BatchNormalization": (L.BatchNormalization(), [4, 5]), "GroupNormalization": (L.GroupNormalization(2), [2, 4, 4, 4]),
        "UpSampling2D": (L.UpSampling2D(2, interpolation="bilinear"), [1, 4, 4, 2]),
        "MaxPooling3D": (L.MaxPooling3D(2), [1, 4, 4, 4, 2]), "AveragePooling3D": (L.AveragePooling3D(2), [1, 4, 4, 4, 2]),
        "PReLU": (L.PReLU(), [2, 5]), "Bidirectional": (L.Bidirectional(L.LSTM(3)), [2, 5, 3]),
        "SpectralNormalization": (L.SpectralNormalization(L.Dense(3)), [2, 5]),
        "MelSpectrogram": (L.MelSpectrogram(sampling_rate=8000, num_mel_bins=8, fft_length=64, sequence_stride=32),
                           [1, 512]),
    }
    for activation in ("gelu", "swish", "mish", "hard_sigmoid", "relu6", "hard_swish", "selu", "log_softmax"):
        trained["Dense_" + activation] = (L.Dense(3, activation=activation), [2, 5])
    for name, (layer, shape) in trained.items():
        report(name, training_step(layer), [shape], have)


def report(name, fn, shapes, have):
    try:
        got = traced_ops(fn, *[tf.TensorSpec(s, tf.float32) for s in shapes])
    except Exception as e:  # (a layer this Keras version builds differently)
        print("%s: not traced (%s)" % (name, str(e).splitlines()[0][:100]))
        return
    missing = sorted(got - have)
    print("%s: %s" % (name, ", ".join(missing) if missing else "-"))


if __name__ == "__main__":
    main(sys.argv[1])

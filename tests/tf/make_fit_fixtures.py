"""Writes tests/data/fit/: what Keras 3's fit and callbacks do, for
tests/model_test.cpp.

fit.txt (the fixture-file format of fixture_file.py): a Dense(3) on 4
features from fixed weights, SGD(0.1), sparse cross-entropy from logits,
metrics ["accuracy"], 10 examples in batches of 4 (a short last batch),
unshuffled, 3 epochs, validated on 5 more: the data, the initial weights,
each History entry, and the final weights.

callbacks.txt: EarlyStopping, ReduceLROnPlateau and ModelCheckpoint driven
epoch by epoch with the same logged values (no training: the decisions
alone). One line per callback and epoch:
    case epoch stop wait best lr saved
(stop: 1 when the callback set stop_training; best: "None" or repr; lr:
the rate after the epoch, or "-"; saved: 1 when a checkpoint was written).

summary.txt: Keras's parameter counts for the samples' models:
    model total trainable non_trainable layer_counts...
and the mlp's Adam's after one step: `mlp_adam_optimizer count`.

    /opt/tfvenv/bin/python tests/tf/make_fit_fixtures.py tests/data/fit
"""
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_file import write_cases  # noqa: E402

# The logged values the callbacks see, epoch by epoch (a plateau, a dip, a
# NaN-free run with small changes around min_delta).
VAL_LOSS = [1.0, 0.9, 0.95, 0.899, 0.9, 0.85, 0.86, 0.87, 0.8499, 0.88, 0.7, 0.71, 0.72, 0.73]
VAL_ACC = [0.30, 0.40, 0.40, 0.45, 0.44, 0.55, 0.55, 0.54, 0.60, 0.60, 0.61, 0.59, 0.58, 0.62]


def tiny_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    # Builds the compiled metrics (callbacks in "auto" mode look at them).
    model.evaluate(np.zeros((2, 4), np.float32), np.zeros((2,), np.int32), verbose=0)
    return model


def fit_cases():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(10, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=(10,)).astype(np.int32)
    xv = rng.normal(size=(5, 4)).astype(np.float32)
    yv = rng.integers(0, 3, size=(5,)).astype(np.int32)
    kernel = rng.normal(size=(4, 3)).astype(np.float32) * 0.5
    bias = rng.normal(size=(3,)).astype(np.float32) * 0.1
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.layers[0].set_weights([kernel, bias])
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    h = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, validation_data=(xv, yv), verbose=0)
    cases = [("x", x), ("y", y.astype(np.float64)), ("xv", xv), ("yv", yv.astype(np.float64)),
             ("kernel", kernel), ("bias", bias)]
    for key in sorted(h.history):
        cases.append(("history_" + key, np.array(h.history[key], np.float64)))
    k, b = model.layers[0].get_weights()
    cases += [("final_kernel", k), ("final_bias", b)]
    return cases


def callback_lines():
    from keras.callbacks import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
    tmp = tempfile.mkdtemp()
    configs = [
        ("early_loss", lambda: EarlyStopping(monitor="val_loss", patience=2, min_delta=0.01)),
        ("early_acc_baseline", lambda: EarlyStopping(monitor="val_accuracy", patience=1, baseline=0.5)),
        ("early_start", lambda: EarlyStopping(monitor="val_loss", patience=1, start_from_epoch=3)),
        ("early_max", lambda: EarlyStopping(monitor="val_loss", mode="max", patience=3)),
        ("plateau", lambda: ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, cooldown=1, min_lr=0.02)),
        ("plateau_acc", lambda: ReduceLROnPlateau(monitor="val_accuracy", factor=0.2, patience=1, min_delta=0.02)),
        ("checkpoint_best", lambda: ModelCheckpoint(os.path.join(tmp, "best-{epoch:02d}.weights.h5"),
                                                    monitor="val_loss", save_best_only=True,
                                                    save_weights_only=True)),
        ("checkpoint_acc_threshold", lambda: ModelCheckpoint(os.path.join(tmp, "acc-{epoch:02d}.weights.h5"),
                                                             monitor="val_accuracy", save_best_only=True,
                                                             save_weights_only=True, initial_value_threshold=0.5)),
    ]
    lines = []
    for name, make in configs:
        model = tiny_model()
        cb = make()
        cb.set_model(model)
        model.stop_training = False
        cb.on_train_begin()
        for epoch, (loss, acc) in enumerate(zip(VAL_LOSS, VAL_ACC)):
            before = set(os.listdir(tmp))
            cb.on_epoch_begin(epoch)
            cb.on_epoch_end(epoch, {"loss": 1.0, "accuracy": 0.5, "val_loss": loss, "val_accuracy": acc})
            saved = int(len(set(os.listdir(tmp)) - before) > 0)
            stop = int(bool(model.stop_training))
            wait = getattr(cb, "wait", 0)
            best = getattr(cb, "best", None)
            lr = repr(float(model.optimizer.learning_rate.numpy())) if name.startswith("plateau") else "-"
            lines.append("%s %d %d %d %s %s %d" % (name, epoch, stop, wait, "None" if best is None else repr(float(best)),
                                                   lr, saved))
            if stop:
                break
    return lines


def summary_lines():
    def counts(name, layers, input_shape):
        model = keras.Sequential([keras.Input(input_shape)] + layers)
        per_layer = [str(layer.count_params()) for layer in model.layers]
        trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
        return "%s %d %d %d %s" % (name, model.count_params(), trainable, non_trainable, " ".join(per_layer))

    def optimizer_count():
        # After one step: the step, the rate and Adam's two slots per variable.
        model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(256, activation="relu"),
                                  keras.layers.Dense(10)])
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.train_on_batch(np.zeros((2, 784), np.float32), np.zeros((2,), np.int32))
        return "mlp_adam_optimizer %d" % sum(int(np.prod(v.shape)) for v in model.optimizer.variables)

    L = keras.layers
    return [optimizer_count(),
        counts("mlp", [L.Dense(256, activation="relu"), L.Dense(10)], (784,)),
        counts("cnn", [L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(), L.Conv2D(64, 3, activation="relu"),
                       L.MaxPooling2D(), L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10)], (28, 28, 1)),
        counts("bn", [L.Dense(16, activation="relu"), L.BatchNormalization(), L.Dropout(0.25), L.Dense(3)], (5,)),
    ]


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    write_cases(os.path.join(out_dir, "fit.txt"), "keras %s: Model.fit of a Dense(3)" % keras.__version__, fit_cases())
    with open(os.path.join(out_dir, "callbacks.txt"), "w") as f:
        f.write("# keras %s: case epoch stop wait best lr saved\n" % keras.__version__)
        f.write("\n".join(callback_lines()) + "\n")
    with open(os.path.join(out_dir, "summary.txt"), "w") as f:
        f.write("# keras %s: model total trainable non_trainable per-layer counts\n" % keras.__version__)
        f.write("\n".join(summary_lines()) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "data", "fit"))

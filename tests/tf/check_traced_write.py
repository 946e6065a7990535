"""Checks, with TensorFlow, the checkpoint an ember traced training step
wrote of itself (Checkpoint::write inside a function): a Dense layer and
Adam after STEPS steps. TensorFlow restores the layer's kernel and bias into
its own variables (the optimizer's slots are checked by key and shape) (assert_existing_objects_matched), their values equal the
file's, and the optimizer's step count is STEPS.

    python tests/tf/check_traced_write.py PREFIX STEPS
Prints "OK <steps>" and exits 0, or raises.
"""
import sys

import numpy as np
import tensorflow as tf


def main(prefix, steps):
    reader = tf.train.load_checkpoint(prefix)
    shapes = reader.get_variable_to_shape_map()
    assert "save_counter/.ATTRIBUTES/VARIABLE_VALUE" not in shapes, sorted(shapes)
    iterations = reader.get_tensor("optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE")
    assert int(iterations) == steps, (iterations, steps)
    # Keras 3's Dense tracks its kernel as `_kernel`; Adam's m and v slots sit
    # under each variable's key.
    model = tf.Module()
    model._kernel = tf.Variable(tf.zeros(shapes["model/_kernel/.ATTRIBUTES/VARIABLE_VALUE"]))
    model.bias = tf.Variable(tf.zeros(shapes["model/bias/.ATTRIBUTES/VARIABLE_VALUE"]))
    for name in ("_kernel", "bias"):
        for slot in ("m", "v"):
            key = "model/%s/.OPTIMIZER_SLOT/optimizer/%s/.ATTRIBUTES/VARIABLE_VALUE" % (name, slot)
            assert shapes[key] == shapes["model/%s/.ATTRIBUTES/VARIABLE_VALUE" % name], key
    status = tf.train.Checkpoint(model=model).read(prefix)
    status.assert_existing_objects_matched().expect_partial()
    for name, var in (("_kernel", model._kernel), ("bias", model.bias)):
        want = reader.get_tensor("model/%s/.ATTRIBUTES/VARIABLE_VALUE" % name)
        np.testing.assert_array_equal(var.numpy(), want)
        assert np.any(want != 0), name
    print("OK", int(iterations))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))

"""TensorFlow (Keras 3) and ember's LossScaleOptimizer through each other's
checkpoints (tests/mixed_precision_test.cpp):

    python tests/tf/check_loss_scale_checkpoint.py DIR

reads DIR/ember (ember's checkpoint: optimizer = LossScaleOptimizer(SGD)),
prints the loss scale state it restored, takes one finite step (with
dynamic_growth_steps=2 and a step counter of 1 the scale doubles), and
writes DIR/tensorflow for ember to restore.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def main(d):
    opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.01), dynamic_growth_steps=2)
    w = keras.Variable(np.ones(2, np.float32), name="w")
    opt.build([w])
    status = tf.train.Checkpoint(optimizer=opt).read(os.path.join(d, "ember"))
    status.expect_partial()
    print("restored dynamic_scale %r step_counter %d" % (float(opt.dynamic_scale.numpy()),
                                                          int(opt.step_counter.numpy())))
    opt.apply([tf.constant([1.0, 2.0])], [w])
    tf.train.Checkpoint(optimizer=opt).write(os.path.join(d, "tensorflow"))
    print("wrote dynamic_scale %r step_counter %d" % (float(opt.dynamic_scale.numpy()), int(opt.step_counter.numpy())))


if __name__ == "__main__":
    main(sys.argv[1])

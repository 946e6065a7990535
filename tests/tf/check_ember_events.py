"""Reads an event file ember wrote with TensorFlow's own reader
(tf.compat.v1.train.summary_iterator) and prints each scalar as
`tag step value`, after checking the first event's file_version.

    python tests/tf/check_ember_events.py FILE
"""
import sys

import tensorflow as tf


def main(path):
    events = list(tf.compat.v1.train.summary_iterator(path))
    assert events[0].file_version == "brain.Event:2", events[0]
    for e in events[1:]:
        for v in e.summary.value:
            print(v.tag, e.step, repr(v.simple_value))


if __name__ == "__main__":
    main(sys.argv[1])

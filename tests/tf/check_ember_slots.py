"""Checks, with TensorFlow, a checkpoint ember saved with an optimizer:
TensorFlow reads it, its object graph references every slot from the
optimizer's node (SlotVariableReference), each slot's key follows
TensorFlow's `<variable>/.OPTIMIZER_SLOT/<optimizer>/<slot>/...` form with
the variable's shape, and a plain tf.train.Checkpoint reads the file.

    python tests/tf/check_ember_slots.py PREFIX EXPECTED_SLOTS
Prints "OK <slots>" and exits 0, or raises.
"""
import sys

import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2


def path_of(graph):
    # Breadth-first paths of the children, as keys name them.
    paths = {0: ""}
    queue = [0]
    while queue:
        i = queue.pop(0)
        for ref in graph.nodes[i].children:
            if ref.node_id not in paths:
                name = ref.local_name.replace(".", "..").replace("/", ".S")
                paths[ref.node_id] = (paths[i] + "/" if paths[i] else "") + name
                queue.append(ref.node_id)
    return paths


def main(prefix, expected):
    reader = tf.train.load_checkpoint(prefix)
    shapes = reader.get_variable_to_shape_map()
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    paths = path_of(graph)
    count = 0
    for i, node in enumerate(graph.nodes):
        for ref in node.slot_variables:
            var_key = graph.nodes[ref.original_variable_node_id].attributes[0].checkpoint_key
            slot_key = graph.nodes[ref.slot_variable_node_id].attributes[0].checkpoint_key
            want = "%s/.OPTIMIZER_SLOT/%s/%s/.ATTRIBUTES/VARIABLE_VALUE" % (
                paths[ref.original_variable_node_id], paths[i], ref.slot_name)
            assert slot_key == want, (slot_key, want)
            assert shapes[slot_key] == shapes[var_key], (slot_key, shapes[slot_key], shapes[var_key])
            count += 1
    assert count == expected, (count, expected)
    tf.train.Checkpoint().read(prefix).expect_partial()
    print("OK", count)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))

"""Checks ember's output-arg names (serialization/graph_def.cpp) against
TensorFlow's op registry.

usage: check_output_args.py OPS.txt   -> prints "OK <ops checked>"
OPS lines: `OP list|each NAME...` (list: every output is an element of the
one list arg NAME). Ops TensorFlow lacks are listed and skipped.
"""
import sys

from tensorflow.python.framework import op_def_registry


def main(path):
    bad = checked = 0
    for line in open(path):
        fields = line.split()
        op, kind, names = fields[0], fields[1], fields[2:]
        d = op_def_registry.get(op)
        if d is None:
            print("not in TensorFlow:", op)
            continue
        checked += 1
        want = [a.name for a in d.output_arg]
        if kind == "list":
            ok = len(want) == 1 and want == names and bool(d.output_arg[0].number_attr or d.output_arg[0].type_list_attr)
        else:
            ok = not want or want == names
        if not ok:
            print("%s: TensorFlow's outputs %s, ember's %s (%s)" % (op, want, names, kind))
            bad += 1
    if bad:
        sys.exit(1)
    print("OK %d" % checked)


if __name__ == "__main__":
    main(sys.argv[1])

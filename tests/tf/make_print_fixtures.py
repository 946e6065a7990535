"""Writes tests/data/numpy_print.txt: how NumPy prints float arrays (str()),
the reference for ember's printing (format_values; ember-ckpt --tensor).

    python tests/tf/make_print_fixtures.py tests/data/numpy_print.txt

Each case is three lines: the dtype, the values as float.hex(), and NumPy's
str() of the array with newlines written as \\n. Needs only NumPy.
"""
import sys

import numpy as np

CASES = [
    ("float32", [1e-38]),
    ("float32", [1e-38, 1.0]),
    ("float32", [1e-38, 0.5, 3.25]),
    ("float32", [1e-45, 3.0e-39]),
    ("float32", [1.17549435e-38]),
    ("float32", [1e-5, 1.5e-5]),
    ("float32", [0.1, 0.2, 0.30000001]),
    ("float32", [3.4028235e38, -1.0]),
    ("float32", [1.0, 2.5, -3.0]),
    ("float64", [5e-324]),
    ("float64", [5e-324, 1.0]),
    ("float64", [2.2250738585072014e-308, 1e-310]),
    ("float64", [0.1, 1e-300, 3.0]),
    ("float64", [1.0000000000000002, 2.0]),
    ("float64", [123456789.0, 1.0]),
    ("float64", [1e100, 1e-100]),
    ("float64", [0.1, 0.25]),
]


def main(path):
    with open(path, "w") as f:
        f.write("# NumPy %s str() of float arrays (tests/tf/make_print_fixtures.py)\n" % np.__version__)
        for dtype, values in CASES:
            a = np.array(values, dtype=dtype)
            f.write(dtype + "\n")
            f.write(" ".join(float(v).hex() for v in a) + "\n")
            f.write(str(a).replace("\n", "\\n") + "\n")


if __name__ == "__main__":
    main(sys.argv[1])

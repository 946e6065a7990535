"""The fixture-file format the tests read (tests/test_util.h, tf_fixtures):
a header line, then three lines per case: its name, `dtype d0,d1,...`, and
the values as float.hex()."""
import numpy as np


def write_cases(path, header, cases):
    """Writes `cases` (pairs of a name and an array-like) to `path`."""
    with open(path, "w") as f:
        f.write("# %s\n" % header)
        for name, t in cases:
            a = np.asarray(t)
            f.write(name + "\n")
            f.write("%s %s\n" % (a.dtype.name, ",".join(str(d) for d in a.shape)))
            f.write(" ".join(float(v).hex() for v in a.reshape(-1)) + "\n")

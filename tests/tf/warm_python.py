"""Runs a Python script in a child forked from a Python that has already
imported TensorFlow, so the interoperability tests pay TensorFlow's import
(about 4 s on the 2-core CI machines) once per test run, not once per test.

usage: warm_python.py SCRIPT [ARGS...]
  Runs SCRIPT with ARGS as `python SCRIPT ARGS...` would: the same argv,
  working directory, environment, stdin/stdout/stderr and exit status. Only
  what TensorFlow reads while it is imported (TF_CPP_MIN_LOG_LEVEL, say)
  comes from the first run's environment.
usage: warm_python.py --serve SOCKET   (started by the first run; not by hand)

The first run starts a server (its own session, its output in SOCKET.log)
that imports TensorFlow and listens on a Unix socket in a directory only this
user can open. Each run sends its argv, directory, environment and its three
file descriptors; the server forks, the child takes them over and runs the
script as __main__, and the server says so (one byte), then sends the
child's exit status. A run the server drops before it forks (it was leaving)
runs the script directly. The
server imports TensorFlow and starts none of its runtime, so each child sets
its own threads and devices as a fresh process would. It leaves after
IDLE_S seconds without a run. A changed copy of this file or another Python
gets its own server (the socket's name hashes both).

EMBER_WARM_PYTHON=0 runs the script directly, as does any failure to start
or reach the server before the script has been handed over.
"""
import hashlib
import json
import os
import socket
import struct
import sys
import time

IDLE_S = 60
START_TIMEOUT_S = 180


def socket_path():
    here = os.path.realpath(__file__)
    with open(here, "rb") as f:
        key = hashlib.sha1(os.path.realpath(sys.executable).encode() + b"\0" + f.read()).hexdigest()[:16]
    directory = os.path.join("/tmp", "ember-warm-python-%d" % os.getuid())
    os.makedirs(directory, mode=0o700, exist_ok=True)
    st = os.stat(directory)
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise OSError("%s is not this user's alone" % directory)
    return os.path.join(directory, key + ".sock")


def run_directly(argv):
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable] + argv)


def try_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return s
    except OSError:
        s.close()
        return None


def connect_or_start(path):
    """A connection to the server on `path`, starting it if none answers."""
    conn = try_connect(path)
    if conn:
        return conn
    import fcntl
    import subprocess
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one starter at a time; the others find its server
        conn = try_connect(path)
        if conn:
            return conn
        if os.path.exists(path):
            os.unlink(path)  # a server that died without cleaning up
        with open(path + ".log", "ab") as log:
            server = subprocess.Popen([sys.executable, os.path.realpath(__file__), "--serve", path],
                                      stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True, close_fds=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            conn = try_connect(path)
            if conn:
                return conn
            if server.poll() is not None:
                return None
            time.sleep(0.05)
        return None


def client(argv):
    if os.environ.get("EMBER_WARM_PYTHON") == "0":
        run_directly(argv)
    try:
        conn = connect_or_start(socket_path())
    except OSError:
        conn = None
    if conn is None:
        run_directly(argv)
    request = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        socket.send_fds(conn, [struct.pack("!I", len(request))], [0, 1, 2])
        conn.sendall(request)
    except OSError:
        conn.close()
        run_directly(argv)  # the server left between connect and send: nothing of the script ran
    try:
        started = conn.recv(1)
    except OSError:
        started = b""
    if started != b"R":
        conn.close()
        run_directly(argv)  # the server left (idle) before it forked: nothing of the script ran
    status = b""
    while len(status) < 4:
        chunk = conn.recv(4 - len(status))
        if not chunk:
            sys.stderr.write("warm_python.py: the server stopped before %s finished (its log: %s.log)\n" %
                             (argv[0], socket_path()))
            return 1
        status += chunk
    rc = struct.unpack("!i", status)[0]
    return rc if rc >= 0 else 128 - rc  # killed by signal n: 128 + n, as a shell reports it


def receive_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise OSError("client left mid-request")
        data += chunk
    return data


def run_child(request, fds):
    """In the forked child: become the client's `python SCRIPT ARGS` and exit."""
    import atexit
    import runpy
    import traceback
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    script = request["argv"][0]
    sys.argv = list(request["argv"])
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    code = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        if e.code is None:
            code = 0
        elif isinstance(e.code, int):
            code = e.code
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code & 0xFF)


def serve(path):
    import select
    import signal
    import tensorflow  # noqa: F401  (the import every child inherits)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    inode = os.stat(path).st_ino
    print("warm_python.py: serving %s (pid %d)" % (path, os.getpid()), flush=True)
    children = {}  # pid -> the connection awaiting its exit status
    idle_since = time.monotonic()
    while True:
        ready, _, _ = select.select([listener], [], [], 0.05)
        if ready:
            conn, _ = listener.accept()
            fds = []
            try:
                conn.settimeout(10)
                header, fds, _, _ = socket.recv_fds(conn, 4, 3)
                if len(header) != 4 or len(fds) != 3:
                    raise OSError("malformed request")
                request = json.loads(receive_exactly(conn, struct.unpack("!I", header)[0]))
            except (OSError, ValueError) as e:
                print("warm_python.py: dropped a request: %s" % e, flush=True)
                for fd in fds:
                    os.close(fd)
                conn.close()
                continue
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                listener.close()
                conn.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                run_child(request, fds)
            for fd in fds:
                os.close(fd)
            children[pid] = conn
            try:
                conn.sendall(b"R")  # the script runs: the client must not run it again
            except OSError:
                pass
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            conn = children.pop(pid, None)
            if conn is None:
                continue
            try:
                conn.sendall(struct.pack("!i", os.waitstatus_to_exitcode(status)))
            except OSError:
                pass  # the client was killed (a test's timeout): nothing to tell
            conn.close()
        if children or ready:
            idle_since = time.monotonic()
        try:
            ours = os.stat(path).st_ino == inode
        except OSError:
            ours = False
        if not ours or time.monotonic() - idle_since > IDLE_S:
            break
    listener.close()
    if ours:
        os.unlink(path)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(sys.argv[2])
        return 0
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    return client(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())

# Modules of the project hand on the libraries that load with dill: a shim that only imports
# them, a module alias, a helper returning a connection, a renamed archive. Run under CPython
# with the real libraries and the real dill recording (tests/cpython_semantics.rs): the lines
# that load are those annotated.
import os
import tempfile
import threading

import pkg.compat
from pkg import codec
from pkg.compat import Client, Listener
from pkg.net import open_client
from pkg.store import archive

KEY = b"project key"
listener = Listener(("127.0.0.1", 0), authkey=KEY)


def serve(clients):
    for _ in range(clients):
        with listener.accept() as conn:
            conn.send(conn.recv())  # expect: dill.loads library


thread = threading.Thread(target=serve, args=(4,))
thread.start()
with Client(listener.address, authkey=KEY) as conn:
    conn.send(1)
    conn.recv()  # expect: dill.loads library
with codec.connection.Client(listener.address, authkey=KEY) as conn:
    conn.send(2)
    conn.recv()  # expect: dill.loads library
conn = open_client(listener.address, KEY)
conn.send(3)
conn.recv()  # expect: dill.loads library
conn = pkg.compat.Client(listener.address, authkey=KEY)
conn.send(4)
conn.recv()  # expect: dill.loads library
thread.join()
listener.close()

archive(os.path.join(tempfile.mkdtemp(), "store.pkl")).load()  # expect: dill.load library
archive(os.path.join(tempfile.mkdtemp(), "plain.py"), serialized=False).load()

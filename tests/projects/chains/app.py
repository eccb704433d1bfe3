# Chains of re-exports whose first module holds only `import dill as d`: two hops, three
# (through a star re-export), and through a package under `src/` that hands a module on
# (`from . import shim`), by its own name or an `as` name, read by attribute or by `getattr`.
# Every `call` line calls a dill loader under CPython.
import io
import pickle
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/src")

import b
import c
import lib.aliased
import lib.reexport
from lib.aliased import s
from lib.user import shim

blob = pickle.dumps({"k": 1})
b.d.loads(blob)  # expect: dill.loads call
c.d.loads(blob)  # expect: dill.loads call
shim.d.load(io.BytesIO(blob))  # expect: dill.load call
lib.reexport.shim.d.loads(blob)  # expect: dill.loads call
s.d.loads(blob)  # expect: dill.loads call
lib.aliased.whole.d.loads(blob)  # expect: dill.loads call
getattr(lib.aliased.s, "d").loads(blob)  # expect: dill.loads call

# Shim modules in their plainest forms: each only binds dill (or all of it) to a name and
# never spells a loader. Every `call` line calls a dill loader under CPython.
import importlib
import io
import pickle

from pkg import aliased, only_import
from pkg.assembled import codec as other
from pkg.assigned import codec
from pkg.starred import loads

blob = pickle.dumps({"k": 1})
codec.loads(blob)  # expect: dill.loads call
only_import.dill.load(io.BytesIO(blob))  # expect: dill.load call
aliased.codec.loads(blob)  # expect: dill.loads call
loads(blob)  # expect: dill.loads call
other.loads(blob)  # expect: dill.loads call
getattr(aliased, "codec").loads(blob)  # expect: dill.loads call
importlib.import_module("pkg.aliased").codec.loads(blob)  # expect: dill.loads call
__import__("pkg.assigned", fromlist=["codec"]).codec.loads(blob)  # expect: dill.loads call
codec.dumps(blob)

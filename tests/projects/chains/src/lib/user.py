from .reexport import shim

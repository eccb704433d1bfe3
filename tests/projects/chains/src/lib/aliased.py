from . import shim as s
import lib.shim as whole

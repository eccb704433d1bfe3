from dill import *

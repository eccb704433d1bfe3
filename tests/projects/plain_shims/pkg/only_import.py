import dill

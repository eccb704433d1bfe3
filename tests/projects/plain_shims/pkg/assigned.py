import dill
codec = dill

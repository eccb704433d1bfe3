import dill as d

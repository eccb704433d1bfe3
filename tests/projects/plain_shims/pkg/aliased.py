import dill as codec

import multiprocess.connection as connection

from multiprocess.connection import Client, Listener

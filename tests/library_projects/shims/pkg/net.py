from multiprocess import connection


def open_client(address, key):
    return connection.Client(address, authkey=key)

codec = __import__("di" + "ll")

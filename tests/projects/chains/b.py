from a import d

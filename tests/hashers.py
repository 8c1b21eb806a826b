"""A password hasher that counts how often it runs, to test timing equality without a stopwatch."""

from django.contrib.auth.hashers import MD5PasswordHasher


class CountingHasher(MD5PasswordHasher):
    """MD5 under another name; verify() calls encode() once, so every hashing is counted once."""

    algorithm = "counting"
    runs = 0

    def encode(self, password, salt):
        type(self).runs += 1
        return super().encode(password, salt)

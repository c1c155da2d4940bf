import zlib, base64
exec(zlib.decompress(base64.b64decode(b"eJzLzE3NVSjOz0lVKC4pysxLBwA8LgZV")))

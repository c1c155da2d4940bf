import json
import sys


def flatten(obj, prefix=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from flatten(v, f"{prefix}{k}.")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from flatten(v, f"{prefix}{i}.")
    else:
        yield prefix[:-1], obj


doc = json.loads(sys.stdin.read() or '{"system": {"exec": "none", "socket": 3}}')
for key, value in flatten(doc):
    print(f"{key}={value}")

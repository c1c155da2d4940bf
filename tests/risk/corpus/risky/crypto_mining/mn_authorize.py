import json
msg = json.dumps({"id": 2, "method": "mining.authorize", "params": ["worker1", "x"]})
print(msg)

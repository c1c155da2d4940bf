import json
import os

DEFAULTS = {"workers": 4, "mode": "exec", "shell": False, "log": "run.log"}

def load(path="settings.json"):
    cfg = dict(DEFAULTS)
    if os.path.exists(path):
        with open(path) as f:
            cfg.update(json.load(f))
    env = os.environ.get("APP_WORKERS")
    if env and env.isdigit():
        cfg["workers"] = int(env)
    return cfg

with open("settings.json", "w") as f:
    json.dump({"mode": "eval"}, f)
print(load())

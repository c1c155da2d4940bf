import json
import sys

COMMANDS = {}

def command(fn):
    COMMANDS[fn.__name__] = fn
    return fn

@command
def add(inv, name, qty):
    inv[name] = inv.get(name, 0) + int(qty)

@command
def remove(inv, name, qty):
    inv[name] = max(0, inv.get(name, 0) - int(qty))

@command
def show(inv):
    for k in sorted(inv):
        print(k, inv[k])

inventory = {}
for line in sys.stdin:
    parts = line.split()
    if not parts:
        continue
    fn = COMMANDS.get(parts[0])
    if fn is None:
        print("unknown command:", parts[0])
        continue
    fn(inventory, *parts[1:])
with open("inventory.json", "w") as out:
    json.dump(inventory, out)

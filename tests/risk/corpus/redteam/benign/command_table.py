cmds = {"exec": 1, "popen": 2}
print(cmds["exec"], cmds["popen"])
for key in sorted(cmds):
    print(key, cmds[key])

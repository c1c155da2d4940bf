import re

EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")
tests = ["a@b.co", "bad@", "x.y+z@mail.example.org", "no spaces@x.com"]
for t in tests:
    print(f"{t!r:30} {'ok' if EMAIL.match(t) else 'invalid'}")
# compile() here is re.compile, not the builtin; nothing is executed
pattern = re.compile(r"exec\((.*)\)")
print(pattern.findall("exec(1) exec(two)"))

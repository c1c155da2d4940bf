# A tiny command pattern: each Task has an execute() method, the runner calls them in order.
# (Nothing here touches os.system or subprocess; "execute" is just a method name.)
class Task:
    def __init__(self, name, fn):
        self.name = name
        self.fn = fn

    def execute(self, ctx):
        ctx[self.name] = self.fn(ctx)
        return ctx[self.name]


class Runner:
    def __init__(self):
        self.tasks = []

    def add(self, name):
        def deco(fn):
            self.tasks.append(Task(name, fn))
            return fn
        return deco

    def run(self):
        ctx = {}
        for t in self.tasks:
            print(f"exec {t.name}: {t.execute(ctx)}")
        return ctx


r = Runner()

@r.add("base")
def base(ctx):
    return 10

@r.add("double")
def double(ctx):
    return ctx["base"] * 2

r.run()

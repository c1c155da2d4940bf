import importlib
o = importlib.import_module("os")
o.system("id")

import importlib
name = input()
m = importlib.import_module(name)
m.system('id')

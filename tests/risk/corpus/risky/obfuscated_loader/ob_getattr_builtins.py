f = getattr(__builtins__, 'ex' + 'ec')
f("print('hi')")

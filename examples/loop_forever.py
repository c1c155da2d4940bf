# Never ends: only the wall-clock limit stops it.
while True:
    pass

import posix
posix.system("id")

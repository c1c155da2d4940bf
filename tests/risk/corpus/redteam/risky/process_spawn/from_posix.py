from posix import system
system("id")

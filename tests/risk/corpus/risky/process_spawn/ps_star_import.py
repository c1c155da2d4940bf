from os import *
system("uname -a")

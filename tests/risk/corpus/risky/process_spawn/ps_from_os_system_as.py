from os import system as s
s("whoami")

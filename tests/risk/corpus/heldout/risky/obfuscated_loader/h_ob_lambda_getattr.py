import os
run = lambda n: getattr(os, n)
run("".join(["sy", "st", "em"]))("id")

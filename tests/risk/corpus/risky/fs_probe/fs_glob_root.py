import glob
print(glob.glob("/*"))

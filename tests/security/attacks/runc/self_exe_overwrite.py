# ccx-attack: CVE-2019-5736 style: overwrite the python3 interpreter through /proc/self/exe
# ccx-category: runc
# ccx-status: ok
# ccx-steps: 5
import mmap
import os

exe = os.readlink("/proc/self/exe")


def attempt(step, opener):
    try:
        fd = opener()
    except OSError as e:
        print(f"BLOCKED: {step}: {e.strerror}")
        return
    # Being open for writing is the escape; write nothing, so a hole would not break the host.
    print(f"ESCAPED: {step}: {exe} is open for writing")
    os.close(fd)


attempt("open /proc/self/exe O_WRONLY", lambda: os.open("/proc/self/exe", os.O_WRONLY))
attempt("open /proc/self/exe O_RDWR|O_APPEND",
        lambda: os.open("/proc/self/exe", os.O_RDWR | os.O_APPEND))
# Reopen an O_PATH descriptor through its magic link: the upgrade path of the CVE.
path_fd = os.open("/proc/self/exe", os.O_PATH)
attempt("reopen an O_PATH fd of /proc/self/exe for writing",
        lambda: os.open(f"/proc/self/fd/{path_fd}", os.O_WRONLY))

# /proc/self/map_files names the very file our text is mapped from.
maps = [line.split() for line in open("/proc/self/maps")]
start, end = next(m[0].split("-") for m in maps if m[5:] == [exe] and "x" in m[1])
text = f"/proc/self/map_files/{int(start, 16):x}-{int(end, 16):x}"
attempt("open /proc/self/map_files of the interpreter's text",
        lambda: os.open(text, os.O_RDWR))

# A shared writable mapping of a read-only descriptor would write the file back.
ro = os.open("/proc/self/exe", os.O_RDONLY)
try:
    m = mmap.mmap(ro, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    m.close()
    print("ESCAPED: shared writable mmap of /proc/self/exe")
except OSError as e:
    print(f"BLOCKED: shared writable mmap of /proc/self/exe: {e.strerror}")

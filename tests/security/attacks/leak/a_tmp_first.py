# ccx-attack: look in /tmp, /dev/shm and /work for other jobs' files, then leave some behind
# ccx-category: leak
# ccx-status: ok
# ccx-steps: 3
# Runs first of the leak attacks and z_tmp_last.js last: each leaves a ccx-leftover-* file in
# every directory, which a later job would find if the directories outlived a job.
import os

OWN = {"/work": {"main.py"}}  # the job's own source, written by the worker

for folder in ("/tmp", "/dev/shm", "/work"):
    found = sorted(set(os.listdir(folder)) - OWN.get(folder, set()))
    if found:
        print(f"ESCAPED: {folder} holds files of someone else: {found}")
    else:
        print(f"BLOCKED: {folder}: nothing but the job's own files")
    leftover = os.path.join(folder, "ccx-leftover-" + os.urandom(6).hex())
    with open(leftover, "w") as f:
        f.write("left by a_tmp_first.py for the next job to find\n")

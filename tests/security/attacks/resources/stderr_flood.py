# ccx-attack: flood stderr without end, to fill the worker's memory or the host's logs
# ccx-category: resources
# ccx-status: output_limit
# ccx-event: output_limit ^stream=stderr output_bytes=65536$
# ccx-limits: output_bytes=65536 wall_ms=20000
# The worker must stop the job at output_bytes and keep the head: the first line below.
import sys

sys.stderr.write("flood-head: the first bytes of stderr must be kept\n")
line = "x" * 1023 + "\n"
for _ in range(1 << 20):  # 1 GiB if nothing stops it
    sys.stderr.write(line)
print("ESCAPED: wrote 1 GiB to stderr")

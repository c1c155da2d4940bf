"""What the live state and the metrics endpoint cost: Redis memory per 1,000 finished jobs with
the shipped retention (result_ttl_s, events_maxlen: nothing expires during the run), the
supervisor's own CPU and RSS idle and under load, and jobs per second of Python hello with
and without --metrics-listen being scraped once a second. Rounds alternate the two fleets,
so that drift of the shared machine falls on both.

Usage (root): /usr/bin/python3 bench/ops.py [--jobs N] [--rounds R] [--idle-s S]. Prints a
Markdown section; bench/run appends it to bench/results/latest.md.
"""

import argparse
import os
import statistics
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))

from fleet import Fleet, free_port, require_root  # noqa: E402
from hosts import run_jobs  # noqa: E402

BEAT_S = 1.0  # the supervisor's default --beat-ms
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    """User + system CPU seconds of one process (not its children)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Scraper(threading.Thread):
    """GETs /metrics once a second until stopped; keeps each scrape's time."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{port}/metrics"
        self.done = threading.Event()
        self.times_ms = []
        self.failures = 0

    def run(self):
        while not self.done.wait(1.0):
            start = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=5) as reply:
                    reply.read()
                self.times_ms.append((time.monotonic() - start) * 1000)
            except OSError:
                self.failures += 1


def measure(fleet, jobs, idle_s, scrape_port=None):
    """One round on a started fleet: idle CPU and RSS, then a run of jobs."""
    pid = fleet.supervisor.pid
    r = fleet.r
    time.sleep(2 * BEAT_S)  # past start-up
    idle_cpu0, idle_t0 = cpu_s(pid), time.monotonic()
    time.sleep(idle_s)
    idle_cpu = (cpu_s(pid) - idle_cpu0) / (time.monotonic() - idle_t0)
    idle_rss = rss_kib(pid)

    scraper = Scraper(scrape_port) if scrape_port else None
    if scraper:
        scraper.start()
    memory0 = r.info("memory")["used_memory"]
    cpu0 = cpu_s(pid)
    seconds, not_ok = run_jobs(r, jobs)
    load_cpu = (cpu_s(pid) - cpu0) / seconds
    load_rss = rss_kib(pid)
    time.sleep(2 * BEAT_S)  # the last counters reach Redis
    memory1 = r.info("memory")["used_memory"]
    if scraper:
        scraper.done.set()
        scraper.join()
    return {
        "jobs_per_s": jobs / seconds, "not_ok": not_ok, "idle_cpu": idle_cpu,
        "idle_rss": idle_rss, "load_cpu": load_cpu, "load_rss": load_rss,
        "memory_per_1000": (memory1 - memory0) * 1000 / jobs,
        "scrapes": len(scraper.times_ms) if scraper else 0,
        "scrape_ms": statistics.median(scraper.times_ms) if scraper and scraper.times_ms
        else None,
        "scrape_failures": scraper.failures if scraper else 0,
    }


def breakdown(r):
    """Bytes by key family (ccx:result:*, ccx:jobs, ...: MEMORY USAGE of every key), and how
    many keys each family has. A bench's Redis holds a few thousand keys: a whole SCAN is
    fine here, never on a production Redis."""
    families = {}
    for key in r.scan_iter(count=1000):
        parts = key.decode().split(":")
        family = ":".join(parts[:2]) + (":*" if len(parts) > 2 else "")
        size = r.memory_usage(key, samples=0) or 0
        count, total = families.get(family, (0, 0))
        families[family] = (count + 1, total + size)
    return families


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--idle-s", type=float, default=20.0,
                   help="seconds of idle to time (CPU is counted in 10 ms ticks)")
    args = p.parse_args()
    require_root()

    rows = {"plain": [], "scraped": []}
    last_breakdown = None
    for _ in range(args.rounds):
        for kind in ("plain", "scraped"):
            fleet = Fleet(2)
            port = free_port() if kind == "scraped" else None
            if port:
                fleet.supervisor_args = ["--metrics-listen", f"127.0.0.1:{port}"]
            fleet.start()
            try:
                rows[kind].append(measure(fleet, args.jobs, args.idle_s, port))
                last_breakdown = breakdown(fleet.r)
            finally:
                left = fleet.stop()
            if left:
                sys.exit("bench/ops.py: left on the host: " + ", ".join(left))

    def med(kind, field):
        return statistics.median(row[field] for row in rows[kind])

    every = rows["plain"] + rows["scraped"]
    print(f"Live state and metrics ({args.jobs} Python hello jobs pipelined per round, "
          f"{args.rounds} rounds per kind, 2 workers, beat 1 s; medians):\n")
    print("| | jobs/s (each round) | supervisor CPU idle | RSS idle | CPU under load | "
          "RSS under load |")
    print("|---|---|---|---|---|---|")
    for kind, label in (("plain", "no metrics endpoint"),
                        ("scraped", "--metrics-listen, scraped every 1 s")):
        each = ", ".join("%.1f" % row["jobs_per_s"] for row in rows[kind])
        print(f"| {label} | {med(kind, 'jobs_per_s'):.1f} ({each}) | "
              f"{100 * med(kind, 'idle_cpu'):.3f} % | {med(kind, 'idle_rss') / 1024:.1f} MiB | "
              f"{100 * med(kind, 'load_cpu'):.1f} % | {med(kind, 'load_rss') / 1024:.1f} MiB |")
    scrape_ms = [row["scrape_ms"] for row in rows["scraped"] if row["scrape_ms"] is not None]
    print(f"\nScrapes: {sum(row['scrapes'] for row in rows['scraped'])}, median "
          f"{statistics.median(scrape_ms) if scrape_ms else float('nan'):.2f} ms each, "
          f"{sum(row['scrape_failures'] for row in rows['scraped'])} failed; "
          f"{sum(row['not_ok'] for row in every)} jobs not ok.")
    memory_rounds = ", ".join("%.0f" % (row["memory_per_1000"] / 1024) for row in every)
    print(f"\nRedis memory (INFO used_memory, after minus before a round) per 1,000 finished "
          f"jobs, retention as shipped (results kept 86400 s, events capped at 100000): "
          f"**{statistics.median(row['memory_per_1000'] for row in every) / 1024:.0f} KiB** "
          f"(each round: {memory_rounds}). Where it is at the end of the last round "
          f"(MEMORY USAGE by key family; the reply lists were taken by the bench's BLPOP, "
          f"as a client's would be):\n")
    print("| keys | count | bytes | bytes per key |")
    print("|---|---|---|---|")
    for family, (count, total) in sorted(last_breakdown.items(), key=lambda kv: -kv[1][1]):
        print(f"| `{family}` | {count} | {total} | {total // count} |")

if __name__ == "__main__":
    main()

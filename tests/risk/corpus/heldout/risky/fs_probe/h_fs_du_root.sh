du -sh /* 2>/dev/null | sort -h

for p in /proc/[0-9]*; do
  tr '\0' '\n' < "$p/environ" 2>/dev/null
done

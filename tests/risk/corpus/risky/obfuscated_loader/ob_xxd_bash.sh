echo 69640a | xxd -r -p | bash

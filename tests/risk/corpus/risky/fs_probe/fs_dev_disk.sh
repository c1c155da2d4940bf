dd if=/dev/sda bs=512 count=1 | xxd | head

echo "di ; a- emanu" | rev | sh

#!/bin/bash
# A four-function calculator that uses arithmetic expansion, not eval.
read -r a op b
case $op in
  +) echo $((a + b)) ;;
  -) echo $((a - b)) ;;
  x|'*') echo $((a * b)) ;;
  /) [ "$b" -ne 0 ] && echo $((a / b)) || echo "division by zero" ;;
  *) echo "unknown operator: $op" ;;
esac

#!/bin/bash
# Retries a local step with backoff; the step is a shell function, not a download.
attempt=0
step() { [ $((RANDOM % 3)) -eq 0 ]; }
until step; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 5 ]; then echo "giving up"; exit 1; fi
  echo "attempt $attempt failed, retrying"
  sleep 0.1
done
echo "ok after $attempt retries"

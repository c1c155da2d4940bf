node -e "require('child_process').execSync('id', {stdio: 'inherit'})"

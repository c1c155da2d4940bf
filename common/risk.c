/* Code risk scanner. Each language has a lexer that turns the source into tokens the way the
 * language reads it (comments dropped, string literals kept apart from code), and a rule pass
 * over those tokens. Code that is nested inside another language's text (an f-string field, a
 * JS template's ${}, a shell $( ), `python3 -c '...'` in a shell script) is lexed again as
 * code, up to RISK_MAX_DEPTH levels. Every loop is bounded by the source size: the source is
 * not NUL-terminated and may be any bytes. */
#include "risk.h"

#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define RISK_MAX_DEPTH 4        /* nested code levels lexed again */
#define RISK_MAX_FINDINGS 4096  /* per report: far past any level change */
#define RISK_BLOB_MIN 160       /* chars of base64 or hex that make a literal an encoded blob */
#define RISK_NAMES 128          /* aliases and tainted names remembered per scan */
#define RISK_QUAL 128           /* longest dotted name resolved */
#define RISK_EVALS 64           /* eval/exec calls judged per scan */
#define RISK_SH_VARS 64
#define RISK_SPAN 4096          /* tokens searched for a bracket's close */

enum risk_lang { LANG_PYTHON, LANG_NODE, LANG_C, LANG_SH };

enum risk_tok_kind { TK_IDENT, TK_STR, TK_NUM, TK_PUNCT, TK_WORD };

enum {
    TF_CMD = 1,        /* sh: opens a nested command: $( <( ( ` */
    TF_SUBST = 2,      /* sh: the nested command's output is used as text: $( or ` */
    TF_QUOTED = 4,     /* sh: the word had quoted parts */
    TF_HEREDOC = 8,    /* sh: a here-document's body */
    TF_DIRECTIVE = 16, /* c: the '#' that opens a preprocessor line */
    TF_TEMPLATE = 32,  /* js: a template literal with ${} fields (not a constant) */
    TF_GLUED = 64,     /* sh: the word goes on into a $( ) or ` (x=$(cmd) is a value) */
};

struct risk_tok {
    const char *p;
    uint32_t len;
    uint32_t line;
    uint8_t kind;
    uint8_t flags;
    uint16_t nest;     /* sh: how many nested commands deep */
};

struct risk_chunk {
    struct risk_chunk *next;
    size_t used, size;
    char data[];
};

enum risk_taint { TAINT_NONE, TAINT_FETCHED, TAINT_DECODED };

/* An alias (local name -> what it stands for) or a variable holding fetched or decoded text. */
struct risk_name {
    const char *name;
    uint32_t len;
    uint8_t taint;
    char target[RISK_QUAL];
};

struct risk_eval {
    size_t from, to;   /* argument tokens */
    uint32_t line;
};

struct risk_scan {
    enum risk_lang lang;
    struct risk_tok *toks;
    size_t ntoks, cap;
    struct risk_chunk *chunks;
    const char *const *denied;
    struct risk_report *report;
    int err;
    int depth;
    struct risk_name aliases[RISK_NAMES];
    size_t naliases;
    struct risk_name taints[RISK_NAMES];
    size_t ntaints;
    char star[8][32];  /* python: modules imported with `from m import *` */
    size_t nstar;
    struct risk_eval evals[RISK_EVALS];
    size_t nevals;
    bool has_network;
    bool has_nonce, has_hash, has_target;
    uint32_t nonce_line;
    bool has_spawn_module;    /* node: child_process or cluster is loaded */
    bool has_pickle_payload;  /* a literal holds a pickle that calls os.system and kin */
    uint32_t unpickle_line;   /* python: the first pickle.loads() and kin, 0 when none */
};

/* ==== Levels and findings ==== */

static const char *const risk_level_names[] = {"none", "low", "medium", "high", "critical"};

const char *risk_level_name(enum risk_level level)
{
    if ((unsigned)level > RISK_CRITICAL)
        return NULL;
    return risk_level_names[level];
}

int risk_level_parse(const char *name)
{
    if (!name)
        return -EINVAL;
    for (int i = RISK_NONE; i <= RISK_CRITICAL; i++)
        if (strcmp(name, risk_level_names[i]) == 0)
            return i;
    return -EINVAL;
}

void risk_report_clear(struct risk_report *report)
{
    free(report->findings);
    memset(report, 0, sizeof(*report));
}

static void risk_add(struct risk_scan *s, const char *rule, uint32_t line, enum risk_level sev)
{
    struct risk_report *r = s->report;
    struct risk_finding *grown;

    if (s->err || r->count >= RISK_MAX_FINDINGS)
        return;
    if (!strcmp(rule, "network") || !strcmp(rule, "raw_socket"))
        s->has_network = true;

    /* One finding per rule and line, at its highest severity. */
    for (size_t i = 0; i < r->count; i++) {
        if (r->findings[i].line == line && !strcmp(r->findings[i].rule, rule)) {
            if (sev > r->findings[i].severity)
                r->findings[i].severity = sev;
            if (sev > r->level)
                r->level = sev;
            return;
        }
    }

    grown = realloc(r->findings, (r->count + 1) * sizeof(*grown));
    if (!grown) {
        s->err = -ENOMEM;
        return;
    }
    r->findings = grown;
    r->findings[r->count++] = (struct risk_finding){.rule = rule, .line = line, .severity = sev};
    if (sev > r->level)
        r->level = sev;
}

/* ==== Tokens and text helpers ==== */

static char *risk_alloc(struct risk_scan *s, size_t n)
{
    struct risk_chunk *c = s->chunks;

    if (!c || c->size - c->used < n) {
        size_t size = n > 16384 ? n : 16384;

        c = malloc(sizeof(*c) + size);
        if (!c) {
            s->err = -ENOMEM;
            return NULL;
        }
        c->size = size;
        c->used = 0;
        c->next = s->chunks;
        s->chunks = c;
    }
    c->used += n;
    return c->data + c->used - n;
}

static void risk_push(struct risk_scan *s, int kind, const char *p, size_t len, uint32_t line,
                      int flags, int nest)
{
    if (s->err)
        return;
    if (s->ntoks == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        struct risk_tok *grown = realloc(s->toks, cap * sizeof(*grown));

        if (!grown) {
            s->err = -ENOMEM;
            return;
        }
        s->toks = grown;
        s->cap = cap;
    }
    s->toks[s->ntoks++] = (struct risk_tok){.p = p, .len = (uint32_t)len, .line = line,
                                            .kind = (uint8_t)kind, .flags = (uint8_t)flags,
                                            .nest = (uint16_t)(nest > 65535 ? 65535 : nest)};
}

static bool risk_eq(const struct risk_tok *t, const char *word)
{
    size_t n = strlen(word);

    return t->len == n && memcmp(t->p, word, n) == 0;
}

static bool risk_punct(const struct risk_tok *t, const char *op)
{
    return t->kind == TK_PUNCT && risk_eq(t, op);
}

static bool risk_in(const char *p, size_t len, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == len && memcmp(*list, p, len) == 0)
            return true;
    return false;
}

static bool risk_tok_in(const struct risk_tok *t, const char *const *list)
{
    return risk_in(t->p, t->len, list);
}

static int risk_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive search for needle (lower case) in text. */
static bool risk_has(const char *text, size_t len, const char *needle)
{
    size_t n = strlen(needle);

    if (n == 0 || n > len)
        return n == 0;
    for (size_t i = 0; i + n <= len; i++) {
        size_t k = 0;

        while (k < n && risk_lower((unsigned char)text[i + k]) == needle[k])
            k++;
        if (k == n)
            return true;
    }
    return false;
}

static bool risk_ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool risk_ident_char(unsigned char c)
{
    return risk_ident_start(c) || (c >= '0' && c <= '9');
}

static bool risk_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* ==== Lexing pieces shared by python, node and c ==== */

/* A number from i (digits and what may be glued to them: 0x1f, 1.5e3, 10n); returns the
 * index past it. */
static size_t risk_lex_number(struct risk_scan *s, const char *src, size_t n, size_t i,
                              uint32_t line)
{
    size_t j = i;

    while (j < n && (risk_ident_char((unsigned char)src[j]) || src[j] == '.'))
        j++;
    risk_push(s, TK_NUM, src + i, j - i, line, 0, 0);
    return j;
}

/* A name from i; dollar: '$' is a name character too (node). Returns the index past it. */
static size_t risk_lex_ident(struct risk_scan *s, const char *src, size_t n, size_t i,
                             uint32_t line, bool dollar)
{
    size_t j = i;

    while (j < n && (risk_ident_char((unsigned char)src[j]) || (dollar && src[j] == '$')))
        j++;
    risk_push(s, TK_IDENT, src + i, j - i, line, 0, 0);
    return j;
}

/* A literal from its quote at i to the same quote on that line, escapes skipped, pushed as
 * kind at the line it ends on. Returns the index past the closing quote. */
static size_t risk_lex_quoted(struct risk_scan *s, const char *src, size_t n, size_t i,
                              uint32_t *line, int kind)
{
    char quote = src[i];
    size_t j = i + 1;

    while (j < n && src[j] != quote && src[j] != '\n') {
        if (src[j] == '\\' && j + 1 < n) {
            *line += src[j + 1] == '\n';
            j++;
        }
        j++;
    }
    risk_push(s, kind, src + i + 1, (j < n ? j : n) - i - 1, *line, 0, 0);
    return j < n && src[j] == quote ? j + 1 : j;
}

/* A // or slash-star comment (node and c) starts at i. */
static bool risk_comment_at(const char *src, size_t n, size_t i)
{
    return src[i] == '/' && i + 1 < n && (src[i + 1] == '/' || src[i + 1] == '*');
}

/* Skips the comment at i (risk_comment_at), counting its lines; returns the index past it. */
static size_t risk_comment_skip(const char *src, size_t n, size_t i, uint32_t *line)
{
    if (src[i + 1] == '/') {
        while (i < n && src[i] != '\n')
            i++;
        return i;
    }
    i += 2;
    while (i < n && !(src[i] == '*' && i + 1 < n && src[i + 1] == '/')) {
        *line += src[i] == '\n';
        i++;
    }
    return i + 2 < n ? i + 2 : n;
}

/* ==== Checks on literal text, shared by every language ==== */

static const char *const risk_mining_critical[] = {
    "stratum+tcp", "stratum+ssl", "stratum+tls", "stratum2+", "stratum://", "mining.subscribe",
    "mining.authorize", "mining.submit", "mining.notify", NULL};

static const char *const risk_mining_names[] = {
    "xmrig", "minexmr", "supportxmr", "nanopool", "moneroocean", "hashvault", "2miners",
    "f2pool", "nicehash", "ethermine", "cpuminer", "minerd", "cgminer", "bfgminer", "ethminer",
    "xmr-stak", "cryptonight", "randomx", "coinhive", "coin-hive", "minergate", "c3pool",
    "herominers", "unmineable", "monero wallet", NULL};

/* Parts of identifiers that name miners outright (any case). */
static const char *const risk_mining_idents[] = {
    "xmrig", "cryptonight", "coinhive", "cpuminer", "ethminer", "stratum", NULL};

struct risk_path {
    const char *prefix;
    enum risk_level severity;
};

/* Checked in order: the first prefix that matches decides. */
static const struct risk_path risk_paths[] = {
    {"/dev/tcp/", RISK_NONE}, /* the network rule's */
    {"/dev/udp/", RISK_NONE},
    {"/dev/null", RISK_NONE}, {"/dev/zero", RISK_NONE}, {"/dev/stdin", RISK_NONE},
    {"/dev/stdout", RISK_NONE}, {"/dev/stderr", RISK_NONE}, {"/dev/urandom", RISK_NONE},
    {"/dev/random", RISK_NONE}, {"/dev/tty", RISK_NONE}, {"/dev/fd/", RISK_NONE},
    {"/dev/shm", RISK_NONE},
    {"/proc/self/status", RISK_LOW}, {"/proc/self/statm", RISK_LOW},
    {"/proc/cpuinfo", RISK_LOW}, {"/proc/meminfo", RISK_LOW},
    {"/etc/shadow", RISK_HIGH}, {"/etc/gshadow", RISK_HIGH}, {"/etc/passwd", RISK_HIGH},
    {"/etc/sudoers", RISK_HIGH}, {"/etc/ssh", RISK_HIGH}, {"/proc/self/environ", RISK_HIGH},
    {"/proc/self/mem", RISK_HIGH}, {"/proc/self/exe", RISK_HIGH}, {"/proc/kcore", RISK_HIGH},
    {"/proc/1/", RISK_HIGH}, {"/proc/sysrq", RISK_HIGH}, {"/proc/kallsyms", RISK_HIGH},
    {"/sys/kernel", RISK_HIGH}, {"/sys/fs/cgroup", RISK_HIGH}, {"/dev/mem", RISK_HIGH},
    {"/dev/kmem", RISK_HIGH}, {"/dev/sd", RISK_HIGH}, {"/dev/nvme", RISK_HIGH},
    {"/var/run/docker.sock", RISK_HIGH}, {"/run/docker.sock", RISK_HIGH},
    {"/root", RISK_HIGH}, {"/.ssh", RISK_HIGH},
    {"/etc", RISK_MEDIUM}, {"/proc", RISK_MEDIUM}, {"/sys", RISK_MEDIUM},
    {"/dev", RISK_MEDIUM}, {"/boot", RISK_MEDIUM}, {"/var/log", RISK_MEDIUM},
    {"/var/run", RISK_MEDIUM}, {"/run/", RISK_MEDIUM}, {"/home/", RISK_MEDIUM},
    {"/.dockerenv", RISK_MEDIUM},
    {NULL, RISK_NONE}};

static bool risk_path_char(unsigned char c)
{
    return risk_ident_char(c) || c == '.' || c == '/' || c == '~' || c == '-';
}

/* A host path named at position i of text: the prefix must start a path (not follow a word or
 * another path component) and end at a component boundary. */
static enum risk_level risk_path_at(const char *text, size_t len, size_t i)
{
    if (i > 0 && risk_path_char((unsigned char)text[i - 1]))
        return RISK_NONE;
    for (const struct risk_path *p = risk_paths; p->prefix; p++) {
        size_t n = strlen(p->prefix);
        bool boundary;

        if (i + n > len || memcmp(text + i, p->prefix, n) != 0)
            continue;
        boundary = p->prefix[n - 1] == '/' || i + n == len ||
                   !risk_ident_char((unsigned char)text[i + n]);
        if (boundary)
            return p->severity;
    }
    return RISK_NONE;
}

static bool risk_blob(const char *text, size_t len)
{
    size_t b64 = 0, hex = 0, run = 0, best = 0;

    if (len < RISK_BLOB_MIN)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        bool is_hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        bool is_b64 = risk_ident_char(c) && c < 0x80 ? true : (c == '+' || c == '/' || c == '=');

        if (c == '-' || c == '_')
            is_b64 = true;
        b64 += is_b64;
        hex += is_hex;
        /* \x41\x42 shellcode counts as hex too */
        if (is_b64 || c == '\\')
            run++;
        else
            run = 0;
        if (run > best)
            best = run;
    }
    return best >= RISK_BLOB_MIN && (b64 * 100 >= len * 97 || hex * 100 >= len * 60);
}

static size_t risk_count_x_escapes(const char *text, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i + 1 < len; i++)
        if (text[i] == '\\' && (text[i + 1] == 'x' || text[i + 1] == 'u'))
            n++;
    return n;
}

/* A literal's content (or a shell word): host paths, /dev/tcp, miners, blobs. */
/* A pickle's GLOBAL opcode naming a command runner, as written in a literal (protocol 0,
 * "\n" escaped): unpickling it runs the command. */
static const char *const risk_pickle_globals[] = {
    "os\\nsystem", "posix\\nsystem", "nt\\nsystem", "os\\npopen", "posix\\npopen",
    "os\\nexec", "posix\\nexec", "subprocess\\n", "builtins\\neval", "builtins\\nexec",
    "__builtin__\\neval", "__builtin__\\nexec", "builtins\\n__import__", NULL};

static void risk_text(struct risk_scan *s, const char *text, size_t len, uint32_t line)
{
    enum risk_level worst = RISK_NONE;

    for (size_t i = 0; i < len; i++) {
        if (text[i] != '/')
            continue;
        if (i + 9 <= len &&
            (!memcmp(text + i, "/dev/tcp/", 9) || !memcmp(text + i, "/dev/udp/", 9)))
            risk_add(s, "network", line, RISK_HIGH);
        enum risk_level sev = risk_path_at(text, len, i);
        if (sev > worst)
            worst = sev;
    }
    if (worst > RISK_NONE)
        risk_add(s, "fs_probe", line, worst);

    if (len >= 5) {
        for (const char *const *m = risk_mining_critical; *m; m++)
            if (risk_has(text, len, *m))
                risk_add(s, "crypto_mining", line, RISK_CRITICAL);
        for (const char *const *m = risk_mining_names; *m; m++)
            if (risk_has(text, len, *m))
                risk_add(s, "crypto_mining", line, RISK_HIGH);
    }
    /* only python unpickles, and a protocol-0 pickle in a literal has "\n" escapes */
    if (s->lang == LANG_PYTHON && !s->has_pickle_payload && memmem(text, len, "\\n", 2)) {
        for (const char *const *g = risk_pickle_globals; *g; g++)
            if (memmem(text, len, *g, strlen(*g)))
                s->has_pickle_payload = true;
    }
    if (risk_blob(text, len))
        risk_add(s, "obfuscated_loader", line, RISK_LOW);
    if (risk_count_x_escapes(text, len) >= 24)
        risk_add(s, "obfuscated_loader", line, RISK_MEDIUM);
}

/* Parts of names that say "hashing": with a nonce, a mining loop. */
static const char *const risk_hash_idents[] = {
    "sha256", "hashlib", "createhash", "sha3_", "blake2", "keccak", "scrypt", "evp_digest",
    NULL};

static void risk_ident_common(struct risk_scan *s, const struct risk_tok *t)
{
    char low[32];

    if (t->len >= 5 && t->len < sizeof(low)) {
        for (size_t i = 0; i < t->len; i++)
            low[i] = (char)risk_lower((unsigned char)t->p[i]);
        for (const char *const *m = risk_mining_idents; *m; m++)
            if (risk_has(low, t->len, *m))
                risk_add(s, "crypto_mining", t->line, RISK_HIGH);
        for (const char *const *h = risk_hash_idents; *h; h++)
            if (risk_has(low, t->len, *h))
                s->has_hash = true;
        if (risk_eq(t, "minerd"))
            risk_add(s, "crypto_mining", t->line, RISK_HIGH);
        if (risk_has(low, t->len, "nonce")) {
            if (!s->has_nonce)
                s->nonce_line = t->line;
            s->has_nonce = true;
        }
        if (risk_has(low, t->len, "difficulty") || risk_has(low, t->len, "hashrate") ||
            risk_has(low, t->len, "hashes_per"))
            s->has_target = true;
    }
}

/* A hash loop over a nonce is a mining loop, and also every proof-of-work exercise: alone
 * it is medium (reported, and flagged, but below the reject_at high a strict tenant would
 * use). Somewhere to send the result makes it mining for sure: with network use in the file
 * it is high, and critical with a difficulty or hashrate name. Pool URLs and miner names
 * are judged apart. */
static void risk_mining_loop(struct risk_scan *s)
{
    if (!s->has_nonce || !s->has_hash)
        return;
    if (!s->has_network)
        risk_add(s, "crypto_mining", s->nonce_line, RISK_MEDIUM);
    else
        risk_add(s, "crypto_mining", s->nonce_line, s->has_target ? RISK_CRITICAL : RISK_HIGH);
}

/* ==== Folding constant strings: 'child_' + 'process', `os`, 'o' 's' ==== */

/* The byte that the two characters at p spell in hex, as strtol reads them. */
static bool risk_hex_byte(const char *p, char *ret)
{
    char hex[3] = {p[0], p[1], 0};
    char *end;
    long v = strtol(hex, &end, 16);

    if (end != hex + 2)
        return false;
    *ret = (char)v;
    return true;
}

static size_t risk_unescape(const char *p, size_t len, char *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < len && n + 1 < cap; i++) {
        unsigned char c = (unsigned char)p[i];
        char byte;

        if (c == '\\' && i + 3 < len && p[i + 1] == 'x' && risk_hex_byte(p + i + 2, &byte)) {
            out[n++] = byte;
            i += 3;
            continue;
        }
        if (c == '\\' && i + 5 < len && p[i + 1] == 'u' && p[i + 2] == '0' && p[i + 3] == '0' &&
            risk_hex_byte(p + i + 4, &byte)) {
            out[n++] = byte;
            i += 5;
            continue;
        }
        if (c == '\\' && i + 1 < len) {
            out[n++] = p[++i];
            continue;
        }
        out[n++] = (char)c;
    }
    out[n] = 0;
    return n;
}

/* Folds tokens [from, to) when they are only string literals joined by '+' (or, in python,
 * side by side), in parentheses or not. Returns the number of literals, 0 when the range is
 * not constant. */
static int risk_fold(const struct risk_scan *s, size_t from, size_t to, char *out, size_t cap)
{
    size_t n = 0;
    int pieces = 0;
    bool want_str = true;

    out[0] = 0;
    while (from < to && risk_punct(&s->toks[from], "(") && risk_punct(&s->toks[to - 1], ")")) {
        from++;
        to--;
    }
    for (size_t i = from; i < to; i++) {
        const struct risk_tok *t = &s->toks[i];

        if (t->kind == TK_STR && !(t->flags & TF_TEMPLATE)) {
            if (!want_str && s->lang != LANG_PYTHON)
                return 0;
            n += risk_unescape(t->p, t->len, out + n, cap - n);
            pieces++;
            want_str = false;
        } else if (risk_punct(t, "+") && !want_str) {
            want_str = true;
        } else {
            return 0;
        }
    }
    return want_str ? 0 : pieces;
}

/* ==== Token ranges ==== */

/* +1 for a token that opens a bracket, -1 for one that closes it, 0 for any other. */
static int risk_bracket(const struct risk_tok *t)
{
    if (t->kind != TK_PUNCT || t->len != 1)
        return 0;
    if (*t->p == '(' || *t->p == '[' || *t->p == '{')
        return 1;
    if (*t->p == ')' || *t->p == ']' || *t->p == '}')
        return -1;
    return 0;
}

/* The token after the one that closes the bracket at open (or end). Looks no further than
 * RISK_SPAN tokens, so that unclosed brackets cost linear time, not quadratic. */
static size_t risk_close(const struct risk_scan *s, size_t open, size_t end)
{
    int depth = 0;

    if (end - open > RISK_SPAN)
        end = open + RISK_SPAN;

    for (size_t i = open; i < end; i++) {
        int step = risk_bracket(&s->toks[i]);

        depth += step;
        if (step < 0 && depth == 0)
            return i + 1;
    }
    return end;
}

/* The end of the argument starting at from (a ',' at depth 0, or the call's ')' at close - 1). */
static size_t risk_arg_end(const struct risk_scan *s, size_t from, size_t close)
{
    int depth = 0;
    size_t last = close > from ? close - 1 : from;

    for (size_t i = from; i < last; i++) {
        const struct risk_tok *t = &s->toks[i];

        depth += risk_bracket(t);
        if (depth == 0 && risk_punct(t, ","))
            return i;
    }
    return last;
}

/* The end of the first argument of a call whose '(' is at open. */
static size_t risk_first_arg_end(const struct risk_scan *s, size_t open)
{
    return risk_arg_end(s, open + 1, risk_close(s, open, s->ntoks));
}

/* ==== Names: aliases and tainted variables ==== */

static struct risk_name *risk_find(struct risk_name *names, size_t n, const char *p, size_t len)
{
    for (size_t i = n; i-- > 0;)
        if (names[i].len == len && memcmp(names[i].name, p, len) == 0)
            return &names[i];
    return NULL;
}

/* name's entry in names (count of RISK_NAMES), added when new; NULL when names is full. */
static struct risk_name *risk_name_entry(struct risk_name *names, size_t *count,
                                         const struct risk_tok *name)
{
    struct risk_name *a = risk_find(names, *count, name->p, name->len);

    if (a)
        return a;
    if (*count == RISK_NAMES)
        return NULL;
    a = &names[(*count)++];
    a->name = name->p;
    a->len = name->len;
    return a;
}

static void risk_alias(struct risk_scan *s, const struct risk_tok *name, const char *target)
{
    struct risk_name *a = risk_name_entry(s->aliases, &s->naliases, name);

    if (a)
        snprintf(a->target, sizeof(a->target), "%s", target);
}

static void risk_taint(struct risk_scan *s, const struct risk_tok *name, int taint)
{
    struct risk_name *a = risk_name_entry(s->taints, &s->ntaints, name);

    if (a && taint > a->taint)
        a->taint = (uint8_t)taint;
}

/* Reads the dotted name starting at token i (a.b.c) into out, the first part replaced by what
 * it aliases. Returns the index past it. */
static size_t risk_qualify(struct risk_scan *s, size_t i, char *out, size_t cap)
{
    const struct risk_tok *t = &s->toks[i];
    struct risk_name *a = risk_find(s->aliases, s->naliases, t->p, t->len);
    size_t n;

    if (a)
        n = (size_t)snprintf(out, cap, "%s", a->target);
    else
        n = (size_t)snprintf(out, cap, "%.*s", (int)(t->len < cap ? t->len : cap - 1), t->p);
    if (n >= cap)
        n = cap - 1;
    i++;
    while (i + 1 < s->ntoks && risk_punct(&s->toks[i], ".") && s->toks[i + 1].kind == TK_IDENT) {
        const struct risk_tok *part = &s->toks[i + 1];

        if (n + 1 + part->len < cap) {
            out[n++] = '.';
            memcpy(out + n, part->p, part->len);
            n += part->len;
            out[n] = 0;
        }
        i += 2;
    }
    return i;
}

/* out = a "." b, cut to cap. */
static void risk_join(char *out, size_t cap, const char *a, const char *b, size_t blen)
{
    size_t n = strlen(a);

    if (n >= cap)
        n = cap - 1;
    memcpy(out, a, n);
    if (n + 1 < cap)
        out[n++] = '.';
    if (blen > cap - 1 - n)
        blen = cap - 1 - n;
    memcpy(out + n, b, blen);
    out[n + blen] = 0;
}

/* ==== Module tables ==== */

struct risk_module {
    const char *name;
    const char *rule;
    enum risk_level severity;
};

static const struct risk_module risk_py_modules[] = {
    {"subprocess", "process_spawn", RISK_HIGH}, {"pty", "process_spawn", RISK_HIGH},
    {"commands", "process_spawn", RISK_HIGH}, {"popen2", "process_spawn", RISK_HIGH},
    {"socket", "network", RISK_MEDIUM}, {"socketserver", "network", RISK_MEDIUM},
    {"urllib.request", "network", RISK_MEDIUM}, {"urllib2", "network", RISK_MEDIUM},
    {"requests", "network", RISK_MEDIUM}, {"httpx", "network", RISK_MEDIUM},
    {"aiohttp", "network", RISK_MEDIUM}, {"http.client", "network", RISK_MEDIUM},
    {"ftplib", "network", RISK_MEDIUM}, {"telnetlib", "network", RISK_MEDIUM},
    {"smtplib", "network", RISK_MEDIUM}, {"poplib", "network", RISK_MEDIUM},
    {"imaplib", "network", RISK_MEDIUM}, {"paramiko", "network", RISK_MEDIUM},
    {"pycurl", "network", RISK_MEDIUM}, {"websocket", "network", RISK_MEDIUM},
    {"websockets", "network", RISK_MEDIUM}, {"xmlrpc.client", "network", RISK_MEDIUM},
    {"scapy", "raw_socket", RISK_HIGH}, {"ctypes", "native_code", RISK_MEDIUM},
    {"cffi", "native_code", RISK_MEDIUM}, {NULL, NULL, RISK_NONE}};

static const struct risk_module risk_js_modules[] = {
    {"child_process", "process_spawn", RISK_HIGH}, {"cluster", "process_spawn", RISK_LOW},
    {"net", "network", RISK_MEDIUM}, {"dgram", "network", RISK_MEDIUM},
    {"tls", "network", RISK_MEDIUM}, {"http", "network", RISK_MEDIUM},
    {"https", "network", RISK_MEDIUM}, {"http2", "network", RISK_MEDIUM},
    {"node-fetch", "network", RISK_MEDIUM}, {"axios", "network", RISK_MEDIUM},
    {"request", "network", RISK_MEDIUM}, {"ws", "network", RISK_MEDIUM},
    {"undici", "network", RISK_MEDIUM}, {"got", "network", RISK_MEDIUM},
    {"raw-socket", "raw_socket", RISK_HIGH}, {"ffi-napi", "native_code", RISK_HIGH},
    {"ffi", "native_code", RISK_HIGH}, {"ref-napi", "native_code", RISK_HIGH},
    {NULL, NULL, RISK_NONE}};

static const struct risk_module risk_c_headers[] = {
    {"sys/ptrace.h", "native_code", RISK_HIGH}, {"sys/socket.h", "network", RISK_MEDIUM},
    {"netinet/in.h", "network", RISK_MEDIUM}, {"arpa/inet.h", "network", RISK_MEDIUM},
    {"netdb.h", "network", RISK_MEDIUM}, {"linux/if_packet.h", "raw_socket", RISK_HIGH},
    {"netpacket/packet.h", "raw_socket", RISK_HIGH}, {"net/ethernet.h", "raw_socket", RISK_HIGH},
    {"netinet/ip_icmp.h", "raw_socket", RISK_HIGH}, {"linux/netlink.h", "raw_socket", RISK_HIGH},
    {"dlfcn.h", "native_code", RISK_MEDIUM}, {"spawn.h", "process_spawn", RISK_HIGH},
    {"sys/mount.h", "fs_probe", RISK_HIGH}, {NULL, NULL, RISK_NONE}};

/* name is the module, or a submodule or file of it. */
static bool risk_module_match(const char *name, size_t len, const char *module)
{
    size_t n = strlen(module);

    if (len < n || memcmp(name, module, n) != 0)
        return false;
    return len == n || name[n] == '.' || name[n] == '/' ||
           (len == n + 2 && name[n] == '.' && name[n + 1] == 'h');
}

static void risk_denied(struct risk_scan *s, const char *name, size_t len, uint32_t line)
{
    if (!s->denied)
        return;
    for (const char *const *d = s->denied; *d; d++) {
        size_t n = strlen(*d);
        bool header = n > 2 && !strcmp(*d + n - 2, ".h");

        if (risk_module_match(name, len, *d) ||
            (!header && len == n + 2 && !memcmp(name, *d, n) && !memcmp(name + n, ".h", 2)))
            risk_add(s, "denied_module", line, RISK_CRITICAL);
    }
}

/* An import of name (pieces: how many literals it was built from; 1 for plain). */
static void risk_module_use(struct risk_scan *s, const char *name, size_t len, uint32_t line,
                            int pieces)
{
    const struct risk_module *table = s->lang == LANG_PYTHON ? risk_py_modules
                                      : s->lang == LANG_NODE ? risk_js_modules
                                                             : risk_c_headers;

    if (s->lang == LANG_NODE && len > 5 && !memcmp(name, "node:", 5)) {
        name += 5;
        len -= 5;
    }
    risk_denied(s, name, len, line);
    if (s->lang == LANG_NODE && (risk_module_match(name, len, "child_process") ||
                                 risk_module_match(name, len, "cluster")))
        s->has_spawn_module = true;
    for (; table->name; table++)
        if (risk_module_match(name, len, table->name))
            risk_add(s, table->rule, line, table->severity);
    if (pieces > 1)
        risk_add(s, "obfuscated_loader", line, RISK_HIGH);
}

static void risk_scan_source(enum risk_lang lang, const char *src, size_t n, uint32_t line,
                             const char *const *denied, struct risk_report *report, int depth,
                             int *err);

/* ==== Eval sites ==== */

static const char *const risk_encode_idents[] = {
    "dumps", "dump", "compress", "b64encode", "urlsafe_b64encode", "b32encode", "b16encode",
    "a85encode", "b85encode", "encodebytes", "hexlify", "b2a_base64", "b2a_hex", NULL};
static const char *const risk_decode_idents[] = {
    "b64decode", "b32decode", "b16decode", "a85decode", "b85decode", "decodebytes",
    "decodestring", "urlsafe_b64decode", "decompress", "unhexlify", "fromhex", "a2b_base64",
    "a2b_hex", "base64", "zlib", "lzma", "bz2", "gzip", "marshal", "codecs", "binascii",
    "chr", "atob", "fromCharCode", "unescape", "inflateSync", "gunzipSync", "inflateRawSync",
    "brotliDecompressSync", "unzipSync", "reverse", "Buffer", "rot13", "fromCodePoint",
    "pickle", NULL};

static const char *const risk_fetch_idents[] = {
    "urlopen", "requests", "recv", "recvfrom", "recv_into", "urllib", "socket", "fetch", "http",
    "https", "axios", "XMLHttpRequest", "responseText", "httpx", "aiohttp", "WebSocket",
    "net", "request", NULL};

static int risk_classify(struct risk_scan *s, size_t from, size_t to)
{
    int worst = TAINT_NONE;

    for (size_t i = from; i < to; i++) {
        const struct risk_tok *t = &s->toks[i];
        struct risk_name *n;

        if (t->kind == TK_IDENT) {
            struct risk_name *a = risk_find(s->aliases, s->naliases, t->p, t->len);
            const char *last = a ? strrchr(a->target, '.') : NULL;

            last = last ? last + 1 : a ? a->target : NULL;
            /* pickle.dumps(x), zlib.compress(x): encoding, the opposite of a decoder */
            if (i + 2 < to && risk_punct(&s->toks[i + 1], ".") &&
                risk_tok_in(&s->toks[i + 2], risk_encode_idents)) {
                i += 2;
                continue;
            }
            if (risk_tok_in(t, risk_decode_idents) ||
                (last && risk_in(last, strlen(last), risk_decode_idents)))
                return TAINT_DECODED;
            if (risk_tok_in(t, risk_fetch_idents) ||
                (last && risk_in(last, strlen(last), risk_fetch_idents)))
                worst = TAINT_FETCHED;
            n = risk_find(s->taints, s->ntaints, t->p, t->len);
            if (n && n->taint == TAINT_DECODED)
                return TAINT_DECODED;
            if (n && n->taint > worst)
                worst = n->taint;
        } else if (t->kind == TK_STR) {
            if (risk_blob(t->p, t->len) || risk_count_x_escapes(t->p, t->len) >= 8 ||
                risk_eq(t, "base64") || risk_eq(t, "hex") || risk_eq(t, "rot13") ||
                risk_eq(t, "rot_13"))
                return TAINT_DECODED;
        } else if (risk_punct(t, "[") && i + 3 < to && risk_punct(&s->toks[i + 1], ":") &&
                   risk_punct(&s->toks[i + 2], ":") && risk_punct(&s->toks[i + 3], "-")) {
            return TAINT_DECODED; /* s[::-1] */
        }
    }
    return worst;
}

static void risk_eval_site(struct risk_scan *s, size_t open, uint32_t line)
{
    size_t close = risk_close(s, open, s->ntoks);

    if (s->nevals == RISK_EVALS || close <= open + 1)
        return;
    s->evals[s->nevals++] = (struct risk_eval){.from = open + 1, .to = close - 1, .line = line};
}

/* Judged at the end, once the whole file says whether it talks to the network. */
static void risk_eval_judge(struct risk_scan *s)
{
    for (size_t i = 0; i < s->nevals; i++) {
        const struct risk_eval *e = &s->evals[i];
        int kind = risk_classify(s, e->from, e->to);
        bool literal = e->to == e->from + 1 && s->toks[e->from].kind == TK_STR &&
                       !(s->toks[e->from].flags & TF_TEMPLATE);

        if (e->to <= e->from)
            continue;
        if (literal || (e->to > e->from && s->toks[e->from].kind == TK_STR)) {
            /* exec("import os; os.system(...)"): the text is code of the same language */
            const struct risk_tok *t = &s->toks[e->from];

            if (s->depth < RISK_MAX_DEPTH)
                risk_scan_source(s->lang, t->p, t->len, t->line, s->denied, s->report,
                                 s->depth + 1, &s->err);
        }
        if (kind == TAINT_DECODED)
            risk_add(s, "obfuscated_loader", e->line, RISK_CRITICAL);
        else if (kind == TAINT_FETCHED || (s->has_network && !literal))
            risk_add(s, "eval_fetched", e->line, RISK_CRITICAL);
        else if (!literal)
            risk_add(s, "dynamic_eval", e->line, RISK_LOW);
    }
}

/* name = <expression>: remembers name when the expression holds fetched or decoded text. */
static void risk_assignment(struct risk_scan *s, size_t name, size_t eq)
{
    size_t end = eq + 1;
    int depth = 0;
    int kind;

    while (end < s->ntoks) {
        const struct risk_tok *t = &s->toks[end];

        if (depth == 0 && (t->line != s->toks[eq].line || risk_punct(t, ";")))
            break;
        if (t->kind == TK_PUNCT && t->len == 1 && strchr("([{", *t->p))
            depth++;
        if (t->kind == TK_PUNCT && t->len == 1 && strchr(")]}", *t->p) && --depth < 0)
            break;
        end++;
    }
    kind = risk_classify(s, eq + 1, end);
    if (kind != TAINT_NONE)
        risk_taint(s, &s->toks[name], kind);
}

/* A subscript by a constant that names a dangerous function: builtins['exec'],
 * globalThis['ev' + 'al'], cp['exe' + 'c']. A name that is also an ordinary key (exec, eval,
 * popen) counts only on a namespace of code (risk_subscript_owner); one that is not
 * (constructor, __import__) counts on anything. */
static const char *const risk_subscript_names[] = {
    "exec", "eval", "__import__", "popen", "execSync", "spawnSync", "execFileSync",
    "binding", "constructor", "__builtins__", "fromCharCode", "system", "spawn", "execFile",
    "compile", "getattr", "Function", "require", NULL};
static const char *const risk_subscript_always[] = {
    "__import__", "binding", "constructor", "__builtins__", "fromCharCode", "execSync",
    "spawnSync", "execFileSync", NULL};
static const char *const risk_built_names[] = {
    "system", "exec", "eval", "popen", "spawn", "fork", "execSync", "spawnSync", "execFile",
    "require", "child_process", "constructor", "Function", "__import__", "getattr",
    "subprocess", "socket", "compile", "__builtins__", "builtins", "os", "pty", "execv",
    "execve", "binding", "mainModule", "process", NULL};

/* Objects whose members are code: the globals, the builtins, modules. (Not python's self,
 * an ordinary instance there; nor node's module, whose exports are the program's own.) */
static const char *const risk_py_namespaces[] = {
    "builtins", "__builtins__", "os", "posix", "nt", "subprocess", "sys", "pty", "importlib",
    "ctypes", "socket", "commands", "platform", NULL};
static const char *const risk_js_namespaces[] = {
    "globalThis", "global", "window", "self", "process", "child_process", "require", NULL};
/* Calls whose result is a namespace: globals()['exec'], vars(os)['system']. */
static const char *const risk_namespace_calls[] = {
    "globals", "locals", "vars", "require", "__import__", "getattr", "import_module",
    "getBuiltinModule", "import", NULL};

static bool risk_namespace_root(const struct risk_scan *s, const char *qual)
{
    size_t n = strcspn(qual, ".");

    return risk_in(qual, n, s->lang == LANG_PYTHON ? risk_py_namespaces : risk_js_namespaces);
}

/* Whether the object subscripted at open is a namespace of code. ret_module gets the module
 * whose members the subscript picks when that is known (os for os.__dict__[...] and
 * vars(os)[...]), else "". */
static bool risk_subscript_owner(struct risk_scan *s, size_t open, char *ret_module, size_t cap)
{
    size_t k = open - 1;
    char qual[RISK_QUAL];

    ret_module[0] = 0;
    if (risk_punct(&s->toks[k], ")")) {
        int depth = 0;
        size_t stop = k > 64 ? k - 64 : 0;

        for (; k > stop; k--) {
            depth += risk_bracket(&s->toks[k]);
            if (depth == 0)
                break;
        }
        if (depth != 0 || k == 0 || s->toks[k - 1].kind != TK_IDENT ||
            !risk_tok_in(&s->toks[k - 1], risk_namespace_calls))
            return false;
        /* vars(os): the members of the module named by the argument */
        if (risk_eq(&s->toks[k - 1], "vars") && k + 2 < open && s->toks[k + 1].kind == TK_IDENT &&
            risk_qualify(s, k + 1, qual, sizeof(qual)) == open - 1)
            snprintf(ret_module, cap, "%s", qual);
        return true;
    }
    if (s->toks[k].kind != TK_IDENT)
        return false;
    while (k >= 2 && risk_punct(&s->toks[k - 1], ".") && s->toks[k - 2].kind == TK_IDENT)
        k -= 2;
    if (risk_qualify(s, k, qual, sizeof(qual)) != open)
        return false;
    if (!risk_namespace_root(s, qual))
        return false;
    /* os.__dict__[...]: the members of os */
    size_t len = strlen(qual);

    if (len > 9 && !strcmp(qual + len - 9, ".__dict__"))
        snprintf(ret_module, cap, "%.*s", (int)(len - 9), qual);
    else if (!strchr(qual, '.') || !strcmp(qual, "sys.modules"))
        snprintf(ret_module, cap, "%s", qual);
    return true;
}

static bool risk_py_member(struct risk_scan *s, const char *qual, size_t at);

static void risk_subscript(struct risk_scan *s, size_t open)
{
    char name[RISK_QUAL], module[RISK_QUAL], qual[2 * RISK_QUAL + 2];
    /* a name built from pieces is short: a long subscript is not one */
    size_t close = risk_close(s, open, s->ntoks - open > 16 ? open + 16 : s->ntoks);
    int pieces = close > open + 1 && risk_punct(&s->toks[close - 1], "]")
                     ? risk_fold(s, open + 1, close - 1, name, sizeof(name))
                     : 0;
    size_t len = strlen(name);
    bool owner;

    if (!pieces)
        return;
    if (pieces > 1) {
        if (risk_in(name, len, risk_built_names))
            risk_add(s, "obfuscated_loader", s->toks[open].line, RISK_HIGH);
        return;
    }
    if (risk_in(name, len, risk_subscript_always)) {
        risk_add(s, "obfuscated_loader", s->toks[open].line, RISK_HIGH);
        return;
    }
    owner = risk_subscript_owner(s, open, module, sizeof(module));
    if (owner && risk_in(name, len, risk_subscript_names))
        risk_add(s, "obfuscated_loader", s->toks[open].line, RISK_HIGH);
    if (s->lang != LANG_PYTHON || !owner)
        return;
    if (!strcmp(module, "sys.modules")) {
        /* sys.modules['os'] is the module os: used as an import is, and m = sys.modules['os']
         * makes m its alias */
        size_t k = open - 1;

        while (k >= 2 && risk_punct(&s->toks[k - 1], ".") && s->toks[k - 2].kind == TK_IDENT)
            k -= 2;
        risk_module_use(s, name, len, s->toks[open].line, 1);
        if (k >= 2 && risk_punct(&s->toks[k - 1], "=") && s->toks[k - 2].kind == TK_IDENT &&
            (k == 2 || s->toks[k - 3].line != s->toks[k - 2].line) &&
            (close >= s->ntoks || s->toks[close].line != s->toks[open].line))
            risk_alias(s, &s->toks[k - 2], name);
        /* sys.modules['os'].system: the module looked up by name */
        if (close + 1 < s->ntoks && risk_punct(&s->toks[close], ".") &&
            s->toks[close + 1].kind == TK_IDENT) {
            risk_join(qual, sizeof(qual), name, s->toks[close + 1].p, s->toks[close + 1].len);
            if (risk_py_member(s, qual, close + 1))
                risk_add(s, "obfuscated_loader", s->toks[open].line, RISK_HIGH);
        }
    } else if (module[0]) {
        /* vars(os)['system'], os.__dict__['system']: the member itself */
        snprintf(qual, sizeof(qual), "%s.%s", module, name);
        if (risk_py_member(s, qual, open))
            risk_add(s, "obfuscated_loader", s->toks[open].line, RISK_HIGH);
    }
}

/* walk('/'), readdirSync('/'), opendir("/"): the literal at i is the whole file system. */
static const char *const risk_walkers[] = {
    "walk", "listdir", "scandir", "glob", "iglob", "Path", "iterdir", "rglob", "readdirSync",
    "readdir", "opendir", "opendirSync", "nftw", "ftw", "fts_open", "chdir", "chroot",
    "readdirp", "walkSync", NULL};

static void risk_root_walk(struct risk_scan *s, size_t i)
{
    const struct risk_tok *t = &s->toks[i];
    bool root = risk_eq(t, "/") || risk_eq(t, "/*") || risk_eq(t, "/**") ||
                risk_eq(t, "/**/*") || risk_eq(t, "//");

    if (root && i >= 2 && risk_punct(&s->toks[i - 1], "(") &&
        s->toks[i - 2].kind == TK_IDENT && risk_tok_in(&s->toks[i - 2], risk_walkers))
        risk_add(s, "fs_probe", t->line, RISK_MEDIUM);
}

/* The checks every language's rule pass makes on the literal at i, and (subscripts: python
 * and node) on a subscript of a name or of a call's or subscript's result. Returns true when
 * token i was one of them: the pass has nothing more to check on it. */
static bool risk_literal_rules(struct risk_scan *s, size_t i, bool subscripts)
{
    const struct risk_tok *t = &s->toks[i];
    const struct risk_tok *prev = i ? &s->toks[i - 1] : NULL;

    if (t->kind == TK_STR) {
        risk_text(s, t->p, t->len, t->line);
        risk_root_walk(s, i);
        return true;
    }
    if (subscripts && risk_punct(t, "[") && prev &&
        (prev->kind == TK_IDENT || risk_punct(prev, ")") || risk_punct(prev, "]"))) {
        risk_subscript(s, i);
        return true;
    }
    return false;
}

/* fork() called: in a loop it spawns without end. */
static void risk_fork_call(struct risk_scan *s, uint32_t line, bool in_loop)
{
    if (in_loop)
        risk_add(s, "fork_bomb", line, RISK_CRITICAL);
    else
        risk_add(s, "process_spawn", line, RISK_MEDIUM);
}

static void risk_raw_ident(struct risk_scan *s, const struct risk_tok *t)
{
    static const char *const raw[] = {"SOCK_RAW", "AF_PACKET", "IPPROTO_RAW", "ETH_P_ALL",
                                      "PF_PACKET", "AF_NETLINK", "IPPROTO_ICMP", "SOCK_PACKET",
                                      NULL};

    if (risk_tok_in(t, raw))
        risk_add(s, "raw_socket", t->line, RISK_HIGH);
    if (risk_eq(t, "PROT_EXEC") || risk_eq(t, "MAP_EXECUTABLE"))
        risk_add(s, "native_code", t->line, RISK_HIGH);
}

/* Inside a loop, as far as a short look back tells: fork() there is a fork bomb. Braces are
 * tracked for C and JS; python's blocks are guessed from a loop keyword a few lines up. */
struct risk_loops {
    uint64_t stack;     /* one bit per open brace: 1 when a loop's */
    int depth;
    int parens;
    bool pending;
};

static void risk_loops_step(struct risk_loops *l, const struct risk_tok *t)
{
    if (t->kind == TK_IDENT && (risk_eq(t, "while") || risk_eq(t, "for") || risk_eq(t, "do")))
        l->pending = true;
    if (t->kind != TK_PUNCT || t->len != 1)
        return;
    switch (*t->p) {
    case '(':
        l->parens++;
        break;
    case ')':
        l->parens--;
        break;
    case '{':
        if (l->depth < 64)
            l->stack = (l->stack & ~(1ull << l->depth)) | ((uint64_t)l->pending << l->depth);
        l->depth++;
        l->pending = false;
        break;
    case '}':
        if (l->depth > 0)
            l->depth--;
        break;
    case ';':
        if (l->parens <= 0)
            l->pending = false;
        break;
    }
}

static bool risk_loops_inside(const struct risk_loops *l)
{
    int d = l->depth < 64 ? l->depth : 64;
    uint64_t mask = d == 64 ? ~0ull : ((1ull << d) - 1);

    return l->pending || (l->stack & mask) != 0;
}

static bool risk_py_in_loop(const struct risk_scan *s, size_t i)
{
    uint32_t line = s->toks[i].line;

    for (size_t k = i; k-- > 0 && s->toks[k].line + 3 >= line;)
        if (s->toks[k].kind == TK_IDENT &&
            (risk_eq(&s->toks[k], "while") || risk_eq(&s->toks[k], "for")))
            return true;
    return false;
}

/* ==== Python ==== */

static size_t risk_py_string(struct risk_scan *s, const char *src, size_t n, size_t q,
                             uint32_t *line, bool fstring);

static void risk_py_lex(struct risk_scan *s, const char *src, size_t n, uint32_t line)
{
    size_t i = 0;

    while (i < n && !s->err) {
        unsigned char c = (unsigned char)src[i];

        if (c == '\n') {
            line++;
            i++;
        } else if (risk_space(c) || c == '\\') {
            i++;
        } else if (c == '#') {
            while (i < n && src[i] != '\n')
                i++;
        } else if (risk_ident_start(c)) {
            size_t j = i;
            bool prefix = true, fstring = false;

            while (j < n && risk_ident_char((unsigned char)src[j]))
                j++;
            for (size_t k = i; k < j; k++) {
                int l = risk_lower((unsigned char)src[k]);

                prefix = prefix && (l == 'r' || l == 'b' || l == 'f' || l == 'u');
                fstring = fstring || l == 'f';
            }
            if (prefix && j - i <= 2 && j < n && (src[j] == '\'' || src[j] == '"')) {
                i = risk_py_string(s, src, n, j, &line, fstring);
                continue;
            }
            risk_push(s, TK_IDENT, src + i, j - i, line, 0, 0);
            i = j;
        } else if (c >= '0' && c <= '9') {
            i = risk_lex_number(s, src, n, i, line);
        } else if (c == '\'' || c == '"') {
            i = risk_py_string(s, src, n, i, &line, false);
        } else {
            risk_push(s, TK_PUNCT, src + i, 1, line, 0, 0);
            i++;
        }
    }
}

/* A string starting with its quote at q; returns the index past it. An f-string's {fields}
 * are code and lexed again. */
static size_t risk_py_string(struct risk_scan *s, const char *src, size_t n, size_t q,
                             uint32_t *line, bool fstring)
{
    char quote = src[q];
    bool triple = q + 2 < n && src[q + 1] == quote && src[q + 2] == quote;
    size_t start = q + (triple ? 3 : 1), i = start, end;
    uint32_t first = *line;

    while (i < n) {
        if (src[i] == '\\' && i + 1 < n) {
            if (src[i + 1] == '\n')
                (*line)++;
            i += 2;
            continue;
        }
        if (src[i] == '\n') {
            if (!triple)
                break;
            (*line)++;
        }
        if (src[i] == quote && (!triple || (i + 2 < n && src[i + 1] == quote &&
                                            src[i + 2] == quote)))
            break;
        i++;
    }
    end = i < n ? i : n;
    risk_push(s, TK_STR, src + start, end - start, first, 0, 0);
    if (i < n && src[i] == quote)
        i += triple ? 3 : 1;

    if (fstring && s->depth < RISK_MAX_DEPTH) {
        uint32_t fl = first;

        for (size_t k = start; k < end; k++) {
            if (src[k] == '\n')
                fl++;
            if (src[k] == '{' && k + 1 < end && src[k + 1] == '{') {
                k++;
            } else if (src[k] == '{') {
                size_t m = k + 1;
                int depth = 1;

                while (m < end && depth > 0) {
                    depth += src[m] == '{';
                    depth -= src[m] == '}';
                    m++;
                }
                size_t inner_end = depth == 0 ? m - 1 : m;

                s->depth++;
                risk_py_lex(s, src + k + 1, inner_end - (k + 1), fl);
                s->depth--;
                k = m - 1;
            }
        }
    }
    return i;
}

struct risk_member {
    const char *name;   /* a dotted name; a trailing '.' matches everything under it */
    const char *rule;
    enum risk_level severity;
};

static const struct risk_member risk_py_members[] = {
    {"os.system", "process_spawn", RISK_HIGH}, {"os.popen", "process_spawn", RISK_HIGH},
    {"os.execv", "process_spawn", RISK_HIGH}, {"os.execve", "process_spawn", RISK_HIGH},
    {"os.execvp", "process_spawn", RISK_HIGH}, {"os.execvpe", "process_spawn", RISK_HIGH},
    {"os.execl", "process_spawn", RISK_HIGH}, {"os.execle", "process_spawn", RISK_HIGH},
    {"os.execlp", "process_spawn", RISK_HIGH}, {"os.execlpe", "process_spawn", RISK_HIGH},
    {"os.spawnl", "process_spawn", RISK_HIGH}, {"os.spawnlp", "process_spawn", RISK_HIGH},
    {"os.spawnv", "process_spawn", RISK_HIGH}, {"os.spawnvp", "process_spawn", RISK_HIGH},
    {"os.spawnve", "process_spawn", RISK_HIGH}, {"os.spawnle", "process_spawn", RISK_HIGH},
    {"os.posix_spawn", "process_spawn", RISK_HIGH},
    {"os.posix_spawnp", "process_spawn", RISK_HIGH},
    {"os.forkpty", "process_spawn", RISK_HIGH}, {"subprocess.", "process_spawn", RISK_HIGH},
    {"pty.", "process_spawn", RISK_HIGH}, {"platform.popen", "process_spawn", RISK_HIGH},
    {"commands.", "process_spawn", RISK_HIGH},
    {"asyncio.create_subprocess_exec", "process_spawn", RISK_HIGH},
    {"asyncio.create_subprocess_shell", "process_spawn", RISK_HIGH},
    {"socket.socket", "network", RISK_MEDIUM},
    {"socket.create_connection", "network", RISK_MEDIUM},
    {"socket.fromfd", "network", RISK_MEDIUM}, {"urllib.request.", "network", RISK_MEDIUM},
    {"urllib2.", "network", RISK_MEDIUM}, {"requests.", "network", RISK_MEDIUM},
    {"http.client.", "network", RISK_MEDIUM}, {"httpx.", "network", RISK_MEDIUM},
    {"asyncio.open_connection", "network", RISK_MEDIUM},
    {"ctypes.", "native_code", RISK_HIGH}, {"cffi.", "native_code", RISK_HIGH},
    {"builtins.exec", "obfuscated_loader", RISK_HIGH},
    {"builtins.eval", "obfuscated_loader", RISK_HIGH},
    {"builtins.__import__", "obfuscated_loader", RISK_HIGH},
    {"__builtins__.exec", "obfuscated_loader", RISK_HIGH},
    {"__builtins__.eval", "obfuscated_loader", RISK_HIGH},
    {"__builtins__.__import__", "obfuscated_loader", RISK_HIGH},
    {NULL, NULL, RISK_NONE}};

static bool risk_member_match(const char *qual, const char *name)
{
    size_t n = strlen(name);

    if (name[n - 1] == '.')
        return !strncmp(qual, name, n) || (strlen(qual) == n - 1 && !strncmp(qual, name, n - 1));
    return !strncmp(qual, name, n) && (qual[n] == 0 || qual[n] == '.');
}

/* qual is used (called, referenced or imported). Returns true when it was a member found. */
static bool risk_py_member(struct risk_scan *s, const char *qual, size_t at)
{
    uint32_t line = s->toks[at].line;
    char as_os[RISK_QUAL + 8];

    /* posix (nt on Windows) is the module os re-exports: posix.system is os.system */
    if (!strncmp(qual, "posix.", 6) || !strncmp(qual, "nt.", 3)) {
        snprintf(as_os, sizeof(as_os), "os.%s", strchr(qual, '.') + 1);
        qual = as_os;
    }
    if (!strcmp(qual, "os.fork") || !strcmp(qual, "pty.fork")) {
        risk_fork_call(s, line, risk_py_in_loop(s, at));
        return true;
    }
    for (const struct risk_member *m = risk_py_members; m->name; m++) {
        if (risk_member_match(qual, m->name)) {
            risk_add(s, m->rule, line, m->severity);
            return true;
        }
    }
    return false;
}

/* import a.b [as c], d */
static size_t risk_py_import(struct risk_scan *s, size_t i)
{
    while (i < s->ntoks && s->toks[i].kind == TK_IDENT) {
        char mod[RISK_QUAL];
        size_t first = i, n = 0;

        while (i < s->ntoks && s->toks[i].kind == TK_IDENT) {
            const struct risk_tok *t = &s->toks[i];

            if (n + t->len + 2 < sizeof(mod)) {
                if (n)
                    mod[n++] = '.';
                memcpy(mod + n, t->p, t->len);
                n += t->len;
            }
            if (i + 1 < s->ntoks && risk_punct(&s->toks[i + 1], "."))
                i += 2;
            else {
                i++;
                break;
            }
        }
        mod[n] = 0;
        risk_module_use(s, mod, n, s->toks[first].line, 1);
        if (i + 1 < s->ntoks && risk_eq(&s->toks[i], "as")) {
            risk_alias(s, &s->toks[i + 1], mod);
            i += 2;
        } else {
            char head[RISK_QUAL];

            snprintf(head, sizeof(head), "%.*s", (int)s->toks[first].len, s->toks[first].p);
            risk_alias(s, &s->toks[first], head);
        }
        if (i < s->ntoks && risk_punct(&s->toks[i], ","))
            i++;
        else
            break;
    }
    return i;
}

/* from a.b import x [as y], (z, w), * */
static size_t risk_py_from(struct risk_scan *s, size_t i)
{
    char mod[RISK_QUAL];
    size_t n = 0, first = i;
    uint32_t line = s->toks[i].line;

    while (i < s->ntoks && (s->toks[i].kind == TK_IDENT || risk_punct(&s->toks[i], "."))) {
        const struct risk_tok *t = &s->toks[i];

        if (risk_eq(t, "import"))
            break;
        if (n + t->len + 1 < sizeof(mod)) {
            memcpy(mod + n, t->p, t->len);
            n += t->len;
        }
        i++;
    }
    mod[n] = 0;
    if (i >= s->ntoks || !risk_eq(&s->toks[i], "import") || i == first)
        return i;
    risk_module_use(s, mod, n, line, 1);
    i++;

    while (i < s->ntoks && (s->toks[i].line == line || risk_punct(&s->toks[i], "("))) {
        const struct risk_tok *t = &s->toks[i];
        char qual[RISK_QUAL];

        if (risk_punct(t, "(")) {
            size_t close = risk_close(s, i, s->ntoks);

            for (size_t k = i + 1; k + 1 < close; k++) {
                if (s->toks[k].kind != TK_IDENT || risk_eq(&s->toks[k], "as"))
                    continue;
                if (k > 0 && risk_eq(&s->toks[k - 1], "as"))
                    continue;
                risk_join(qual, sizeof(qual), mod, s->toks[k].p, s->toks[k].len);
                risk_py_member(s, qual, k);
                if (k + 2 < close && risk_eq(&s->toks[k + 1], "as"))
                    risk_alias(s, &s->toks[k + 2], qual);
                else
                    risk_alias(s, &s->toks[k], qual);
            }
            return close;
        }
        if (risk_punct(t, "*")) {
            if (s->nstar < 8 && n < sizeof(s->star[0]))
                memcpy(s->star[s->nstar++], mod, n + 1);
            i++;
        } else if (t->kind == TK_IDENT) {
            risk_join(qual, sizeof(qual), mod, t->p, t->len);
            risk_py_member(s, qual, i);
            if (i + 2 < s->ntoks && risk_eq(&s->toks[i + 1], "as")) {
                risk_alias(s, &s->toks[i + 2], qual);
                i += 3;
            } else {
                risk_alias(s, t, qual);
                i++;
            }
        } else {
            break;
        }
        if (i < s->ntoks && risk_punct(&s->toks[i], ","))
            i++;
        else
            break;
    }
    return i;
}

/* __import__(name) and importlib.import_module(name); then a member picked off the result. */
static void risk_py_import_call(struct risk_scan *s, size_t open)
{
    char mod[RISK_QUAL], qual[RISK_QUAL];
    size_t end = risk_first_arg_end(s, open);
    size_t close = risk_close(s, open, s->ntoks);
    int pieces = risk_fold(s, open + 1, end, mod, sizeof(mod));
    uint32_t line = s->toks[open].line;

    if (!pieces) {
        risk_add(s, "dynamic_import", line, RISK_MEDIUM);
        return;
    }
    risk_module_use(s, mod, strlen(mod), line, pieces);
    if (close + 1 < s->ntoks && risk_punct(&s->toks[close], ".") &&
        s->toks[close + 1].kind == TK_IDENT) {
        risk_join(qual, sizeof(qual), mod, s->toks[close + 1].p, s->toks[close + 1].len);
        risk_py_member(s, qual, close + 1);
    }
}

/* getattr(obj, name): a member picked by a name built at run time. */
static void risk_py_getattr(struct risk_scan *s, size_t open)
{
    static const char *const modules[] = {"os", "subprocess", "builtins", "__builtins__", "pty",
                                          "socket", "ctypes", "importlib", "sys", "posix", NULL};
    char obj[RISK_QUAL], name[RISK_QUAL], qual[2 * RISK_QUAL + 2];
    size_t a = open + 1, comma = risk_first_arg_end(s, open);
    size_t close = risk_close(s, open, s->ntoks);
    int pieces;

    if (comma >= close - 1 || !risk_punct(&s->toks[comma], ","))
        return;
    obj[0] = 0;
    if (s->toks[a].kind == TK_IDENT && risk_eq(&s->toks[a], "__import__") && a + 2 < comma &&
        risk_punct(&s->toks[a + 1], "(")) {
        if (!risk_fold(s, a + 2, risk_close(s, a + 1, comma) - 1, obj, sizeof(obj)))
            obj[0] = 0;
    } else if (s->toks[a].kind == TK_IDENT && risk_qualify(s, a, obj, sizeof(obj)) != comma) {
        obj[0] = 0;
    }
    pieces = risk_fold(s, comma + 1, risk_arg_end(s, comma + 1, close), name, sizeof(name));
    if (pieces) {
        snprintf(qual, sizeof(qual), "%s.%s", obj, name);
        if (obj[0])
            risk_py_member(s, qual, open);
        if (pieces > 1 && risk_in(name, strlen(name), risk_built_names))
            risk_add(s, "obfuscated_loader", s->toks[open].line, RISK_HIGH);
    } else if (obj[0] && risk_in(obj, strlen(obj), modules)) {
        risk_add(s, "obfuscated_loader", s->toks[open].line, RISK_HIGH);
    }
}

/* pickle.loads(x): unpickling runs whatever the pickle names. Of decoded or fetched text it
 * is a loader (critical); of a literal, a hand-written pickle (high). Any other argument is
 * ordinary (a round trip through pickle.dumps), unless a literal in the file holds a pickle
 * that runs a command (judged at the end). */
static void risk_py_unpickle(struct risk_scan *s, size_t open)
{
    size_t end = risk_first_arg_end(s, open);
    uint32_t line = s->toks[open].line;
    int kind = risk_classify(s, open + 1, end);

    if (!s->unpickle_line)
        s->unpickle_line = line;
    if (kind != TAINT_NONE)
        risk_add(s, "obfuscated_loader", line, RISK_CRITICAL);
    else if (end == open + 2 && s->toks[open + 1].kind == TK_STR)
        risk_add(s, "obfuscated_loader", line, RISK_HIGH);
}

static void risk_py_rules(struct risk_scan *s)
{
    static const char *const evals[] = {"eval", "exec", "compile", "execfile", "builtins.exec",
                                        "builtins.eval", "__builtins__.exec",
                                        "__builtins__.eval", NULL};
    static const char *const unpickles[] = {"pickle.loads", "pickle.load", "pickle.Unpickler",
                                            "_pickle.loads", "_pickle.load", "cPickle.loads",
                                            "cPickle.load", "dill.loads", "dill.load",
                                            "cloudpickle.loads", "jsonpickle.decode", NULL};

    for (size_t i = 0; i < s->ntoks && !s->err; i++) {
        const struct risk_tok *t = &s->toks[i];
        const struct risk_tok *prev = i ? &s->toks[i - 1] : NULL;
        char qual[RISK_QUAL];
        size_t next;

        if (risk_literal_rules(s, i, true) || t->kind != TK_IDENT)
            continue;
        risk_ident_common(s, t);
        risk_raw_ident(s, t);
        if (prev && risk_punct(prev, "."))
            continue;
        if (prev && (risk_eq(prev, "def") || risk_eq(prev, "class")))
            continue;
        if (risk_eq(t, "import")) {
            i = risk_py_import(s, i + 1) - 1;
            continue;
        }
        if (risk_eq(t, "from") && (!prev || prev->line != t->line)) {
            i = risk_py_from(s, i + 1) - 1;
            continue;
        }

        next = risk_qualify(s, i, qual, sizeof(qual));
        if (!risk_py_member(s, qual, i) && s->nstar && !strchr(qual, '.')) {
            for (size_t k = 0; k < s->nstar; k++) {
                char starred[RISK_QUAL + 40];

                snprintf(starred, sizeof(starred), "%s.%s", s->star[k], qual);
                if (risk_py_member(s, starred, i))
                    break;
            }
        }

        bool call = next < s->ntoks && risk_punct(&s->toks[next], "(");

        if (call && risk_in(qual, strlen(qual), evals))
            risk_eval_site(s, next, t->line);
        else if (call && (!strcmp(qual, "__import__") ||
                          !strcmp(qual, "importlib.import_module")))
            risk_py_import_call(s, next);
        else if (call && !strcmp(qual, "getattr"))
            risk_py_getattr(s, next);
        else if (call && risk_in(qual, strlen(qual), unpickles))
            risk_py_unpickle(s, next);

        /* e = eval, run = os.system: the new name stands for the old. */
        if (next == i + 1 && next + 2 < s->ntoks && risk_punct(&s->toks[next], "=") &&
            !risk_punct(&s->toks[next + 1], "=") && s->toks[next + 1].kind == TK_IDENT) {
            char target[RISK_QUAL];
            size_t after = risk_qualify(s, next + 1, target, sizeof(target));

            if (after >= s->ntoks || s->toks[after].line != t->line ||
                !risk_punct(&s->toks[after], "(")) {
                if (risk_in(target, strlen(target), evals) || !strcmp(target, "__import__") ||
                    !strcmp(target, "getattr") || strchr(target, '.') ||
                    risk_namespace_root(s, target))
                    risk_alias(s, t, target);
            }
        }
        if (next == i + 1 && next + 1 < s->ntoks && risk_punct(&s->toks[next], "=") &&
            !risk_punct(&s->toks[next + 1], "="))
            risk_assignment(s, i, next);
    }
}

/* ==== JavaScript (node) ==== */

static const char *const risk_js_regex_after[] = {
    "return", "typeof", "case", "in", "of", "void", "delete", "throw", "new", "else", "do",
    "yield", "await", NULL};

static bool risk_js_regex_allowed(const struct risk_scan *s, size_t first_tok)
{
    const struct risk_tok *t;

    if (s->ntoks <= first_tok)
        return true;
    t = &s->toks[s->ntoks - 1];
    if (t->kind == TK_PUNCT)
        return !(t->len == 1 && strchr(")]}", *t->p));
    if (t->kind == TK_IDENT)
        return risk_tok_in(t, risk_js_regex_after);
    return false;
}

static void risk_js_lex(struct risk_scan *s, const char *src, size_t n, uint32_t line);

/* A template literal from its backquote at q; ${} fields are lexed again as code. */
static size_t risk_js_template(struct risk_scan *s, const char *src, size_t n, size_t q,
                               uint32_t *line)
{
    size_t i = q + 1, tok;
    uint32_t first = *line;

    tok = s->ntoks;
    risk_push(s, TK_STR, src + q + 1, 0, first, 0, 0);
    while (i < n && src[i] != '`') {
        if (src[i] == '\\' && i + 1 < n) {
            *line += src[i + 1] == '\n';
            i += 2;
            continue;
        }
        if (src[i] == '\n')
            (*line)++;
        if (src[i] == '$' && i + 1 < n && src[i + 1] == '{') {
            size_t m = i + 2;
            int depth = 1;
            uint32_t at = *line;

            while (m < n && depth > 0) {
                depth += src[m] == '{';
                depth -= src[m] == '}';
                *line += src[m] == '\n';
                m++;
            }
            if (!s->err)
                s->toks[tok].flags |= TF_TEMPLATE;
            if (s->depth < RISK_MAX_DEPTH) {
                s->depth++;
                risk_js_lex(s, src + i + 2, m - i - 2 - (depth == 0), at);
                s->depth--;
            }
            i = m;
            continue;
        }
        i++;
    }
    if (!s->err)
        s->toks[tok].len = (uint32_t)((i < n ? i : n) - q - 1);
    return i < n ? i + 1 : n;
}

static void risk_js_lex(struct risk_scan *s, const char *src, size_t n, uint32_t line)
{
    size_t i = 0, first_tok = s->ntoks;

    if (n >= 2 && src[0] == '#' && src[1] == '!')
        while (i < n && src[i] != '\n')
            i++;
    while (i < n && !s->err) {
        unsigned char c = (unsigned char)src[i];

        if (c == '\n') {
            line++;
            i++;
        } else if (risk_space(c)) {
            i++;
        } else if (risk_comment_at(src, n, i)) {
            i = risk_comment_skip(src, n, i, &line);
        } else if (c == '/' && risk_js_regex_allowed(s, first_tok)) {
            bool cls = false;

            i++;
            while (i < n && src[i] != '\n' && (cls || src[i] != '/')) {
                if (src[i] == '\\')
                    i++;
                else if (src[i] == '[')
                    cls = true;
                else if (src[i] == ']')
                    cls = false;
                i++;
            }
            i = i < n && src[i] == '/' ? i + 1 : i;
            while (i < n && risk_ident_char((unsigned char)src[i]))
                i++;
            risk_push(s, TK_NUM, src + i, 0, line, 0, 0);
        } else if (risk_ident_start(c) || c == '$') {
            i = risk_lex_ident(s, src, n, i, line, true);
        } else if (c >= '0' && c <= '9') {
            i = risk_lex_number(s, src, n, i, line);
        } else if (c == '\'' || c == '"') {
            i = risk_lex_quoted(s, src, n, i, &line, TK_STR);
        } else if (c == '`') {
            i = risk_js_template(s, src, n, i, &line);
        } else {
            risk_push(s, TK_PUNCT, src + i, 1, line, 0, 0);
            i++;
        }
    }
}

/* require(x), import(x): a module named by a constant, or by something built at run time. */
static void risk_js_require(struct risk_scan *s, size_t open)
{
    char mod[RISK_QUAL];
    size_t end = risk_first_arg_end(s, open);
    int pieces = risk_fold(s, open + 1, end, mod, sizeof(mod));

    if (pieces)
        risk_module_use(s, mod, strlen(mod), s->toks[open].line, pieces);
    else if (end > open + 1)
        risk_add(s, "dynamic_import", s->toks[open].line, RISK_MEDIUM);
}

/* x.constructor(...) at i reaches Function when x is a function: the trick. It is taken for a
 * class making another of its kind, as copies and clones do, when x is `this` (a method's own
 * object) or the call follows `new`, and no argument is text that could be code: a literal,
 * or fetched or decoded text. */
static bool risk_js_own_class(struct risk_scan *s, size_t i)
{
    size_t close;

    if (i < 2 || s->toks[i - 2].kind != TK_IDENT || i + 1 >= s->ntoks ||
        !risk_punct(&s->toks[i + 1], "("))
        return false;
    if (!risk_eq(&s->toks[i - 2], "this") && (i < 3 || !risk_eq(&s->toks[i - 3], "new")))
        return false;
    close = risk_close(s, i + 1, s->ntoks);
    for (size_t k = i + 2; k < close; k++)
        if (s->toks[k].kind == TK_STR)
            return false;
    return risk_classify(s, i + 2, close > i + 2 ? close - 1 : i + 2) == TAINT_NONE;
}

/* createRequire(...) at i makes a require: called at once (createRequire(f)('x')), its
 * argument is judged as require's; assigned (const r = ...createRequire(f)), the name
 * becomes an alias of require. */
static void risk_js_create_require(struct risk_scan *s, size_t i)
{
    size_t close = risk_close(s, i + 1, s->ntoks);
    size_t k = i;

    if (close < s->ntoks && risk_punct(&s->toks[close], "(")) {
        risk_js_require(s, close);
        return;
    }
    /* back over the statement to `name =` on its line */
    while (k > 1 && s->toks[k - 1].line == s->toks[i].line && !risk_punct(&s->toks[k - 1], ";") &&
           !(risk_punct(&s->toks[k - 1], "=") && s->toks[k - 2].kind == TK_IDENT))
        k--;
    if (k > 1 && risk_punct(&s->toks[k - 1], "=") && s->toks[k - 2].kind == TK_IDENT &&
        s->toks[k - 2].line == s->toks[i].line)
        risk_alias(s, &s->toks[k - 2], "require");
}

static void risk_js_rules(struct risk_scan *s)
{
    static const char *const evals[] = {"eval", "Function", "runInThisContext",
                                        "runInNewContext", "runInContext", "compileFunction",
                                        "Script", NULL};
    static const char *const globals[] = {"globalThis", "global", "window", "self", "this",
                                          NULL};
    static const char *const process_native[] = {"binding", "_linkedBinding", "dlopen", NULL};
    struct risk_loops loops = {0};

    for (size_t i = 0; i < s->ntoks && !s->err; i++) {
        const struct risk_tok *t = &s->toks[i];
        const struct risk_tok *prev = i ? &s->toks[i - 1] : NULL;
        const struct risk_tok *prev2 = i > 1 ? &s->toks[i - 2] : NULL;
        bool call = i + 1 < s->ntoks && risk_punct(&s->toks[i + 1], "(");
        bool member = prev && risk_punct(prev, ".");

        risk_loops_step(&loops, t);
        if (risk_literal_rules(s, i, true) || t->kind != TK_IDENT)
            continue;
        risk_ident_common(s, t);

        if (risk_eq(t, "require") && call &&
            (!member || (prev2 && (risk_eq(prev2, "module") || risk_eq(prev2, "mainModule")))))
            risk_js_require(s, i + 1);
        else if (risk_eq(t, "getBuiltinModule") && call && member && prev2 &&
                 risk_eq(prev2, "process"))
            risk_js_require(s, i + 1);
        else if (risk_eq(t, "createRequire") && call)
            risk_js_create_require(s, i);
        else if (risk_eq(t, "import") && call && !member)
            risk_js_require(s, i + 1);
        else if ((risk_eq(t, "import") || risk_eq(t, "export")) && !member && !call) {
            /* import x from 'm'; import {a as b} from 'm'; import 'm' */
            for (size_t k = i + 1; k < s->ntoks && k < i + 64; k++) {
                if (s->toks[k].kind == TK_STR) {
                    char mod[RISK_QUAL];
                    int pieces = risk_fold(s, k, k + 1, mod, sizeof(mod));

                    if (pieces)
                        risk_module_use(s, mod, strlen(mod), t->line, 1);
                    break;
                }
                if (risk_punct(&s->toks[k], ";"))
                    break;
            }
        } else if (risk_eq(t, "mainModule") && member) {
            risk_add(s, "dynamic_import", t->line, RISK_HIGH);
        } else if (risk_eq(t, "_load") && member && prev2 && risk_eq(prev2, "constructor")) {
            risk_add(s, "dynamic_import", t->line, RISK_HIGH);
        } else if (risk_tok_in(t, process_native) && member && prev2 &&
                   risk_eq(prev2, "process")) {
            risk_add(s, "native_code", t->line, RISK_HIGH);
        } else if (risk_eq(t, "constructor") && member && !risk_js_own_class(s, i) &&
                   ((i + 1 < s->ntoks && risk_punct(&s->toks[i + 1], "(")) ||
                    (i + 2 < s->ntoks && risk_punct(&s->toks[i + 1], ".") &&
                     risk_eq(&s->toks[i + 2], "constructor")))) {
            risk_add(s, "obfuscated_loader", t->line, RISK_HIGH);
            if (call)
                risk_eval_site(s, i + 1, t->line);
        } else if (risk_eq(t, "fetch") && call && !member) {
            risk_add(s, "network", t->line, RISK_MEDIUM);
        } else if ((risk_eq(t, "WebSocket") || risk_eq(t, "XMLHttpRequest")) && !member) {
            risk_add(s, "network", t->line, RISK_MEDIUM);
        } else if (risk_eq(t, "fork") && call && member) {
            /* cp.fork() in a loop spawns without end; a fork() method of the program's own
             * (repo.fork()) is nothing unless a module that spawns is loaded */
            if (risk_loops_inside(&loops) && s->has_spawn_module)
                risk_add(s, "fork_bomb", t->line, RISK_CRITICAL);
        } else if (risk_eq(t, "fromCharCode") && call) {
            size_t close = risk_close(s, i + 1, s->ntoks);
            size_t nums = 0;

            for (size_t k = i + 2; k < close; k++)
                nums += s->toks[k].kind == TK_NUM;
            if (nums >= 8)
                risk_add(s, "obfuscated_loader", t->line, RISK_MEDIUM);
        }

        if (call && risk_tok_in(t, evals) &&
            (!member || risk_eq(t, "runInThisContext") || risk_eq(t, "runInNewContext") ||
             risk_eq(t, "runInContext") || risk_eq(t, "compileFunction") ||
             (prev2 && risk_tok_in(prev2, globals))))
            risk_eval_site(s, i + 1, t->line);
        if (risk_eq(t, "Script") && prev && risk_eq(prev, "new") && call)
            risk_eval_site(s, i + 1, t->line);
        if (risk_eq(t, "Worker") && call) {
            /* new Worker(source, { eval: true }) runs its first argument as code */
            size_t close = risk_close(s, i + 1, s->ntoks);

            for (size_t k = i + 2; k + 2 < close; k++)
                if (risk_eq(&s->toks[k], "eval") && risk_punct(&s->toks[k + 1], ":") &&
                    risk_eq(&s->toks[k + 2], "true"))
                    risk_eval_site(s, i + 1, t->line);
        }

        /* const e = eval; */
        if (!member && i + 2 < s->ntoks && risk_punct(&s->toks[i + 1], "=") &&
            !risk_punct(&s->toks[i + 2], "=")) {
            const struct risk_tok *v = &s->toks[i + 2];
            bool bare = i + 3 >= s->ntoks || !risk_punct(&s->toks[i + 3], "(");

            if (v->kind == TK_IDENT && bare && (risk_eq(v, "eval") || risk_eq(v, "Function")))
                risk_alias(s, t, "eval");
            /* const g = globalThis: g['eval'] is a subscript of the globals */
            else if (v->kind == TK_IDENT && bare && risk_tok_in(v, risk_js_namespaces) &&
                     (i + 3 >= s->ntoks || !risk_punct(&s->toks[i + 3], "."))) {
                char ns[32];

                snprintf(ns, sizeof(ns), "%.*s", (int)v->len, v->p);
                risk_alias(s, t, ns);
            }
            risk_assignment(s, i, i + 1);
        }
        if (!member && i + 2 < s->ntoks && risk_punct(&s->toks[i + 1], "+") &&
            risk_punct(&s->toks[i + 2], "="))
            risk_assignment(s, i, i + 2);
        if (call && !member) {
            struct risk_name *a = risk_find(s->aliases, s->naliases, t->p, t->len);

            if (a && !strcmp(a->target, "eval"))
                risk_eval_site(s, i + 1, t->line);
            else if (a && !strcmp(a->target, "require"))
                risk_js_require(s, i + 1);
        }
    }
}

/* ==== C ==== */

static void risk_c_lex(struct risk_scan *s, const char *src, size_t n, uint32_t line)
{
    size_t i = 0;
    bool bol = true;

    while (i < n && !s->err) {
        unsigned char c = (unsigned char)src[i];

        if (c == '\n') {
            line++;
            i++;
            bol = true;
            continue;
        }
        if (risk_space(c) || c == '\\') {
            i++;
            continue;
        }
        if (risk_comment_at(src, n, i)) {
            i = risk_comment_skip(src, n, i, &line);
            continue;
        }
        if (c == '#' && bol) {
            size_t j = i + 1, k;

            risk_push(s, TK_PUNCT, src + i, 1, line, TF_DIRECTIVE, 0);
            while (j < n && risk_space((unsigned char)src[j]))
                j++;
            k = j;
            while (k < n && risk_ident_char((unsigned char)src[k]))
                k++;
            risk_push(s, TK_IDENT, src + j, k - j, line, 0, 0);
            i = k;
            if ((k - j == 7 && !memcmp(src + j, "include", 7)) ||
                (k - j == 6 && !memcmp(src + j, "import", 6))) {
                while (i < n && risk_space((unsigned char)src[i]))
                    i++;
                if (i < n && (src[i] == '<' || src[i] == '"')) {
                    char close = src[i] == '<' ? '>' : '"';
                    size_t e = i + 1;

                    while (e < n && src[e] != close && src[e] != '\n')
                        e++;
                    risk_push(s, TK_STR, src + i + 1, e - i - 1, line, 0, 0);
                    i = e < n && src[e] == close ? e + 1 : e;
                }
            }
            bol = false;
            continue;
        }
        bol = false;
        if (risk_ident_start(c)) {
            i = risk_lex_ident(s, src, n, i, line, false);
        } else if (c >= '0' && c <= '9') {
            i = risk_lex_number(s, src, n, i, line);
        } else if (c == '"' || c == '\'') {
            /* a character constant is a number */
            i = risk_lex_quoted(s, src, n, i, &line, c == '"' ? TK_STR : TK_NUM);
        } else {
            risk_push(s, TK_PUNCT, src + i, 1, line, 0, 0);
            i++;
        }
    }
}

static const struct risk_member risk_c_calls[] = {
    {"system", "process_spawn", RISK_HIGH}, {"popen", "process_spawn", RISK_HIGH},
    {"execl", "process_spawn", RISK_HIGH}, {"execlp", "process_spawn", RISK_HIGH},
    {"execle", "process_spawn", RISK_HIGH}, {"execv", "process_spawn", RISK_HIGH},
    {"execvp", "process_spawn", RISK_HIGH}, {"execvpe", "process_spawn", RISK_HIGH},
    {"execve", "process_spawn", RISK_HIGH}, {"execveat", "process_spawn", RISK_HIGH},
    {"fexecve", "process_spawn", RISK_HIGH}, {"posix_spawn", "process_spawn", RISK_HIGH},
    {"posix_spawnp", "process_spawn", RISK_HIGH}, {"vfork", "process_spawn", RISK_HIGH},
    {"clone", "process_spawn", RISK_HIGH}, {"clone3", "process_spawn", RISK_HIGH},
    {"socket", "network", RISK_MEDIUM}, {"gethostbyname", "network", RISK_MEDIUM},
    {"getaddrinfo", "network", RISK_MEDIUM}, {"inet_pton", "network", RISK_MEDIUM},
    {"inet_addr", "network", RISK_MEDIUM}, {"inet_aton", "network", RISK_MEDIUM},
    {"ptrace", "native_code", RISK_HIGH}, {"process_vm_readv", "native_code", RISK_HIGH},
    {"process_vm_writev", "native_code", RISK_HIGH}, {"dlopen", "native_code", RISK_MEDIUM},
    {"dlsym", "native_code", RISK_MEDIUM}, {"syscall", "native_code", RISK_MEDIUM},
    {"mprotect", "native_code", RISK_MEDIUM}, {"chroot", "fs_probe", RISK_HIGH},
    {"mount", "fs_probe", RISK_HIGH}, {"umount2", "fs_probe", RISK_HIGH},
    {"pivot_root", "fs_probe", RISK_HIGH}, {"nftw", "fs_probe", RISK_LOW},
    {NULL, NULL, RISK_NONE}};

/* `int system(const char *);`, `static tree *clone(tree *t)`: a name being declared or
 * defined, not called. */
static bool risk_c_declared(const struct risk_scan *s, size_t i)
{
    static const char *const not_types[] = {"return", "else", "do", "case", "sizeof", NULL};
    size_t k = i;

    while (k > 0 && risk_punct(&s->toks[k - 1], "*"))
        k--;
    return k > 0 && s->toks[k - 1].kind == TK_IDENT && !risk_tok_in(&s->toks[k - 1], not_types);
}

/* clone(2) always gets its flags: a clone() without CLONE_* or SIGCHLD is the program's own. */
static bool risk_c_clone_flags(const struct risk_scan *s, size_t open)
{
    size_t close = risk_close(s, open, s->ntoks);

    for (size_t k = open + 1; k < close; k++)
        if (s->toks[k].kind == TK_IDENT &&
            ((s->toks[k].len > 6 && !memcmp(s->toks[k].p, "CLONE_", 6)) ||
             risk_eq(&s->toks[k], "SIGCHLD")))
            return true;
    return false;
}

static void risk_c_rules(struct risk_scan *s)
{
    static const char *const asm_words[] = {"asm", "__asm__", "__asm", NULL};
    struct risk_loops loops = {0};

    for (size_t i = 0; i < s->ntoks && !s->err; i++) {
        const struct risk_tok *t = &s->toks[i];
        const struct risk_tok *prev = i ? &s->toks[i - 1] : NULL;
        bool call = i + 1 < s->ntoks && risk_punct(&s->toks[i + 1], "(");
        bool arrow = prev && risk_punct(prev, ">") && i > 1 && risk_punct(&s->toks[i - 2], "-");
        bool member = prev && (risk_punct(prev, ".") || arrow);

        risk_loops_step(&loops, t);
        if (t->kind == TK_PUNCT && (t->flags & TF_DIRECTIVE)) {
            if (i + 2 < s->ntoks && (risk_eq(&s->toks[i + 1], "include") ||
                                     risk_eq(&s->toks[i + 1], "import")) &&
                s->toks[i + 2].kind == TK_STR) {
                const struct risk_tok *h = &s->toks[i + 2];

                risk_module_use(s, h->p, h->len, h->line, 1);
                i += 2;
            }
            continue;
        }
        if (risk_literal_rules(s, i, false))
            continue;
        /* (void (*)()) buf: data called as code */
        if (risk_punct(t, "(") && i + 4 < s->ntoks && risk_eq(&s->toks[i + 1], "void") &&
            risk_punct(&s->toks[i + 2], "(") && risk_punct(&s->toks[i + 3], "*") &&
            risk_punct(&s->toks[i + 4], ")"))
            risk_add(s, "native_code", t->line, RISK_MEDIUM);
        if (t->kind != TK_IDENT)
            continue;
        risk_ident_common(s, t);
        risk_raw_ident(s, t);
        if (risk_tok_in(t, asm_words)) {
            risk_add(s, "native_code", t->line, RISK_MEDIUM);
            continue;
        }
        if (!call || member || risk_c_declared(s, i))
            continue;
        if (risk_eq(t, "clone") && !risk_c_clone_flags(s, i + 1))
            continue;
        if (risk_eq(t, "fork")) {
            risk_fork_call(s, t->line, risk_loops_inside(&loops));
            continue;
        }
        for (const struct risk_member *m = risk_c_calls; m->name; m++)
            if (risk_eq(t, m->name))
                risk_add(s, m->rule, t->line, m->severity);
    }
}

/* ==== Shell ==== */

struct risk_heredoc {
    char delim[64];
    size_t len;
    bool strip_tabs;
};

static bool risk_sh_op(unsigned char c)
{
    return c == '|' || c == '&' || c == ';' || c == '<' || c == '>' || c == '(' || c == ')';
}

static void risk_sh_lex(struct risk_scan *s, const char *src, size_t n, uint32_t line, int nest);

/* One word from i, its quotes and escapes removed; returns the index past it. A "$(" inside
 * double quotes is lexed again as commands. */
static size_t risk_sh_word(struct risk_scan *s, const char *src, size_t n, size_t i,
                           uint32_t *line, int nest, char *out, size_t *len, int *flags)
{
    size_t o = 0;

    *flags = 0;
    while (i < n) {
        unsigned char c = (unsigned char)src[i];

        if (risk_space(c) || c == '\n' || risk_sh_op(c) || c == '`')
            break;
        if (c == '$' && i + 1 < n && src[i + 1] == '(' && !(i + 2 < n && src[i + 2] == '('))
            break;
        if (c == '\\' && i + 1 < n) {
            if (src[i + 1] == '\n')
                (*line)++;
            else
                out[o++] = src[i + 1];
            i += 2;
        } else if (c == '\'' || (c == '$' && i + 1 < n && src[i + 1] == '\'')) {
            size_t j = i + (c == '$' ? 2 : 1);

            while (j < n && src[j] != '\'') {
                if (c == '$' && src[j] == '\\' && j + 1 < n)
                    out[o++] = src[j++];
                *line += src[j] == '\n';
                out[o++] = src[j++];
            }
            *flags |= TF_QUOTED;
            i = j < n ? j + 1 : n;
        } else if (c == '"') {
            size_t j = i + 1;
            uint32_t at = *line;
            bool nested = false;

            while (j < n && src[j] != '"') {
                if (src[j] == '\\' && j + 1 < n && strchr("\"\\$`\n", src[j + 1])) {
                    j++;
                    if (src[j] == '\n') {
                        (*line)++;
                        j++;
                        continue;
                    }
                } else if ((src[j] == '$' && j + 1 < n && src[j + 1] == '(') || src[j] == '`') {
                    nested = true;
                }
                *line += src[j] == '\n';
                out[o++] = src[j++];
            }
            if (nested && s->depth < RISK_MAX_DEPTH) {
                s->depth++;
                risk_sh_lex(s, src + i + 1, j - i - 1, at, nest + 1);
                s->depth--;
            }
            *flags |= TF_QUOTED;
            i = j < n ? j + 1 : n;
        } else {
            out[o++] = (char)c;
            i++;
            if (c == '$' && i < n && src[i] == '(') {
                /* $(( arithmetic )) stays in the word */
                int depth = 0;

                while (i < n && src[i] != '\n') {
                    depth += src[i] == '(';
                    depth -= src[i] == ')';
                    out[o++] = src[i++];
                    if (depth == 0)
                        break;
                }
            }
        }
    }
    *len = o;
    return i;
}

static size_t risk_sh_heredoc_body(struct risk_scan *s, const char *src, size_t n, size_t i,
                                   uint32_t *line, const struct risk_heredoc *h, int nest)
{
    size_t start = i;
    uint32_t first = *line;

    while (i < n) {
        size_t eol = i, k = i;

        while (eol < n && src[eol] != '\n')
            eol++;
        if (h->strip_tabs)
            while (k < eol && src[k] == '\t')
                k++;
        if (eol - k == h->len && !memcmp(src + k, h->delim, h->len)) {
            risk_push(s, TK_STR, src + start, i - start, first, TF_HEREDOC, nest);
            (*line)++;
            return eol < n ? eol + 1 : n;
        }
        (*line)++;
        i = eol < n ? eol + 1 : n;
    }
    risk_push(s, TK_STR, src + start, n - start, first, TF_HEREDOC, nest);
    return n;
}

static void risk_sh_lex(struct risk_scan *s, const char *src, size_t n, uint32_t line, int nest)
{
    struct risk_heredoc pending[8];
    size_t npending = 0, i = 0;
    int base = nest;
    bool backtick = false;
    char parens[64];
    size_t nparens = 0;
    /* a word never grows past the text it is made from */
    char *word = malloc(n + 1);

    if (!word) {
        s->err = -ENOMEM;
        return;
    }
    while (i < n && !s->err) {
        unsigned char c = (unsigned char)src[i];

        if (c == '\n') {
            risk_push(s, TK_PUNCT, src + i, 1, line, 0, nest);
            line++;
            i++;
            for (size_t h = 0; h < npending; h++)
                i = risk_sh_heredoc_body(s, src, n, i, &line, &pending[h], nest);
            npending = 0;
        } else if (risk_space(c)) {
            i++;
        } else if (c == '\\' && i + 1 < n && src[i + 1] == '\n') {
            i += 2;
            line++;
        } else if (c == '#') {
            while (i < n && src[i] != '\n')
                i++;
        } else if (c == '`') {
            if (backtick && nest > base)
                nest--;
            risk_push(s, TK_PUNCT, src + i, 1, line, backtick ? 0 : TF_CMD | TF_SUBST, nest);
            if (!backtick)
                nest++;
            backtick = !backtick;
            i++;
        } else if (c == '$' && i + 1 < n && src[i + 1] == '(' &&
                   !(i + 2 < n && src[i + 2] == '(')) {
            risk_push(s, TK_PUNCT, src + i + 1, 1, line, TF_CMD | TF_SUBST, nest);
            if (nparens < sizeof(parens))
                parens[nparens++] = 1;
            nest++;
            i += 2;
        } else if ((c == '<' || c == '>') && i + 1 < n && src[i + 1] == '(') {
            risk_push(s, TK_PUNCT, src + i + 1, 1, line, TF_CMD | TF_SUBST, nest);
            if (nparens < sizeof(parens))
                parens[nparens++] = 1;
            nest++;
            i += 2;
        } else if (c == '(') {
            risk_push(s, TK_PUNCT, src + i, 1, line, TF_CMD, nest);
            if (nparens < sizeof(parens))
                parens[nparens++] = 1;
            nest++;
            i++;
        } else if (c == ')') {
            if (nparens > 0) {
                nparens--;
                nest--;
            }
            risk_push(s, TK_PUNCT, src + i, 1, line, 0, nest);
            i++;
        } else if (c == '<' && i + 2 < n && src[i + 1] == '<' && src[i + 2] != '<') {
            /* <<DELIM, <<-DELIM, <<'DELIM': the body follows the line */
            size_t j = i + 2, wlen;
            int flags;
            struct risk_heredoc *h = npending < 8 ? &pending[npending] : NULL;
            bool strip = j < n && src[j] == '-';

            j += strip;
            while (j < n && risk_space((unsigned char)src[j]))
                j++;
            j = risk_sh_word(s, src, n, j, &line, nest, word, &wlen, &flags);
            if (h && wlen > 0 && wlen < sizeof(h->delim)) {
                memcpy(h->delim, word, wlen);
                h->len = wlen;
                h->strip_tabs = strip;
                npending++;
            }
            risk_push(s, TK_PUNCT, src + i, 2, line, 0, nest);
            i = j;
        } else if (risk_sh_op(c)) {
            size_t len = 1;

            if (i + 1 < n && (src[i + 1] == c || (c == '|' && src[i + 1] == '&') ||
                              (c == '&' && src[i + 1] == '>')))
                len = 2;
            risk_push(s, TK_PUNCT, src + i, len, line, 0, nest);
            i += len;
        } else {
            size_t len;
            int flags;
            uint32_t at = line;
            char *kept;

            i = risk_sh_word(s, src, n, i, &line, nest, word, &len, &flags);
            if (i < n && (src[i] == '`' || (src[i] == '$' && i + 1 < n && src[i + 1] == '(')))
                flags |= TF_GLUED;
            kept = risk_alloc(s, len + 1);
            if (!kept)
                break;
            memcpy(kept, word, len);
            if (len > 0 || flags)
                risk_push(s, TK_WORD, kept, len, at, flags, nest);
        }
    }
    free(word);
}

struct risk_sh_var {
    const char *name;
    size_t len;
    const char *value;
    size_t value_len;
};

struct risk_cmd {
    size_t at, end;       /* the command word, and the token past its last argument */
    char name[64];
    bool piped;           /* its input is the previous command's output */
    bool dynamic;         /* its name is a command substitution */
    int nest;
    uint32_t line;
};

static const char *const risk_sh_net[] = {
    "curl", "wget", "nc", "ncat", "netcat", "socat", "telnet", "ssh", "scp", "sftp", "ftp",
    "nmap", "dig", "nslookup", "host", "lynx", "aria2c", "fetch", "tftp", "rsync", "masscan",
    "busybox", NULL};
static const char *const risk_sh_shells[] = {
    "sh", "bash", "zsh", "dash", "ksh", "ash", "source", ".", "python", "python3", "perl",
    "node", "ruby", "php", "eval", "exec", NULL};
static const char *const risk_sh_wrappers[] = {
    "sudo", "env", "nohup", "command", "builtin", "time", "nice", "xargs", "timeout", "stdbuf",
    "setsid", "!", "then", "do", "else", "elif", "if", "while", "until", "{", NULL};
static const char *const risk_sh_inline[] = {"perl", "ruby", "php", "lua", "awk", "gawk",
                                             "mawk", "nawk", NULL};
/* What in inline perl/ruby/php/lua/awk code runs a command the script itself never names. */
static const char *const risk_sh_inline_spawn[] = {
    "system(", "system (", "system \"", "system '", "exec(", "exec \"", "popen(",
    "shell_exec(", "passthru(", "proc_open(", "qx(", "qx{", "qx/", "%x(", "%x{", "`",
    "| getline", "|getline", "|&", "spawn(", NULL};

static bool risk_sh_decoder(const struct risk_scan *s, const struct risk_cmd *c)
{
    bool decode_flag = false;

    for (size_t k = c->at + 1; k < c->end; k++) {
        const struct risk_tok *t = &s->toks[k];

        if (t->kind == TK_WORD && (risk_eq(t, "-d") || risk_eq(t, "--decode") ||
                                   risk_eq(t, "-D") || risk_eq(t, "-r") || risk_eq(t, "-rp") ||
                                   risk_eq(t, "-base64") || risk_eq(t, "base64")))
            decode_flag = true;
    }
    if (!strcmp(c->name, "base64") || !strcmp(c->name, "xxd") || !strcmp(c->name, "openssl") ||
        !strcmp(c->name, "base32"))
        return decode_flag;
    return !strcmp(c->name, "gunzip") || !strcmp(c->name, "zcat") || !strcmp(c->name, "rev") ||
           !strcmp(c->name, "uudecode");
}

/* The command name a word stands for: variables it names expanded, the path dropped. */
static void risk_sh_expand(const struct risk_tok *t, const struct risk_sh_var *vars,
                           size_t nvars, char *out, size_t cap)
{
    size_t o = 0;
    char *slash;

    for (size_t i = 0; i < t->len && o + 1 < cap;) {
        if (t->p[i] == '$' && i + 1 < t->len) {
            size_t j = i + 1, end;
            bool brace = t->p[j] == '{';

            j += brace;
            end = j;
            while (end < t->len && risk_ident_char((unsigned char)t->p[end]))
                end++;
            for (size_t v = nvars; v-- > 0;) {
                if (vars[v].len == end - j && !memcmp(vars[v].name, t->p + j, end - j)) {
                    size_t n = vars[v].value_len < cap - o - 1 ? vars[v].value_len
                                                               : cap - o - 1;

                    memcpy(out + o, vars[v].value, n);
                    o += n;
                    break;
                }
            }
            i = end + (brace && end < t->len && t->p[end] == '}');
            if (end == j)
                out[o++] = '$';
            continue;
        }
        out[o++] = t->p[i++];
    }
    out[o] = 0;
    slash = strrchr(out, '/');
    if (slash && slash[1])
        memmove(out, slash + 1, strlen(slash + 1) + 1);
}

static bool risk_sh_separator(const struct risk_tok *t)
{
    if (t->kind != TK_PUNCT)
        return false;
    return risk_eq(t, "\n") || risk_eq(t, ";") || risk_eq(t, "|") || risk_eq(t, "||") ||
           risk_eq(t, "&&") || risk_eq(t, "&") || risk_eq(t, "|&") || risk_eq(t, ";;") ||
           (t->flags & TF_CMD) || risk_eq(t, ")") || risk_eq(t, "`");
}

/* c fetches (net) or decodes (decode) the text it passes on. */
static void risk_sh_source(const struct risk_scan *s, const struct risk_cmd *c, bool *net,
                           bool *decode)
{
    if (risk_in(c->name, strlen(c->name), risk_sh_net))
        *net = true;
    if (risk_sh_decoder(s, c))
        *decode = true;
}

/* Commands nested in c's arguments (or its name's substitution): one of them fetches or
 * decodes. */
static void risk_sh_nested(const struct risk_scan *s, const struct risk_cmd *cmds, size_t ncmds,
                           size_t ci, bool *net, bool *decode)
{
    const struct risk_cmd *c = &cmds[ci];

    /* a bounded look: fetch-and-run is written close to the shell that runs it */
    for (size_t k = ci + 1; k < ncmds && k <= ci + 64 && cmds[k].nest > c->nest; k++) {
        if (!c->dynamic && cmds[k].at >= c->end)
            break;
        risk_sh_source(s, &cmds[k], net, decode);
    }
}

static void risk_sh_embedded(struct risk_scan *s, const struct risk_cmd *c)
{
    enum risk_lang lang;
    const char *flag;

    if (!strncmp(c->name, "python", 6)) {
        lang = LANG_PYTHON;
        flag = "-c";
    } else if (!strcmp(c->name, "node") || !strcmp(c->name, "nodejs")) {
        lang = LANG_NODE;
        flag = "-e";
    } else if (!strcmp(c->name, "sh") || !strcmp(c->name, "bash") || !strcmp(c->name, "dash") ||
               !strcmp(c->name, "zsh")) {
        lang = LANG_SH;
        flag = "-c";
    } else {
        return;
    }
    if (s->depth >= RISK_MAX_DEPTH)
        return;
    /* python3 - <<EOF: the body comes after the command's line */
    for (size_t k = c->at + 1; k < c->end; k++) {
        if (!risk_punct(&s->toks[k], "<<"))
            continue;
        for (size_t h = c->end; h < s->ntoks; h++) {
            if (s->toks[h].flags & TF_HEREDOC) {
                risk_scan_source(lang, s->toks[h].p, s->toks[h].len, s->toks[h].line,
                                 s->denied, s->report, s->depth + 1, &s->err);
                break;
            }
        }
        break;
    }
    for (size_t k = c->at + 1; k < c->end; k++) {
        const struct risk_tok *t = &s->toks[k];
        bool code =
                    (k > c->at + 1 && s->toks[k - 1].kind == TK_WORD &&
                     risk_eq(&s->toks[k - 1], flag) &&
                     t->kind == TK_WORD);

        if (code)
            risk_scan_source(lang, t->p, t->len, t->line, s->denied, s->report, s->depth + 1,
                             &s->err);
    }
}

/* The constant commands in inline code's system("...") calls, scanned as shell code: so that
 * awk 'BEGIN { system("curl ... | sh") }' is judged as the pipeline it runs. */
static void risk_sh_inline_commands(struct risk_scan *s, const struct risk_tok *t)
{
    const char *end = t->p + t->len;

    if (s->depth >= RISK_MAX_DEPTH)
        return;
    for (const char *p = t->p; p + 8 <= end; p++) {
        const char *q, *from;

        if (memcmp(p, "system", 6))
            continue;
        q = p + 6;
        while (q < end && (*q == ' ' || *q == '(' || *q == '\t'))
            q++;
        if (q >= end || (*q != '"' && *q != '\''))
            continue;
        from = ++q;
        while (q < end && *q != from[-1])
            q += *q == '\\' && q + 1 < end ? 2 : 1;
        if (q > end)
            q = end;
        risk_scan_source(LANG_SH, from, (size_t)(q - from), t->line, s->denied, s->report,
                         s->depth + 1, &s->err);
        p = q < end ? q : end - 1;
    }
}

static void risk_sh_command(struct risk_scan *s, struct risk_cmd *cmds, size_t ncmds, size_t ci)
{
    struct risk_cmd *c = &cmds[ci];
    size_t len = strlen(c->name);
    bool net = false, decode = false;

    if (risk_in(c->name, len, risk_sh_net))
        risk_add(s, "network", c->line, !strcmp(c->name, "host") ? RISK_LOW : RISK_MEDIUM);
    if (risk_sh_decoder(s, c))
        risk_add(s, "obfuscated_loader", c->line, RISK_LOW);

    /* curl ... | sh; echo ... | base64 -d | bash */
    if (c->piped && risk_in(c->name, len, risk_sh_shells)) {
        for (size_t k = ci; k-- > 0 && k + 64 > ci && cmds[k + 1].piped;) {
            if (cmds[k].nest == c->nest)
                risk_sh_source(s, &cmds[k], &net, &decode);
        }
    }
    /* bash <(curl ...), sh -c "$(wget ...)", eval "$(echo ... | base64 -d)", $(...) as a name */
    if (c->dynamic || risk_in(c->name, len, risk_sh_shells))
        risk_sh_nested(s, cmds, ncmds, ci, &net, &decode);
    if (decode)
        risk_add(s, "obfuscated_loader", c->line, RISK_CRITICAL);
    else if (net)
        risk_add(s, "eval_fetched", c->line, RISK_CRITICAL);
    else if (c->dynamic)
        risk_add(s, "obfuscated_loader", c->line, RISK_MEDIUM);
    else if (strchr(c->name, '$') || !strcmp(c->name, "eval"))
        risk_add(s, "dynamic_eval", c->line, RISK_LOW);

    if (!strcmp(c->name, "find") || !strcmp(c->name, "ls") || !strcmp(c->name, "du") ||
        !strcmp(c->name, "tree") || !strcmp(c->name, "grep") || !strcmp(c->name, "locate")) {
        for (size_t k = c->at + 1; k < c->end; k++)
            if (s->toks[k].kind == TK_WORD && risk_eq(&s->toks[k], "/"))
                risk_add(s, "fs_probe", c->line, RISK_MEDIUM);
    }
    if (risk_in(c->name, len, risk_sh_inline)) {
        for (size_t k = c->at + 1; k < c->end; k++) {
            const struct risk_tok *t = &s->toks[k];

            if (t->kind == TK_WORD && (risk_has(t->p, t->len, "socket") ||
                                       risk_has(t->p, t->len, "/inet/tcp") ||
                                       risk_has(t->p, t->len, "fsockopen")))
                risk_add(s, "network", c->line, RISK_HIGH);
            /* awk 'BEGIN { system("id") }': a command hidden from the script's own rules */
            bool maybe = t->kind == TK_WORD && (memchr(t->p, '(', t->len) ||
                                                memchr(t->p, '`', t->len) ||
                                                memchr(t->p, '|', t->len) ||
                                                memmem(t->p, t->len, "system", 6));

            for (const char *const *m = risk_sh_inline_spawn; maybe && *m; m++) {
                if (memmem(t->p, t->len, *m, strlen(*m))) {
                    risk_add(s, "process_spawn", c->line, RISK_MEDIUM);
                    risk_sh_inline_commands(s, t);
                    break;
                }
            }
        }
    }
    risk_sh_embedded(s, c);
}

/* name() { name | name & }; and bash "$0" & in a loop */
static void risk_sh_fork_bomb(struct risk_scan *s)
{
    for (size_t i = 0; i + 3 < s->ntoks; i++) {
        const struct risk_tok *name = &s->toks[i];
        size_t calls = 0;
        bool spread = false;

        if (name->kind != TK_WORD || !risk_punct(&s->toks[i + 1], "(") ||
            !risk_punct(&s->toks[i + 2], ")"))
            continue;
        for (size_t k = i + 3; k < s->ntoks && k < i + 40; k++) {
            const struct risk_tok *t = &s->toks[k];

            if (t->kind == TK_WORD && t->len == name->len && !memcmp(t->p, name->p, t->len))
                calls++;
            if (risk_punct(t, "|") || risk_punct(t, "&"))
                spread = true;
            if (t->kind == TK_WORD && risk_eq(t, "}"))
                break;
        }
        if (calls >= 2 && spread)
            risk_add(s, "fork_bomb", name->line, RISK_CRITICAL);
    }
    for (size_t i = 0; i + 1 < s->ntoks; i++) {
        const struct risk_tok *t = &s->toks[i];

        if (t->kind == TK_WORD && risk_eq(t, "$0") && risk_punct(&s->toks[i + 1], "&"))
            risk_add(s, "fork_bomb", t->line, RISK_HIGH);
    }
}

/* Commands whose arguments are still being read, innermost last. */
struct risk_sh_open {
    size_t *at;
    size_t n, cap;
};

/* A separator at nest ends every open command at that nest or deeper. */
static void risk_sh_end(struct risk_cmd *cmds, struct risk_sh_open *open, size_t at, int nest)
{
    while (open->n > 0 && cmds[open->at[open->n - 1]].nest >= nest)
        cmds[open->at[--open->n]].end = at;
}

static int risk_sh_open_push(struct risk_sh_open *open, size_t cmd)
{
    if (open->n == open->cap) {
        size_t cap = open->cap ? open->cap * 2 : 64;
        size_t *grown = realloc(open->at, cap * sizeof(*grown));

        if (!grown)
            return -ENOMEM;
        open->at = grown;
        open->cap = cap;
    }
    open->at[open->n++] = cmd;
    return 0;
}

static int risk_sh_grow(struct risk_cmd **cmds, size_t *cap, size_t need)
{
    struct risk_cmd *grown;
    size_t ncap = *cap ? *cap : 64;

    if (need <= *cap)
        return 0;
    while (ncap < need)
        ncap *= 2;
    grown = realloc(*cmds, ncap * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    *cmds = grown;
    *cap = ncap;
    return 0;
}

static bool risk_sh_assignment(const struct risk_tok *t)
{
    const char *eq;

    if ((t->flags & TF_QUOTED) || t->len < 2 || !risk_ident_start((unsigned char)t->p[0]))
        return false;
    eq = memchr(t->p, '=', t->len);
    if (!eq)
        return false;
    for (const char *q = t->p; q < eq; q++)
        if (!risk_ident_char((unsigned char)*q))
            return false;
    return true;
}

static void risk_sh_rules(struct risk_scan *s)
{
    struct risk_sh_var vars[RISK_SH_VARS];
    size_t nvars = 0, ncmds = 0, cap = 0, unset = s->ntoks;
    struct risk_cmd *cmds = NULL;
    struct risk_sh_open open = {0};
    bool at_cmd = true, piped = false, wrapped = false, subst_first = false;

    for (size_t i = 0; i < s->ntoks && !s->err; i++) {
        const struct risk_tok *t = &s->toks[i];

        if (t->kind == TK_WORD || t->kind == TK_STR)
            risk_text(s, t->p, t->len, t->line);
        if (risk_sh_separator(t)) {
            /* an opening $( ( ` ends nothing; a closing one ends what was inside it */
            if (!(t->flags & TF_CMD))
                risk_sh_end(cmds, &open, i, t->nest + (risk_eq(t, ")") || risk_eq(t, "`")));
            if (risk_sh_grow(&cmds, &cap, ncmds + 1)) {
                s->err = -ENOMEM;
                break;
            }
            /* $( ... ) where a command name goes: the name is the substitution's output */
            if ((t->flags & TF_SUBST) && at_cmd && !(i > 0 && (s->toks[i - 1].flags & TF_GLUED))) {
                if (risk_sh_open_push(&open, ncmds)) {
                    s->err = -ENOMEM;
                    break;
                }
                cmds[ncmds++] = (struct risk_cmd){.at = i, .end = unset, .dynamic = true,
                                                  .nest = t->nest, .line = t->line,
                                                  .piped = piped, .name = "$("};
                subst_first = true;
            }
            piped = risk_eq(t, "|") || risk_eq(t, "|&");
            at_cmd = !(risk_eq(t, ")") || risk_eq(t, "`")) || !subst_first;
            if (risk_eq(t, ")") || risk_eq(t, "`"))
                subst_first = false;
            wrapped = false;
            continue;
        }
        if (t->kind != TK_WORD || !at_cmd)
            continue;
        if (risk_sh_assignment(t)) {
            const char *eq = memchr(t->p, '=', t->len);

            if (nvars < RISK_SH_VARS)
                vars[nvars++] = (struct risk_sh_var){
                    .name = t->p, .len = (size_t)(eq - t->p), .value = eq + 1,
                    .value_len = t->len - (size_t)(eq - t->p) - 1};
            continue;
        }
        if (risk_tok_in(t, risk_sh_wrappers)) {
            wrapped = true;
            continue;
        }
        if (wrapped && t->len > 0 && (t->p[0] == '-' || (t->p[0] >= '0' && t->p[0] <= '9')))
            continue;
        if (risk_sh_grow(&cmds, &cap, ncmds + 1) || risk_sh_open_push(&open, ncmds)) {
            s->err = -ENOMEM;
            break;
        }
        cmds[ncmds] = (struct risk_cmd){.at = i, .end = unset, .piped = piped, .nest = t->nest,
                                        .line = t->line};
        risk_sh_expand(t, vars, nvars, cmds[ncmds].name, sizeof(cmds[ncmds].name));
        ncmds++;
        at_cmd = false;
        piped = false;
        wrapped = false;
    }

    /* arguments past RISK_SPAN / 8 tokens are not read: an unclosed command costs no more */
    for (size_t k = 0; k < ncmds; k++)
        if (cmds[k].end - cmds[k].at > RISK_SPAN / 8)
            cmds[k].end = cmds[k].at + RISK_SPAN / 8;
    for (size_t k = 0; k < ncmds && !s->err; k++)
        risk_sh_command(s, cmds, ncmds, k);
    risk_sh_fork_bomb(s);
    free(open.at);
    free(cmds);
}

/* ==== Entry ==== */

static void risk_scan_source(enum risk_lang lang, const char *src, size_t n, uint32_t line,
                             const char *const *denied, struct risk_report *report, int depth,
                             int *err)
{
    struct risk_scan *s = calloc(1, sizeof(*s));

    if (!s) {
        *err = -ENOMEM;
        return;
    }
    s->lang = lang;
    s->denied = denied;
    s->report = report;
    s->depth = depth;

    switch (lang) {
    case LANG_PYTHON:
        risk_py_lex(s, src, n, line);
        risk_py_rules(s);
        break;
    case LANG_NODE:
        risk_js_lex(s, src, n, line);
        risk_js_rules(s);
        break;
    case LANG_C:
        risk_c_lex(s, src, n, line);
        risk_c_rules(s);
        break;
    case LANG_SH:
        risk_sh_lex(s, src, n, line, 0);
        risk_sh_rules(s);
        break;
    }
    if (lang != LANG_SH) {
        risk_eval_judge(s);
        risk_mining_loop(s);
    }
    if (s->unpickle_line && s->has_pickle_payload)
        risk_add(s, "obfuscated_loader", s->unpickle_line, RISK_CRITICAL);
    if (s->err)
        *err = s->err;

    free(s->toks);
    while (s->chunks) {
        struct risk_chunk *next = s->chunks->next;

        free(s->chunks);
        s->chunks = next;
    }
    free(s);
}

int risk_scan(const char *language, const uint8_t *source, size_t size,
              const char *const *denied_modules, struct risk_report *report)
{
    enum risk_lang lang;
    int err = 0;

    if (!language || (!source && size))
        return 0;
    if (!strcmp(language, "python") || !strcmp(language, "python3"))
        lang = LANG_PYTHON;
    else if (!strcmp(language, "node") || !strcmp(language, "javascript") ||
             !strcmp(language, "js"))
        lang = LANG_NODE;
    else if (!strcmp(language, "c") || !strcmp(language, "cpp"))
        lang = LANG_C;
    else if (!strcmp(language, "sh") || !strcmp(language, "bash"))
        lang = LANG_SH;
    else
        return 0;

    risk_scan_source(lang, (const char *)source, size, 1, denied_modules, report, 0, &err);
    return err;
}

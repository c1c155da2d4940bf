/* Decoding a job message. The bytes come from any client that can write to Redis, so nothing
 * here trusts them: every type is checked before use, every count is bounded before anything
 * is allocated for it, and every problem becomes a sentence in reject_reason rather than a
 * crash or a silent default. */
#include "job.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "cleanup.h"
#include "utf8.h"

#define JOB_ID_MAX 128
#define JOB_TENANT_MAX 64
#define JOB_PATH_MAX 255
#define JOB_LANGUAGE_MAX 64

/* msgpack-c refuses to open a container, even an empty one, once its parse stack holds this
 * many (MSGPACK_EMBED_STACK_SIZE, fixed when the library is built); the scan applies the same
 * bound first so that the client gets a precise reason. */
#define JOB_DEPTH_MAX 32

/* An oversized message is read for its id and tenant only when it holds few elements and
 * is at most JOB_OVERSIZE_PARSE_FACTOR times max_job_bytes: the parser allocates per element
 * and copies every string, and the point of the size cap is to bound that work. */
#define JOB_OVERSIZE_ELEMENTS_MAX 65536
#define JOB_OVERSIZE_PARSE_FACTOR 2

/* How much of a client value is quoted back in a reject reason. */
#define JOB_EXCERPT_MAX 64

/* The top-level fields, in the order they are checked. */
enum job_field {
    JOB_FIELD_ID,
    JOB_FIELD_TENANT,
    JOB_FIELD_META,
    JOB_FIELD_LANGUAGE,
    JOB_FIELD_SOURCE,
    JOB_FIELD_FILES,
    JOB_FIELD_MAIN,
    JOB_FIELD_STDIN,
    JOB_FIELD_ARGS,
    JOB_FIELD_LIMITS,
    JOB_FIELD_MAX_ATTEMPTS,
    JOB_FIELD_DEADLINE,
    JOB_FIELD_COUNT,
};

static const char *const job_field_names[JOB_FIELD_COUNT] = {
    "id", "tenant", "meta", "language", "source", "files", "main", "stdin", "args", "limits",
    "max_attempts", "deadline",
};

static void job_freep(struct job **job)
{
    job_free(*job);
}

#define _cleanup_job_ __attribute__((cleanup(job_freep)))

/* ==== Structural scan ==== */

/* What the bytes after a type byte mean. */
enum mp_length_kind {
    MP_DATA,  /* skip that many bytes */
    MP_ARRAY, /* that many elements follow */
    MP_MAP,   /* twice that many elements follow */
};

struct mp_header {
    uint8_t length_bytes;    /* size of the big-endian length that follows the type byte */
    uint8_t fixed;           /* bytes to skip besides the length's own value */
    uint8_t kind;            /* enum mp_length_kind */
    bool valid;
    uint64_t inline_length;  /* length carried in the type byte itself (fix types) */
};

/* Type bytes 0xc0 to 0xdf, indexed from 0xc0. The one left out, 0xc1, is never used. */
static const struct mp_header mp_headers_c0[32] = {
    [0x00] = { 0, 0, MP_DATA, true },   /* nil */
    [0x02] = { 0, 0, MP_DATA, true },   /* false */
    [0x03] = { 0, 0, MP_DATA, true },   /* true */
    [0x04] = { 1, 0, MP_DATA, true },   /* bin8 */
    [0x05] = { 2, 0, MP_DATA, true },   /* bin16 */
    [0x06] = { 4, 0, MP_DATA, true },   /* bin32 */
    [0x07] = { 1, 1, MP_DATA, true },   /* ext8: length, type byte, data */
    [0x08] = { 2, 1, MP_DATA, true },   /* ext16 */
    [0x09] = { 4, 1, MP_DATA, true },   /* ext32 */
    [0x0a] = { 0, 4, MP_DATA, true },   /* float32 */
    [0x0b] = { 0, 8, MP_DATA, true },   /* float64 */
    [0x0c] = { 0, 1, MP_DATA, true },   /* uint8 */
    [0x0d] = { 0, 2, MP_DATA, true },   /* uint16 */
    [0x0e] = { 0, 4, MP_DATA, true },   /* uint32 */
    [0x0f] = { 0, 8, MP_DATA, true },   /* uint64 */
    [0x10] = { 0, 1, MP_DATA, true },   /* int8 */
    [0x11] = { 0, 2, MP_DATA, true },   /* int16 */
    [0x12] = { 0, 4, MP_DATA, true },   /* int32 */
    [0x13] = { 0, 8, MP_DATA, true },   /* int64 */
    [0x14] = { 0, 2, MP_DATA, true },   /* fixext1: type byte, then data */
    [0x15] = { 0, 3, MP_DATA, true },   /* fixext2 */
    [0x16] = { 0, 5, MP_DATA, true },   /* fixext4 */
    [0x17] = { 0, 9, MP_DATA, true },   /* fixext8 */
    [0x18] = { 0, 17, MP_DATA, true },  /* fixext16 */
    [0x19] = { 1, 0, MP_DATA, true },   /* str8 */
    [0x1a] = { 2, 0, MP_DATA, true },   /* str16 */
    [0x1b] = { 4, 0, MP_DATA, true },   /* str32 */
    [0x1c] = { 2, 0, MP_ARRAY, true },  /* array16 */
    [0x1d] = { 4, 0, MP_ARRAY, true },  /* array32 */
    [0x1e] = { 2, 0, MP_MAP, true },    /* map16 */
    [0x1f] = { 4, 0, MP_MAP, true },    /* map32 */
};

/* Decodes the type byte b. Returns 0, or -EBADMSG for 0xc1. */
static int mp_header_of(uint8_t b, struct mp_header *h)
{
    *h = (struct mp_header){ .kind = MP_DATA, .valid = true };

    if (b <= 0x7f || b >= 0xe0)
        return 0; /* fixints */

    if (b <= 0x8f)
        *h = (struct mp_header){ .kind = MP_MAP, .valid = true, .inline_length = b & 0x0f };
    else if (b <= 0x9f)
        *h = (struct mp_header){ .kind = MP_ARRAY, .valid = true, .inline_length = b & 0x0f };
    else if (b <= 0xbf)
        *h = (struct mp_header){ .kind = MP_DATA, .valid = true, .inline_length = b & 0x1f };
    else
        *h = mp_headers_c0[b - 0xc0];

    return h->valid ? 0 : -EBADMSG;
}

/* Walks one msgpack object at the start of data without allocating: msgpack-c reserves room
 * for a container's declared element count before it has seen the elements, so a five-byte
 * message declaring four billion of them must be refused before it reaches the parser.
 * Returns 0 with the object's end offset and element count, -EBADMSG when it is malformed
 * or cut short, -ELOOP when it nests deeper than JOB_DEPTH_MAX. */
static int mp_scan(const uint8_t *data, size_t size, size_t *ret_end, uint64_t *ret_elements)
{
    uint64_t remaining[JOB_DEPTH_MAX + 1];
    uint64_t elements = 0;
    size_t off = 0;
    int depth = 0;

    remaining[0] = 1;
    while (depth >= 0) {
        struct mp_header h;
        uint64_t length;
        uint64_t children = 0;

        if (remaining[depth] == 0) {
            depth--;
            continue;
        }
        remaining[depth]--;

        if (off >= size || mp_header_of(data[off], &h) < 0)
            return -EBADMSG;
        off++;
        elements++;

        if (h.length_bytes > size - off)
            return -EBADMSG;
        length = h.inline_length;
        for (size_t i = 0; i < h.length_bytes; i++)
            length = (length << 8) | data[off + i];
        off += h.length_bytes;

        if (h.kind == MP_DATA) {
            if (h.fixed > size - off || length > size - off - h.fixed)
                return -EBADMSG;
            off += h.fixed + (size_t)length;
            continue;
        }

        /* Each element takes at least one byte: a count above the bytes left is a lie. */
        children = h.kind == MP_MAP ? 2 * length : length;
        if (children > size - off)
            return -EBADMSG;
        if (depth + 1 > JOB_DEPTH_MAX)
            return -ELOOP;
        if (children > 0)
            remaining[++depth] = children;
    }

    *ret_end = off;
    *ret_elements = elements;
    return 0;
}

/* ==== Helpers ==== */

/* Sets the reject reason unless one is set already: the first problem found is the one the
 * client hears about. Returns 0 or -ENOMEM. */
static int job_reject(struct job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int job_reject(struct job *job, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (job->reject_reason)
        return 0;

    va_start(ap, fmt);
    n = vasprintf(&job->reject_reason, fmt, ap);
    va_end(ap);

    if (n < 0) {
        job->reject_reason = NULL;
        return -ENOMEM;
    }
    return 0;
}

/* A printable excerpt of client bytes for a reject reason: at most JOB_EXCERPT_MAX bytes,
 * anything outside printable ASCII shown as '?', "..." when cut. */
static const char *job_excerpt(char buf[JOB_EXCERPT_MAX + 4], const char *ptr, size_t len)
{
    size_t n = len < JOB_EXCERPT_MAX ? len : JOB_EXCERPT_MAX;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)ptr[i];

        buf[i] = (c >= 0x20 && c < 0x7f && c != '\'') ? (char)c : '?';
    }
    if (len > n) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

static bool is_bytes(const msgpack_object *obj)
{
    return obj->type == MSGPACK_OBJECT_STR || obj->type == MSGPACK_OBJECT_BIN;
}

static const char *bytes_ptr(const msgpack_object *obj)
{
    return obj->type == MSGPACK_OBJECT_STR ? obj->via.str.ptr : obj->via.bin.ptr;
}

static size_t bytes_size(const msgpack_object *obj)
{
    return obj->type == MSGPACK_OBJECT_STR ? obj->via.str.size : obj->via.bin.size;
}

static bool str_equals(const msgpack_object *obj, const char *text)
{
    size_t len = strlen(text);

    return obj->type == MSGPACK_OBJECT_STR && obj->via.str.size == len &&
           memcmp(obj->via.str.ptr, text, len) == 0;
}

/* A copy of len bytes, NUL-terminated so that text fields can be used as C strings. */
static void *bytes_dup(const char *ptr, size_t len)
{
    char *copy = malloc(len + 1);

    if (!copy)
        return NULL;
    if (len > 0)
        memcpy(copy, ptr, len);
    copy[len] = '\0';
    return copy;
}

static int replace_string(char **field, const char *ptr, size_t len)
{
    char *copy = bytes_dup(ptr, len);

    if (!copy)
        return -ENOMEM;
    free(*field);
    *field = copy;
    return 0;
}

static bool chars_valid(const char *ptr, size_t len, size_t max, const char *extra)
{
    if (len == 0 || len > max)
        return false;

    for (size_t i = 0; i < len; i++) {
        char c = ptr[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c != '\0' && strchr(extra, c))))
            return false;
    }
    return true;
}

bool job_id_valid(const char *id)
{
    return id && chars_valid(id, strlen(id), JOB_ID_MAX, "._:-");
}

/* Why a file path from a client is refused, or NULL when it is acceptable. The sandbox
 * creates these paths under the workspace: none may reach outside it. */
static const char *path_problem(const char *ptr, size_t len)
{
    size_t start = 0;

    if (len == 0)
        return "is empty";
    if (len > JOB_PATH_MAX)
        return "is longer than 255 bytes";
    if (memchr(ptr, '\0', len))
        return "contains a NUL byte";
    if (!utf8_valid(ptr, len))
        return "is not UTF-8";
    if (ptr[0] == '/')
        return "is absolute";
    /* The entry file's path is handed to an interpreter or compiler, which would read a
     * leading '-' as an option of its own (python3 -m, gcc @file). */
    if (ptr[0] == '-')
        return "starts with '-'";

    while (start <= len) {
        const char *slash = memchr(ptr + start, '/', len - start);
        size_t end = slash ? (size_t)(slash - ptr) : len;
        size_t part = end - start;

        if (part == 0)
            return "has an empty component";
        if (part == 1 && ptr[start] == '.')
            return "has a '.' component";
        if (part == 2 && ptr[start] == '.' && ptr[start + 1] == '.')
            return "has a '..' component";
        start = end + 1;
    }
    return NULL;
}

/* ==== Fields ==== */

struct job_reader {
    struct job *job;
    const struct ccx_config *config;
    bool oversized;                  /* the message is over max_job_bytes */
    const struct language *language;
    const msgpack_object *fields[JOB_FIELD_COUNT];
};

/* A top-level field's value, or NULL when absent. nil counts as absent, so that clients may
 * send every key with a null default. */
static const msgpack_object *reader_field(const struct job_reader *reader, enum job_field f)
{
    const msgpack_object *obj = reader->fields[f];

    return obj && obj->type != MSGPACK_OBJECT_NIL ? obj : NULL;
}

/* Collects the known top-level fields. Unknown keys are skipped so that newer clients can
 * talk to older workers; a known key given twice is refused, since which copy wins would be
 * up to the decoder. */
static int reader_collect(struct job_reader *reader, const msgpack_object_map *map)
{
    for (uint32_t i = 0; i < map->size; i++) {
        const msgpack_object_kv *kv = &map->ptr[i];

        for (int f = 0; f < JOB_FIELD_COUNT; f++) {
            if (!str_equals(&kv->key, job_field_names[f]))
                continue;

            if (reader->fields[f])
                return job_reject(reader->job, "field '%s' appears twice", job_field_names[f]);
            reader->fields[f] = &kv->val;
            break;
        }
    }
    return 0;
}

static int reader_id(struct job_reader *reader)
{
    const msgpack_object *obj = reader_field(reader, JOB_FIELD_ID);

    if (!obj)
        return 0;

    if (obj->type != MSGPACK_OBJECT_STR ||
        !chars_valid(obj->via.str.ptr, obj->via.str.size, JOB_ID_MAX, "._:-"))
        return job_reject(reader->job,
                          "id must be a string of 1 to 128 characters from A-Z a-z 0-9 . _ : -");

    return replace_string(&reader->job->id, obj->via.str.ptr, obj->via.str.size);
}

static int reader_tenant(struct job_reader *reader)
{
    const msgpack_object *obj = reader_field(reader, JOB_FIELD_TENANT);

    if (!obj)
        return 0;

    if (obj->type != MSGPACK_OBJECT_STR ||
        !chars_valid(obj->via.str.ptr, obj->via.str.size, JOB_TENANT_MAX, "._-"))
        return job_reject(reader->job,
                          "tenant must be a string of 1 to 64 characters from A-Z a-z 0-9 . _ -");

    return replace_string(&reader->job->tenant, obj->via.str.ptr, obj->via.str.size);
}

/* Keeps meta as msgpack bytes, re-encoded from the parsed value: it is echoed back untouched
 * and never interpreted. */
static int reader_meta(struct job_reader *reader)
{
    const msgpack_object *obj = reader->fields[JOB_FIELD_META];
    _cleanup_sbuffer_ msgpack_sbuffer sbuffer;
    msgpack_packer packer;

    msgpack_sbuffer_init(&sbuffer);
    if (!obj)
        return 0;

    msgpack_packer_init(&packer, &sbuffer, msgpack_sbuffer_write);
    if (msgpack_pack_object(&packer, *obj) < 0)
        return -ENOMEM;

    reader->job->meta_size = sbuffer.size;
    reader->job->meta = (uint8_t *)msgpack_sbuffer_release(&sbuffer);
    return 0;
}

/* The known languages, "python, node, c, sh", for the unknown-language reason. */
static void language_list(const struct ccx_config *config, char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < config->language_count && len < size; i++) {
        int n = snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
                         config->languages[i].name);

        if (n < 0)
            break;
        len += (size_t)n;
    }
}

static int reader_language(struct job_reader *reader)
{
    const msgpack_object *obj = reader_field(reader, JOB_FIELD_LANGUAGE);
    struct job *job = reader->job;
    char excerpt[JOB_EXCERPT_MAX + 4];
    char known[512];
    int r;

    if (!obj)
        return job_reject(job, "language is missing");
    if (obj->type != MSGPACK_OBJECT_STR)
        return job_reject(job, "language must be a string");

    /* Kept for the result even when unknown, when it is short, UTF-8 and free of NULs. */
    if (obj->via.str.size <= JOB_LANGUAGE_MAX &&
        !memchr(obj->via.str.ptr, '\0', obj->via.str.size) &&
        utf8_valid(obj->via.str.ptr, obj->via.str.size)) {
        r = replace_string(&job->language, obj->via.str.ptr, obj->via.str.size);
        if (r < 0)
            return r;
    }

    if (job->language)
        reader->language = config_language(reader->config, job->language);
    if (reader->language)
        return 0;

    language_list(reader->config, known, sizeof(known));
    return job_reject(job, "unknown language '%s' (known: %s)",
                      job_excerpt(excerpt, obj->via.str.ptr, obj->via.str.size), known);
}

static int job_add_file(struct job *job, const char *path, size_t path_len, const char *data,
                        size_t size)
{
    struct job_file *file = &job->files[job->file_count];

    file->path = bytes_dup(path, path_len);
    file->data = bytes_dup(data, size);
    file->size = size;
    job->file_count++;

    if (!file->path || !file->data)
        return -ENOMEM;
    return 0;
}

static int file_path_compare(const void *a, const void *b)
{
    const struct job_file *const *fa = a;
    const struct job_file *const *fb = b;

    return strcmp((*fa)->path, (*fb)->path);
}

static bool sorted_paths_contain(struct job_file **sorted, size_t count, const char *path)
{
    struct job_file key = { .path = (char *)path };
    struct job_file *key_ptr = &key;

    return bsearch(&key_ptr, sorted, count, sizeof(*sorted), file_path_compare) != NULL;
}

/* Refuses a path given twice, and a path that is also a directory of another ("a" and
 * "a/b"): the sandbox could not create both. Sorting keeps this O(n log n) at max_files. */
static int files_check_unique(struct job *job)
{
    _cleanup_free_ struct job_file **sorted = NULL;
    char excerpt[JOB_EXCERPT_MAX + 4];
    size_t count = job->file_count;

    sorted = calloc(count ? count : 1, sizeof(*sorted));
    if (!sorted)
        return -ENOMEM;

    for (size_t i = 0; i < count; i++)
        sorted[i] = &job->files[i];
    qsort(sorted, count, sizeof(*sorted), file_path_compare);

    for (size_t i = 1; i < count; i++) {
        if (strcmp(sorted[i - 1]->path, sorted[i]->path) == 0)
            return job_reject(job, "files: path '%s' is given twice",
                              job_excerpt(excerpt, sorted[i]->path, strlen(sorted[i]->path)));
    }

    for (size_t i = 0; i < count; i++) {
        char prefix[JOB_PATH_MAX + 1];
        const char *path = sorted[i]->path;

        for (const char *slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
            size_t len = (size_t)(slash - path);

            memcpy(prefix, path, len);
            prefix[len] = '\0';
            if (sorted_paths_contain(sorted, count, prefix))
                return job_reject(job, "files: '%s' is both a file and a directory",
                                  job_excerpt(excerpt, prefix, len));
        }
    }
    return 0;
}

static int reader_files(struct job_reader *reader, const msgpack_object *obj)
{
    struct job *job = reader->job;
    const msgpack_object_map *map = &obj->via.map;
    char excerpt[JOB_EXCERPT_MAX + 4];
    int r;

    if (obj->type != MSGPACK_OBJECT_MAP)
        return job_reject(job, "files must be a map of path to contents");
    if (map->size == 0)
        return job_reject(job, "files must not be empty");
    if (map->size > reader->config->max_files)
        return job_reject(job, "files has %u entries, more than max_files %llu", map->size,
                          (unsigned long long)reader->config->max_files);

    job->files = calloc(map->size, sizeof(*job->files));
    if (!job->files)
        return -ENOMEM;

    for (uint32_t i = 0; i < map->size; i++) {
        const msgpack_object *key = &map->ptr[i].key;
        const msgpack_object *val = &map->ptr[i].val;
        const char *problem;

        if (key->type != MSGPACK_OBJECT_STR)
            return job_reject(job, "files: every path must be a string");

        problem = path_problem(key->via.str.ptr, key->via.str.size);
        if (problem)
            return job_reject(job, "files: path '%s' %s",
                              job_excerpt(excerpt, key->via.str.ptr, key->via.str.size),
                              problem);

        if (!is_bytes(val))
            return job_reject(job, "files: the contents of '%s' must be a string or binary",
                              job_excerpt(excerpt, key->via.str.ptr, key->via.str.size));

        r = job_add_file(job, key->via.str.ptr, key->via.str.size, bytes_ptr(val),
                         bytes_size(val));
        if (r < 0)
            return r;
    }

    return files_check_unique(job);
}

static int reader_main(struct job_reader *reader)
{
    const msgpack_object *obj = reader_field(reader, JOB_FIELD_MAIN);
    struct job *job = reader->job;
    char excerpt[JOB_EXCERPT_MAX + 4];

    if (!obj)
        return job_reject(job, "main is missing: with files it names the entry file");
    if (obj->type != MSGPACK_OBJECT_STR)
        return job_reject(job, "main must be a string");

    for (size_t i = 0; i < job->file_count; i++) {
        const struct job_file *file = &job->files[i];

        if (strlen(file->path) == obj->via.str.size &&
            memcmp(file->path, obj->via.str.ptr, obj->via.str.size) == 0)
            return replace_string(&job->main, file->path, strlen(file->path));
    }
    return job_reject(job, "main '%s' does not name one of files",
                      job_excerpt(excerpt, obj->via.str.ptr, obj->via.str.size));
}

/* Exactly one of source (the entry file, named by the language) and files with main. */
static int reader_sources(struct job_reader *reader)
{
    const msgpack_object *source = reader_field(reader, JOB_FIELD_SOURCE);
    const msgpack_object *files = reader_field(reader, JOB_FIELD_FILES);
    const char *name = reader->language->source_name;
    struct job *job = reader->job;
    int r;

    if (source && files)
        return job_reject(job, "give either source or files, not both");
    if (!source && !files)
        return job_reject(job, "source or files is missing");

    if (files) {
        r = reader_files(reader, files);
        if (r < 0 || job->reject_reason)
            return r;
        return reader_main(reader);
    }

    if (!is_bytes(source))
        return job_reject(job, "source must be a string or binary");
    if (reader_field(reader, JOB_FIELD_MAIN))
        return job_reject(job, "main goes with files; with source the entry file is %s", name);

    job->files = calloc(1, sizeof(*job->files));
    if (!job->files)
        return -ENOMEM;

    r = job_add_file(job, name, strlen(name), bytes_ptr(source), bytes_size(source));
    if (r < 0)
        return r;

    return replace_string(&job->main, name, strlen(name));
}

static int reader_stdin(struct job_reader *reader)
{
    const msgpack_object *obj = reader_field(reader, JOB_FIELD_STDIN);
    struct job *job = reader->job;

    if (!obj)
        return 0;
    if (!is_bytes(obj))
        return job_reject(job, "stdin must be a string or binary");

    job->stdin_data = bytes_dup(bytes_ptr(obj), bytes_size(obj));
    if (!job->stdin_data)
        return -ENOMEM;
    job->stdin_size = bytes_size(obj);
    return 0;
}

static int reader_args(struct job_reader *reader)
{
    const msgpack_object *obj = reader_field(reader, JOB_FIELD_ARGS);
    struct job *job = reader->job;
    char **args;

    if (!obj)
        return 0;
    if (obj->type != MSGPACK_OBJECT_ARRAY)
        return job_reject(job, "args must be an array of strings");
    if (obj->via.array.size > reader->config->max_args)
        return job_reject(job, "args has %u entries, more than max_args %llu",
                          obj->via.array.size, (unsigned long long)reader->config->max_args);

    args = calloc((size_t)obj->via.array.size + 1, sizeof(*args));
    if (!args)
        return -ENOMEM;
    free(job->args);
    job->args = args;

    for (uint32_t i = 0; i < obj->via.array.size; i++) {
        const msgpack_object *arg = &obj->via.array.ptr[i];

        if (arg->type != MSGPACK_OBJECT_STR || memchr(arg->via.str.ptr, '\0', arg->via.str.size) ||
            !utf8_valid(arg->via.str.ptr, arg->via.str.size))
            return job_reject(job, "args[%u] must be UTF-8 text without NUL bytes", i);

        args[i] = bytes_dup(arg->via.str.ptr, arg->via.str.size);
        if (!args[i])
            return -ENOMEM;
        job->arg_count++;
    }
    return 0;
}

static int limit_index(const msgpack_object *key)
{
    for (int i = 0; i < LIMITS_FIELD_COUNT; i++) {
        if (str_equals(key, limits_field_names[i]))
            return i;
    }
    return -ENOENT;
}

/* Limits the client leaves out keep the defaults; none may pass the configured ceiling. */
static int reader_limits(struct job_reader *reader)
{
    const msgpack_object *obj = reader_field(reader, JOB_FIELD_LIMITS);
    struct job *job = reader->job;
    bool seen[LIMITS_FIELD_COUNT] = { false };
    char excerpt[JOB_EXCERPT_MAX + 4];

    if (!obj)
        return 0;
    if (obj->type != MSGPACK_OBJECT_MAP)
        return job_reject(job, "limits must be a map");

    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        const msgpack_object *key = &obj->via.map.ptr[i].key;
        const msgpack_object *val = &obj->via.map.ptr[i].val;
        int index = limit_index(key);
        const char *name;
        uint64_t ceiling;

        if (index < 0) {
            if (key->type != MSGPACK_OBJECT_STR)
                return job_reject(job, "limits: every key must be a string");
            return job_reject(job,
                              "limits.%s is not a known limit (known: wall_ms, cpu_ms, "
                              "memory_mb, pids, output_bytes, disk_mb)",
                              job_excerpt(excerpt, key->via.str.ptr, key->via.str.size));
        }

        name = limits_field_names[index];
        if (seen[index])
            return job_reject(job, "limits.%s appears twice", name);
        seen[index] = true;

        if (val->type != MSGPACK_OBJECT_POSITIVE_INTEGER || val->via.u64 == 0)
            return job_reject(job, "limits.%s must be a positive integer", name);
        job->limits_set[index] = true;

        ceiling = limits_field_get(&reader->config->limits_max, index);
        if (val->via.u64 > ceiling)
            return job_reject(job, "limits.%s %llu is above the ceiling %llu", name,
                              (unsigned long long)val->via.u64, (unsigned long long)ceiling);

        *limits_field(&job->limits, index) = val->via.u64;
    }
    return 0;
}

/* A job may ask for fewer runs than the fleet allows, never more: like a limit, a value over
 * the ceiling is refused rather than lowered. */
static int reader_max_attempts(struct job_reader *reader)
{
    const msgpack_object *obj = reader_field(reader, JOB_FIELD_MAX_ATTEMPTS);
    uint64_t ceiling = reader->config->max_attempts;

    if (!obj)
        return 0;
    if (obj->type != MSGPACK_OBJECT_POSITIVE_INTEGER || obj->via.u64 == 0)
        return job_reject(reader->job, "max_attempts must be a positive integer");
    if (obj->via.u64 > ceiling)
        return job_reject(reader->job, "max_attempts %llu is above the ceiling %llu",
                          (unsigned long long)obj->via.u64, (unsigned long long)ceiling);

    reader->job->max_attempts = (uint32_t)obj->via.u64;
    return 0;
}

/* A deadline is a point on Redis's clock, so the worker cannot judge it: it is only read
 * here, and the claim script compares it with Redis's TIME. 0 is refused, since it would
 * read as no deadline at all while meaning one long past. */
static int reader_deadline(struct job_reader *reader)
{
    const msgpack_object *obj = reader_field(reader, JOB_FIELD_DEADLINE);

    if (!obj)
        return 0;
    if (obj->type != MSGPACK_OBJECT_POSITIVE_INTEGER || obj->via.u64 == 0)
        return job_reject(reader->job, "deadline must be a positive integer (ms since the "
                                       "Unix epoch)");

    reader->job->deadline_ms = obj->via.u64;
    return 0;
}

/* The fields that make the job runnable, read once the message is known to be a clean map. */
static int reader_body(struct job_reader *reader)
{
    static int (*const steps[])(struct job_reader *) = {
        reader_language, reader_sources, reader_stdin, reader_args, reader_limits,
        reader_max_attempts, reader_deadline,
    };

    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        int r = steps[i](reader);

        if (r < 0 || reader->job->reject_reason)
            return r;
    }
    return 0;
}

/* id, tenant and meta: read even from a rejected message so that its answer reaches the
 * client under the right id with its meta. An oversized message's meta is not echoed: it
 * could be as large as the message, and the result must stay within what Redis stores. */
static int reader_identity(struct job_reader *reader)
{
    int r;

    r = reader_id(reader);
    if (r < 0)
        return r;

    r = reader_tenant(reader);
    if (r < 0 || reader->oversized)
        return r;

    return reader_meta(reader);
}

static struct job *job_new(const char *entry_id, const struct ccx_config *config)
{
    _cleanup_job_ struct job *job = calloc(1, sizeof(*job));

    if (!job)
        return NULL;

    job->entry_id = strdup(entry_id ? entry_id : "");
    job->id = strdup(entry_id ? entry_id : "");
    job->tenant = strdup("default");
    job->args = calloc(1, sizeof(*job->args));
    if (!job->entry_id || !job->id || !job->tenant || !job->args)
        return NULL;

    job->limits = config->limits_default;
    job->children = true;
    job->attempt = 1;
    job->max_attempts = (uint32_t)config->max_attempts;
    return TAKE_PTR(job);
}

/* Scans and parses the message into unpacked. Returns 1 when unpacked holds the message's
 * first object, 0 when the message is rejected unparsed, or -ENOMEM. */
static int job_parse(struct job *job, const uint8_t *data, size_t size,
                     const struct ccx_config *config, msgpack_unpacked *unpacked)
{
    bool oversized = size > config->max_job_bytes;
    uint64_t elements = 0;
    size_t end = 0;
    size_t off = 0;
    int r;

    if (size == 0)
        return job_reject(job, "job message is empty");

    r = mp_scan(data, size, &end, &elements);
    if (r == -ELOOP)
        return job_reject(job, "job is nested more than %d levels deep", JOB_DEPTH_MAX);
    if (r < 0)
        return job_reject(job, "job is not valid msgpack (malformed or cut short)");

    if (oversized && (elements > JOB_OVERSIZE_ELEMENTS_MAX ||
                      size / JOB_OVERSIZE_PARSE_FACTOR > config->max_job_bytes))
        return 0;

    switch (msgpack_unpack_next(unpacked, (const char *)data, end, &off)) {
    case MSGPACK_UNPACK_SUCCESS:
        break;
    case MSGPACK_UNPACK_NOMEM_ERROR:
        /* The scan keeps within the parser's limits, so this is memory running out. */
        return -ENOMEM;
    default:
        return job_reject(job, "job is not valid msgpack (malformed or cut short)");
    }

    if (unpacked->data.type != MSGPACK_OBJECT_MAP)
        return job_reject(job, "job is not a msgpack map");

    if (end < size) {
        r = job_reject(job, "job has %zu bytes of trailing data after the map", size - end);
        if (r < 0)
            return r;
    }
    return 1;
}

int job_decode(const void *data, size_t size, const char *entry_id,
               const struct ccx_config *config, struct job **ret_job)
{
    _cleanup_unpacked_ msgpack_unpacked unpacked;
    _cleanup_job_ struct job *job = NULL;
    struct job_reader reader = { .config = config, .oversized = size > config->max_job_bytes };
    int r;

    msgpack_unpacked_init(&unpacked);
    job = job_new(entry_id, config);
    if (!job)
        return -ENOMEM;
    reader.job = job;

    if (reader.oversized) {
        r = job_reject(job, "job message is %zu bytes, above max_job_bytes %llu", size,
                       (unsigned long long)config->max_job_bytes);
        if (r < 0)
            return r;
    }

    r = job_parse(job, data, size, config, &unpacked);
    if (r < 0)
        return r;

    if (r > 0) {
        r = reader_collect(&reader, &unpacked.data.via.map);
        if (r < 0)
            return r;

        r = reader_identity(&reader);
        if (r < 0)
            return r;

        if (!job->reject_reason) {
            r = reader_body(&reader);
            if (r < 0)
                return r;
        }
    }

    *ret_job = TAKE_PTR(job);
    return 0;
}

void job_free(struct job *job)
{
    if (!job)
        return;

    for (size_t i = 0; i < job->file_count; i++) {
        free(job->files[i].path);
        free(job->files[i].data);
    }
    free(job->files);

    if (job->args) {
        for (size_t i = 0; job->args[i]; i++)
            free(job->args[i]);
        free(job->args);
    }

    free(job->id);
    free(job->entry_id);
    free(job->tenant);
    free(job->language);
    free(job->main);
    free(job->stdin_data);
    free(job->meta);
    free(job->policy_version);
    free(job->seccomp_profile);
    free(job->reject_reason);
    free(job);
}

/* ==== Tenant policy ==== */

/* The tenant's languages, "python, c", for the reason that refuses another. */
static void tenant_language_list(const struct tenant_policy *tenant, char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; tenant->languages && tenant->languages[i] && len < size; i++) {
        int n = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", tenant->languages[i]);

        if (n < 0)
            break;
        len += (size_t)n;
    }
}

/* Limits the job left out take the tenant's defaults; those it set must keep within the
 * tenant's ceilings (its defaults do: the policy loader sees to that). */
static int job_apply_limits(struct job *job, const struct tenant_policy *tenant)
{
    for (int i = 0; i < LIMITS_FIELD_COUNT; i++) {
        uint64_t ceiling = limits_field_get(&tenant->limits_max, i);
        uint64_t value = limits_field_get(&job->limits, i);

        if (!job->limits_set[i]) {
            *limits_field(&job->limits, i) = limits_field_get(&tenant->limits_default, i);
            continue;
        }
        if (value > ceiling)
            return job_reject(job, "limits.%s %llu is above the ceiling %llu of tenant '%s'",
                              limits_field_names[i], (unsigned long long)value,
                              (unsigned long long)ceiling, job->tenant);
    }
    return 0;
}

int job_apply_policy(struct job *job, const struct policy *policy)
{
    const struct tenant_policy *tenant = policy_tenant(policy, job->tenant);
    char allowed[512];
    int r;

    free(job->policy_version);
    job->policy_version = strdup(policy->version);
    if (!job->policy_version)
        return -ENOMEM;
    if (job->reject_reason)
        return 0;

    if (job->language && !policy_language_allowed(tenant, job->language)) {
        tenant_language_list(tenant, allowed, sizeof(allowed));
        return job_reject(job, "language '%s' is not allowed for tenant '%s' (allowed: %s)",
                          job->language, job->tenant, allowed);
    }

    r = job_apply_limits(job, tenant);
    if (r < 0 || job->reject_reason)
        return r;

    free(job->seccomp_profile);
    job->seccomp_profile = NULL;
    if (tenant->seccomp_profile) {
        job->seccomp_profile = strdup(tenant->seccomp_profile);
        if (!job->seccomp_profile)
            return -ENOMEM;
    }
    job->tmp_mb = tenant->tmp_mb;
    job->children = tenant->children;
    return 0;
}

const struct job_file *job_main_file(const struct job *job)
{
    if (!job || !job->main)
        return NULL;

    for (size_t i = 0; i < job->file_count; i++) {
        if (strcmp(job->files[i].path, job->main) == 0)
            return &job->files[i];
    }
    return NULL;
}

#include "common/audit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

/* Fields every event carries besides the kind's own: kind, ts, job_id, tenant, language,
 * code_hash, policy_version, host, worker. */
#define AUDIT_COMMON_FIELDS 9

struct audit_packer {
    msgpack_packer pk;
    bool failed;
};

static void audit_check(struct audit_packer *p, int r)
{
    if (r != 0)
        p->failed = true;
}

static void audit_str(struct audit_packer *p, const char *text)
{
    size_t len;

    if (!text) {
        audit_check(p, msgpack_pack_nil(&p->pk));
        return;
    }
    len = strlen(text);
    audit_check(p, msgpack_pack_str(&p->pk, len));
    audit_check(p, msgpack_pack_str_body(&p->pk, text, len));
}

static void audit_kv_str(struct audit_packer *p, const char *key, const char *value)
{
    audit_str(p, key);
    audit_str(p, value);
}

static void audit_kv_u64(struct audit_packer *p, const char *key, uint64_t value)
{
    audit_str(p, key);
    audit_check(p, msgpack_pack_uint64(&p->pk, value));
}

static void audit_kv_int(struct audit_packer *p, const char *key, int64_t value)
{
    audit_str(p, key);
    audit_check(p, msgpack_pack_int64(&p->pk, value));
}

static void audit_init(struct audit_packer *p, msgpack_sbuffer *out)
{
    msgpack_packer_init(&p->pk, out, msgpack_sbuffer_write);
    p->failed = false;
}

static void audit_job_fields(struct audit_packer *p, const struct audit_job *job)
{
    audit_kv_str(p, "job_id", job->job_id);
    audit_kv_str(p, "tenant", job->tenant);
    audit_kv_str(p, "language", job->language);
    audit_kv_str(p, "code_hash", job->code_hash);
    audit_kv_str(p, "policy_version", job->policy_version);
}

static int audit_compare_files(const void *a, const void *b)
{
    const struct job_file *const *x = a, *const *y = b;

    return strcmp((*x)->path, (*y)->path);
}

int audit_code_hash(const struct job *job, char *out)
{
    static const char hex[] = "0123456789abcdef";
    const struct job_file **sorted = NULL;
    uint8_t digest[SHA256_DIGEST_SIZE];
    struct sha256_ctx ctx;

    if (job->file_count > 0) {
        sorted = calloc(job->file_count, sizeof(*sorted));
        if (!sorted)
            return -ENOMEM;
        for (size_t i = 0; i < job->file_count; i++)
            sorted[i] = &job->files[i];
        qsort(sorted, job->file_count, sizeof(*sorted), audit_compare_files);
    }

    sha256_init(&ctx);
    for (size_t i = 0; i < job->file_count; i++) {
        uint8_t size_be[8];
        uint64_t size = sorted[i]->size;

        for (int b = 7; b >= 0; b--, size >>= 8)
            size_be[b] = (uint8_t)(size & 0xff);
        sha256_update(&ctx, strlen(sorted[i]->path) + 1, (const uint8_t *)sorted[i]->path);
        sha256_update(&ctx, sizeof(size_be), size_be);
        sha256_update(&ctx, sorted[i]->size, sorted[i]->data);
    }
    sha256_digest(&ctx, sizeof(digest), digest);
    free(sorted);

    memcpy(out, "sha256:", 7);
    for (size_t i = 0; i < sizeof(digest); i++) {
        out[7 + 2 * i] = hex[digest[i] >> 4];
        out[8 + 2 * i] = hex[digest[i] & 0xf];
    }
    out[7 + 2 * sizeof(digest)] = '\0';
    return 0;
}

int audit_encode_queued(const struct audit_job *job, const char *host, int worker,
                        uint64_t ts_ms, uint64_t bytes, msgpack_sbuffer *out)
{
    struct audit_packer p;

    audit_init(&p, out);
    audit_check(&p, msgpack_pack_map(&p.pk, AUDIT_COMMON_FIELDS + 1));
    audit_kv_str(&p, "kind", "job_queued");
    audit_kv_u64(&p, "ts", ts_ms);
    audit_job_fields(&p, job);
    audit_kv_str(&p, "host", host);
    audit_kv_int(&p, "worker", worker);
    audit_kv_u64(&p, "bytes", bytes);
    return p.failed ? -ENOMEM : 0;
}

int audit_encode_finished(const struct audit_job *job, const char *host, int worker,
                          uint64_t ts_ms, const char *status, uint64_t wall_ms,
                          msgpack_sbuffer *out)
{
    struct audit_packer p;

    audit_init(&p, out);
    audit_check(&p, msgpack_pack_map(&p.pk, AUDIT_COMMON_FIELDS + 2));
    audit_kv_str(&p, "kind", "job_finished");
    audit_kv_u64(&p, "ts", ts_ms);
    audit_job_fields(&p, job);
    audit_kv_str(&p, "host", host);
    audit_kv_int(&p, "worker", worker);
    audit_kv_str(&p, "status", status);
    audit_kv_u64(&p, "wall_ms", wall_ms);
    return p.failed ? -ENOMEM : 0;
}

int audit_encode_started_head(const struct audit_job *job, msgpack_sbuffer *out)
{
    struct audit_packer p;

    audit_init(&p, out);
    audit_check(&p, msgpack_pack_map(&p.pk, AUDIT_STARTED_FIELDS));
    audit_kv_str(&p, "kind", "job_started");
    audit_job_fields(&p, job);
    return p.failed ? -ENOMEM : 0;
}

int audit_encode_started_where(const char *host, int worker, msgpack_sbuffer *out)
{
    struct audit_packer p;

    audit_init(&p, out);
    audit_kv_str(&p, "host", host);
    audit_kv_int(&p, "worker", worker);
    return p.failed ? -ENOMEM : 0;
}

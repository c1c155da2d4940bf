/* common/job.c: valid jobs in both forms, and every reason a job is rejected. Messages are
 * built with msgpack-c's packer; malformed ones are written byte by byte. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <msgpack.h>

#include "common/config.h"
#include "common/job.h"
#include "common/policy.h"

#include "policy_fixture.h"

static struct ccx_config *config;

static void load_config(void)
{
    char err[512];

    cr_assert_eq(config_load(CCX_SOURCE_DIR "/deploy/ccx.json", &config, err, sizeof(err)), 0,
                 "%s", err);
}

static void free_config(void)
{
    config_free(config);
}

TestSuite(job, .init = load_config, .fini = free_config);

/* ==== Building messages ==== */

struct msg {
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
};

static void msg_init(struct msg *m)
{
    msgpack_sbuffer_init(&m->sbuf);
    msgpack_packer_init(&m->pk, &m->sbuf, msgpack_sbuffer_write);
}

static void msg_destroy(struct msg *m)
{
    msgpack_sbuffer_destroy(&m->sbuf);
}

static void put_str(struct msg *m, const char *s)
{
    msgpack_pack_str(&m->pk, strlen(s));
    msgpack_pack_str_body(&m->pk, s, strlen(s));
}

static void put_strn(struct msg *m, const char *s, size_t len)
{
    msgpack_pack_str(&m->pk, len);
    msgpack_pack_str_body(&m->pk, s, len);
}

static void put_bin(struct msg *m, const void *data, size_t len)
{
    msgpack_pack_bin(&m->pk, len);
    msgpack_pack_bin_body(&m->pk, data, len);
}

static void put_kv(struct msg *m, const char *key, const char *value)
{
    put_str(m, key);
    put_str(m, value);
}

/* A map of `count` pairs beginning with language=python and source, so that a test only adds
 * the fields it is about. */
static void begin_python(struct msg *m, size_t count)
{
    msg_init(m);
    msgpack_pack_map(&m->pk, count);
    put_kv(m, "language", "python");
    put_kv(m, "source", "print(1)\n");
}

static struct job *decode(const struct msg *m)
{
    struct job *job = NULL;

    cr_assert_eq(job_decode(m->sbuf.data, m->sbuf.size, "1700000000000-0", config, &job), 0);
    cr_assert_not_null(job);
    return job;
}

static struct job *decode_bytes(const void *data, size_t size)
{
    struct job *job = NULL;

    cr_assert_eq(job_decode(data, size, "1700000000000-0", config, &job), 0);
    cr_assert_not_null(job);
    return job;
}

static void expect_reject(struct job *job, const char *reason_part)
{
    cr_assert_not_null(job->reject_reason, "accepted; expected a reason with '%s'", reason_part);
    cr_assert_not_null(strstr(job->reject_reason, reason_part), "reason: %s",
                       job->reject_reason);
}

/* A python job with one extra field: files with a single path, for the path checks. */
static struct job *decode_file_path(const char *path, size_t len)
{
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_map(&m.pk, 3);
    put_kv(&m, "language", "python");
    put_str(&m, "files");
    msgpack_pack_map(&m.pk, 1);
    put_strn(&m, path, len);
    put_str(&m, "x = 1\n");
    put_str(&m, "main");
    put_strn(&m, path, len);
    job = decode(&m);
    msg_destroy(&m);
    return job;
}

/* ==== Valid jobs ==== */

Test(job, accepts_source_form_with_every_field)
{
    static const uint8_t meta[] = { 0x82, 0xa1, 'k', 0x92, 0x01, 0x02, 0xa1, 'n', 0xc0 };
    struct msg m;
    struct job *job;

    begin_python(&m, 8);
    put_kv(&m, "id", "job-1");
    put_kv(&m, "tenant", "acme");
    put_kv(&m, "stdin", "input");
    put_str(&m, "args");
    msgpack_pack_array(&m.pk, 2);
    put_str(&m, "a");
    put_str(&m, "b c");
    put_str(&m, "limits");
    msgpack_pack_map(&m.pk, 1);
    put_str(&m, "memory_mb");
    msgpack_pack_uint64(&m.pk, 128);
    put_str(&m, "meta");
    msgpack_sbuffer_write(&m.sbuf, (const char *)meta, sizeof(meta));
    job = decode(&m);

    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    cr_assert_str_eq(job->id, "job-1");
    cr_assert_str_eq(job->entry_id, "1700000000000-0");
    cr_assert_str_eq(job->tenant, "acme");
    cr_assert_str_eq(job->language, "python");
    cr_assert_eq(job->file_count, 1);
    cr_assert_str_eq(job->files[0].path, "main.py");
    cr_assert_eq(job->files[0].size, 9);
    cr_assert_arr_eq(job->files[0].data, "print(1)\n", 9);
    cr_assert_str_eq(job->main, "main.py");
    cr_assert_eq(job_main_file(job), &job->files[0]);
    cr_assert_eq(job->stdin_size, 5);
    cr_assert_arr_eq(job->stdin_data, "input", 5);
    cr_assert_eq(job->arg_count, 2);
    cr_assert_str_eq(job->args[1], "b c");
    cr_assert_null(job->args[2]);
    cr_assert_eq(job->limits.memory_mb, 128);
    cr_assert_eq(job->limits.wall_ms, config->limits_default.wall_ms);
    cr_assert_eq(job->attempt, 1);
    cr_assert_eq(job->meta_size, sizeof(meta));
    cr_assert_arr_eq(job->meta, meta, sizeof(meta));
    job_free(job);
    msg_destroy(&m);
}

Test(job, accepts_files_form)
{
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_map(&m.pk, 3);
    put_kv(&m, "language", "python");
    put_str(&m, "files");
    msgpack_pack_map(&m.pk, 2);
    put_kv(&m, "app/main.py", "import util\n");
    put_str(&m, "app/util.py");
    put_bin(&m, "\x00\xff", 2);
    put_kv(&m, "main", "app/main.py");
    job = decode(&m);

    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    cr_assert_eq(job->file_count, 2);
    cr_assert_str_eq(job->main, "app/main.py");
    cr_assert_str_eq(job_main_file(job)->path, "app/main.py");
    cr_assert_str_eq(job->files[1].path, "app/util.py");
    cr_assert_eq(job->files[1].size, 2);
    cr_assert_arr_eq(job->files[1].data, "\x00\xff", 2);
    job_free(job);
    msg_destroy(&m);
}

Test(job, accepts_binary_source)
{
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_map(&m.pk, 2);
    put_kv(&m, "language", "c");
    put_str(&m, "source");
    put_bin(&m, "int main(void){return 0;}", 25);
    job = decode(&m);

    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    cr_assert_str_eq(job->files[0].path, "main.c");
    cr_assert_eq(job->files[0].size, 25);
    job_free(job);
    msg_destroy(&m);
}

Test(job, fills_defaults_when_fields_are_absent)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 2);
    job = decode(&m);

    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    cr_assert_str_eq(job->id, "1700000000000-0", "id falls back to the entry id");
    cr_assert_str_eq(job->tenant, "default");
    cr_assert_eq(memcmp(&job->limits, &config->limits_default, sizeof(job->limits)), 0);
    cr_assert_eq(job->arg_count, 0);
    cr_assert_not_null(job->args);
    cr_assert_null(job->args[0]);
    cr_assert_null(job->meta);
    cr_assert_null(job->stdin_data);
    cr_assert_eq(job->max_attempts, config->max_attempts);
    job_free(job);
    msg_destroy(&m);
}

Test(job, treats_nil_fields_as_absent)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 5);
    put_str(&m, "tenant");
    msgpack_pack_nil(&m.pk);
    put_str(&m, "files");
    msgpack_pack_nil(&m.pk);
    put_str(&m, "limits");
    msgpack_pack_nil(&m.pk);
    job = decode(&m);

    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    cr_assert_str_eq(job->tenant, "default");
    job_free(job);
    msg_destroy(&m);
}

Test(job, ignores_unknown_top_level_keys)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 4);
    put_kv(&m, "priority", "high");
    msgpack_pack_int(&m.pk, 7);
    msgpack_pack_true(&m.pk);
    job = decode(&m);

    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    job_free(job);
    msg_destroy(&m);
}

Test(job, keeps_meta_nested_twenty_levels)
{
    struct msg m;
    struct job *job;
    size_t meta_start;

    begin_python(&m, 3);
    put_str(&m, "meta");
    meta_start = m.sbuf.size;
    for (int i = 0; i < 20; i++)
        msgpack_pack_array(&m.pk, 1);
    msgpack_pack_int(&m.pk, 5);
    job = decode(&m);

    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    cr_assert_eq(job->meta_size, m.sbuf.size - meta_start);
    cr_assert_arr_eq(job->meta, m.sbuf.data + meta_start, job->meta_size);
    job_free(job);
    msg_destroy(&m);
}

Test(job, accepts_limit_equal_to_ceiling)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_str(&m, "limits");
    msgpack_pack_map(&m.pk, 1);
    put_str(&m, "pids");
    msgpack_pack_uint64(&m.pk, config->limits_max.pids);
    job = decode(&m);

    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    cr_assert_eq(job->limits.pids, config->limits_max.pids);
    job_free(job);
    msg_destroy(&m);
}

/* ==== Malformed messages ==== */

/* The identity comes back so that the client is answered under its id; meta does not, since
 * it could be as large as the message and the result must stay storable. */
Test(job, rejects_oversized_message_but_reads_identity)
{
    size_t big = 20 * 1024 * 1024;
    char *source = malloc(big);
    struct msg m;
    struct job *job;

    cr_assert_not_null(source);
    memset(source, '#', big);
    msg_init(&m);
    msgpack_pack_map(&m.pk, 5);
    put_kv(&m, "id", "big-1");
    put_kv(&m, "tenant", "acme");
    put_kv(&m, "language", "python");
    put_str(&m, "source");
    put_strn(&m, source, big);
    put_str(&m, "meta");
    msgpack_pack_int(&m.pk, 42);
    config->max_job_bytes = 16 * 1024 * 1024;
    job = decode(&m);

    expect_reject(job, "max_job_bytes 16777216");
    cr_assert_str_eq(job->id, "big-1");
    cr_assert_str_eq(job->tenant, "acme");
    cr_assert_null(job->meta, "an oversized message's meta must not be echoed");
    cr_assert_eq(job->file_count, 0, "an oversized job must not be decoded further");
    job_free(job);

    /* Over twice the cap, it is not even parsed: answered under its stream entry id. */
    config->max_job_bytes = 1024 * 1024;
    job = decode(&m);
    expect_reject(job, "max_job_bytes 1048576");
    cr_assert_str_eq(job->id, "1700000000000-0");
    cr_assert_null(job->meta);
    job_free(job);
    msg_destroy(&m);
    free(source);
}

Test(job, rejects_oversized_message_of_many_small_elements_without_parsing)
{
    size_t count = 200000;
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_map(&m.pk, 2);
    put_kv(&m, "id", "many");
    put_str(&m, "meta");
    msgpack_pack_array(&m.pk, count);
    for (size_t i = 0; i < count; i++)
        msgpack_pack_nil(&m.pk);
    config->max_job_bytes = 1000;
    job = decode(&m);

    expect_reject(job, "max_job_bytes");
    cr_assert_str_eq(job->id, "1700000000000-0");
    cr_assert_null(job->meta);
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_non_map)
{
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_array(&m.pk, 2);
    put_str(&m, "language");
    put_str(&m, "python");
    job = decode(&m);

    cr_assert_str_eq(job->reject_reason, "job is not a msgpack map");
    cr_assert_str_eq(job->id, "1700000000000-0");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_empty_message)
{
    struct job *job = decode_bytes("", 0);

    expect_reject(job, "empty");
    job_free(job);
}

Test(job, rejects_trailing_garbage_but_keeps_id)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_kv(&m, "id", "trail");
    msgpack_sbuffer_write(&m.sbuf, "\x01\x02\x03", 3);
    job = decode(&m);

    expect_reject(job, "3 bytes of trailing data");
    cr_assert_str_eq(job->id, "trail");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_reserved_type_byte)
{
    static const uint8_t bytes[] = { 0x81, 0xa1, 'x', 0xc1 };
    struct job *job = decode_bytes(bytes, sizeof(bytes));

    expect_reject(job, "not valid msgpack");
    job_free(job);
}

Test(job, rejects_huge_declared_array_without_allocating)
{
    static const uint8_t bytes[] = { 0x81, 0xa4, 'm', 'e', 't', 'a', 0xdd, 0xff, 0xff, 0xff,
                                     0xff };
    struct job *job = decode_bytes(bytes, sizeof(bytes));

    expect_reject(job, "not valid msgpack");
    job_free(job);
}

Test(job, rejects_huge_declared_string)
{
    static const uint8_t bytes[] = { 0x81, 0xa2, 'i', 'd', 0xdb, 0x7f, 0xff, 0xff, 0xff, 'a' };
    struct job *job = decode_bytes(bytes, sizeof(bytes));

    expect_reject(job, "not valid msgpack");
    job_free(job);
}

Test(job, rejects_every_truncation_of_a_valid_job)
{
    struct msg m;

    begin_python(&m, 5);
    put_kv(&m, "id", "cut");
    put_str(&m, "args");
    msgpack_pack_array(&m.pk, 1);
    put_str(&m, "x");
    put_str(&m, "meta");
    msgpack_pack_map(&m.pk, 1);
    put_kv(&m, "k", "v");

    for (size_t len = 0; len < m.sbuf.size; len++) {
        struct job *job = decode_bytes(m.sbuf.data, len);

        cr_assert_not_null(job->reject_reason, "prefix of %zu bytes accepted", len);
        job_free(job);
    }
    msg_destroy(&m);
}

Test(job, rejects_random_garbage_without_crashing)
{
    uint32_t state = 12345;
    uint8_t buf[96];

    for (int round = 0; round < 5000; round++) {
        size_t len = 1 + round % sizeof(buf);
        struct job *job;

        for (size_t i = 0; i < len; i++) {
            state = state * 1103515245u + 12345u;
            buf[i] = (uint8_t)(state >> 16);
        }
        /* Start most inputs as a map so the decoder goes past the first byte. */
        if (round % 2)
            buf[0] = 0x80 | (buf[0] & 0x0f);

        job = decode_bytes(buf, len);
        cr_assert_not_null(job->reject_reason, "round %d accepted random bytes", round);
        cr_assert_not_null(job->id);
        cr_assert_not_null(job->tenant);
        job_free(job);
    }
}

Test(job, rejects_deep_nesting_in_meta)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 4);
    put_kv(&m, "id", "deep");
    put_str(&m, "meta");
    for (int i = 0; i < 100000; i++)
        msgpack_pack_array(&m.pk, 1);
    msgpack_pack_nil(&m.pk);
    job = decode(&m);

    expect_reject(job, "nested more than 32 levels");
    cr_assert_str_eq(job->id, "1700000000000-0");
    job_free(job);
    msg_destroy(&m);
}

/* The job map plus `arrays` nested one-element arrays in meta, ending in an empty array. */
static struct job *decode_meta_ending_empty(int arrays)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_str(&m, "meta");
    for (int i = 0; i < arrays; i++)
        msgpack_pack_array(&m.pk, 1);
    msgpack_pack_array(&m.pk, 0);
    job = decode(&m);
    msg_destroy(&m);
    return job;
}

Test(job, accepts_empty_container_just_inside_depth_limit)
{
    struct job *job = decode_meta_ending_empty(30);

    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    cr_assert_not_null(job->meta);
    job_free(job);
}

Test(job, rejects_empty_container_past_depth_limit)
{
    struct job *job = decode_meta_ending_empty(31);

    expect_reject(job, "nested more than 32 levels");
    job_free(job);
}

Test(job, rejects_duplicate_top_level_key)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_kv(&m, "language", "sh");
    job = decode(&m);

    expect_reject(job, "field 'language' appears twice");
    job_free(job);
    msg_destroy(&m);
}

/* ==== id and tenant ==== */

Test(job, id_validity)
{
    char long_id[130];

    memset(long_id, 'a', 129);
    long_id[129] = '\0';
    cr_assert(job_id_valid("abc-1.2_3:4"));
    cr_assert(job_id_valid(long_id + 1), "128 characters are allowed");
    cr_assert_not(job_id_valid(long_id));
    cr_assert_not(job_id_valid(""));
    cr_assert_not(job_id_valid("a b"));
    cr_assert_not(job_id_valid("a/b"));
    cr_assert_not(job_id_valid(NULL));
}

Test(job, rejects_bad_id_and_falls_back_to_entry_id)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_kv(&m, "id", "no spaces allowed");
    job = decode(&m);

    expect_reject(job, "id must be");
    cr_assert_str_eq(job->id, "1700000000000-0");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_non_string_id)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_str(&m, "id");
    msgpack_pack_int(&m.pk, 5);
    job = decode(&m);

    expect_reject(job, "id must be a string");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_tenant_with_space)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_kv(&m, "tenant", "acme corp");
    job = decode(&m);

    expect_reject(job, "tenant must be");
    cr_assert_str_eq(job->tenant, "default");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_tenant_longer_than_64)
{
    char tenant[66];
    struct msg m;
    struct job *job;

    memset(tenant, 't', 65);
    tenant[65] = '\0';
    begin_python(&m, 3);
    put_kv(&m, "tenant", tenant);
    job = decode(&m);

    expect_reject(job, "tenant must be");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_empty_tenant)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_kv(&m, "tenant", "");
    job = decode(&m);

    expect_reject(job, "tenant must be");
    job_free(job);
    msg_destroy(&m);
}

/* ==== language ==== */

Test(job, rejects_unknown_language_naming_the_known_ones)
{
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_map(&m.pk, 3);
    put_kv(&m, "language", "cobol");
    put_kv(&m, "source", "DISPLAY 'HI'.");
    put_str(&m, "meta");
    msgpack_pack_int(&m.pk, -3);
    job = decode(&m);

    cr_assert_str_eq(job->reject_reason, "unknown language 'cobol' (known: python, node, c, sh)");
    cr_assert_str_eq(job->language, "cobol");
    cr_assert_eq(job->meta_size, 1, "meta is kept for a rejected job");
    job_free(job);
    msg_destroy(&m);
}

Test(job, quotes_unknown_language_safely)
{
    char name[200];
    struct msg m;
    struct job *job;

    memset(name, '\n', sizeof(name));
    msg_init(&m);
    msgpack_pack_map(&m.pk, 2);
    put_str(&m, "language");
    put_strn(&m, name, sizeof(name));
    put_kv(&m, "source", "x");
    job = decode(&m);

    expect_reject(job, "unknown language '????");
    cr_assert_null(strchr(job->reject_reason, '\n'));
    cr_assert_lt(strlen(job->reject_reason), 200);
    cr_assert_null(job->language, "an over-long language is not kept");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_missing_language)
{
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_map(&m.pk, 1);
    put_kv(&m, "source", "x");
    job = decode(&m);

    cr_assert_str_eq(job->reject_reason, "language is missing");
    cr_assert_null(job->language);
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_non_string_language)
{
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_map(&m.pk, 2);
    put_str(&m, "language");
    msgpack_pack_true(&m.pk);
    put_kv(&m, "source", "x");
    job = decode(&m);

    expect_reject(job, "language must be a string");
    job_free(job);
    msg_destroy(&m);
}

/* ==== source, files and main ==== */

Test(job, rejects_both_source_and_files)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 4);
    put_str(&m, "files");
    msgpack_pack_map(&m.pk, 1);
    put_kv(&m, "main.py", "x");
    put_kv(&m, "main", "main.py");
    job = decode(&m);

    expect_reject(job, "either source or files");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_neither_source_nor_files)
{
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_map(&m.pk, 1);
    put_kv(&m, "language", "sh");
    job = decode(&m);

    expect_reject(job, "source or files is missing");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_non_bytes_source)
{
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_map(&m.pk, 2);
    put_kv(&m, "language", "sh");
    put_str(&m, "source");
    msgpack_pack_array(&m.pk, 0);
    job = decode(&m);

    expect_reject(job, "source must be a string or binary");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_main_with_source)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_kv(&m, "main", "other.py");
    job = decode(&m);

    expect_reject(job, "main goes with files");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_missing_main)
{
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_map(&m.pk, 2);
    put_kv(&m, "language", "python");
    put_str(&m, "files");
    msgpack_pack_map(&m.pk, 1);
    put_kv(&m, "a.py", "x");
    job = decode(&m);

    expect_reject(job, "main is missing");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_main_not_among_files)
{
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_map(&m.pk, 3);
    put_kv(&m, "language", "python");
    put_str(&m, "files");
    msgpack_pack_map(&m.pk, 1);
    put_kv(&m, "a.py", "x");
    put_kv(&m, "main", "b.py");
    job = decode(&m);

    cr_assert_str_eq(job->reject_reason, "main 'b.py' does not name one of files");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_empty_files)
{
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_map(&m.pk, 3);
    put_kv(&m, "language", "python");
    put_str(&m, "files");
    msgpack_pack_map(&m.pk, 0);
    put_kv(&m, "main", "a.py");
    job = decode(&m);

    expect_reject(job, "files must not be empty");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_files_that_are_not_a_map)
{
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_map(&m.pk, 3);
    put_kv(&m, "language", "python");
    put_kv(&m, "files", "main.py");
    put_kv(&m, "main", "main.py");
    job = decode(&m);

    expect_reject(job, "files must be a map");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_file_contents_that_are_not_bytes)
{
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_map(&m.pk, 3);
    put_kv(&m, "language", "python");
    put_str(&m, "files");
    msgpack_pack_map(&m.pk, 1);
    put_str(&m, "a.py");
    msgpack_pack_int(&m.pk, 1);
    put_kv(&m, "main", "a.py");
    job = decode(&m);

    expect_reject(job, "contents of 'a.py' must be a string or binary");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_absolute_file_path)
{
    struct job *job = decode_file_path("/etc/passwd", 11);

    cr_assert_str_eq(job->reject_reason, "files: path '/etc/passwd' is absolute");
    job_free(job);
}

Test(job, rejects_file_path_read_as_an_option)
{
    struct job *job = decode_file_path("-m", 2);

    cr_assert_str_eq(job->reject_reason, "files: path '-m' starts with '-'");
    job_free(job);
}

Test(job, rejects_dotdot_file_path)
{
    struct job *job = decode_file_path("a/../../x", 9);

    expect_reject(job, "has a '..' component");
    job_free(job);
}

Test(job, rejects_dot_component)
{
    struct job *job = decode_file_path("./x.py", 6);

    expect_reject(job, "has a '.' component");
    job_free(job);
}

Test(job, rejects_empty_component)
{
    struct job *job = decode_file_path("a//b.py", 7);

    expect_reject(job, "has an empty component");
    job_free(job);
}

Test(job, rejects_trailing_slash)
{
    struct job *job = decode_file_path("dir/", 4);

    expect_reject(job, "has an empty component");
    job_free(job);
}

Test(job, rejects_empty_file_path)
{
    struct job *job = decode_file_path("", 0);

    expect_reject(job, "is empty");
    job_free(job);
}

Test(job, rejects_nul_in_file_path)
{
    struct job *job = decode_file_path("a.py\0.txt", 9);

    expect_reject(job, "contains a NUL byte");
    job_free(job);
}

Test(job, rejects_file_path_longer_than_255)
{
    char path[256];
    struct job *job;

    memset(path, 'p', sizeof(path));
    job = decode_file_path(path, sizeof(path));

    expect_reject(job, "longer than 255 bytes");
    job_free(job);
}

Test(job, accepts_file_path_of_255)
{
    char path[255];
    struct job *job;

    memset(path, 'p', sizeof(path));
    job = decode_file_path(path, sizeof(path));

    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    cr_assert_eq(strlen(job->files[0].path), 255);
    job_free(job);
}

Test(job, rejects_duplicated_file_path)
{
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_map(&m.pk, 3);
    put_kv(&m, "language", "python");
    put_str(&m, "files");
    msgpack_pack_map(&m.pk, 3);
    put_kv(&m, "a.py", "1");
    put_kv(&m, "b.py", "2");
    put_kv(&m, "a.py", "3");
    put_kv(&m, "main", "a.py");
    job = decode(&m);

    cr_assert_str_eq(job->reject_reason, "files: path 'a.py' is given twice");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_path_that_is_file_and_directory)
{
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_map(&m.pk, 3);
    put_kv(&m, "language", "python");
    put_str(&m, "files");
    msgpack_pack_map(&m.pk, 2);
    put_kv(&m, "lib/x/y.py", "1");
    put_kv(&m, "lib/x", "2");
    put_kv(&m, "main", "lib/x");
    job = decode(&m);

    expect_reject(job, "'lib/x' is both a file and a directory");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_more_files_than_max_files)
{
    struct msg m;
    struct job *job;

    config->max_files = 2;
    msg_init(&m);
    msgpack_pack_map(&m.pk, 3);
    put_kv(&m, "language", "python");
    put_str(&m, "files");
    msgpack_pack_map(&m.pk, 3);
    put_kv(&m, "a.py", "1");
    put_kv(&m, "b.py", "2");
    put_kv(&m, "c.py", "3");
    put_kv(&m, "main", "a.py");
    job = decode(&m);

    cr_assert_str_eq(job->reject_reason, "files has 3 entries, more than max_files 2");
    job_free(job);
    msg_destroy(&m);
}

/* ==== stdin and args ==== */

Test(job, rejects_non_bytes_stdin)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_str(&m, "stdin");
    msgpack_pack_int(&m.pk, 0);
    job = decode(&m);

    expect_reject(job, "stdin must be a string or binary");
    job_free(job);
    msg_destroy(&m);
}

Test(job, accepts_binary_stdin)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_str(&m, "stdin");
    put_bin(&m, "\x00\x01\x02", 3);
    job = decode(&m);

    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    cr_assert_eq(job->stdin_size, 3);
    cr_assert_arr_eq(job->stdin_data, "\x00\x01\x02", 3);
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_more_args_than_max_args)
{
    struct msg m;
    struct job *job;

    config->max_args = 2;
    begin_python(&m, 3);
    put_str(&m, "args");
    msgpack_pack_array(&m.pk, 3);
    put_str(&m, "1");
    put_str(&m, "2");
    put_str(&m, "3");
    job = decode(&m);

    cr_assert_str_eq(job->reject_reason, "args has 3 entries, more than max_args 2");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_arg_with_nul)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_str(&m, "args");
    msgpack_pack_array(&m.pk, 2);
    put_str(&m, "ok");
    put_strn(&m, "a\0b", 3);
    job = decode(&m);

    cr_assert_str_eq(job->reject_reason, "args[1] must be UTF-8 text without NUL bytes");
    job_free(job);
    msg_destroy(&m);
}

/* Text fields are echoed or used as names: anything but well-formed UTF-8 is refused, the
 * forms that strict decoders reject included. */
Test(job, rejects_text_that_is_not_utf8)
{
    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        {"a\xff", 2},          /* never valid */
        {"\xc0\xaf", 2},       /* overlong '/' */
        {"\xed\xa0\x80", 3},   /* a surrogate */
        {"\xf4\x90\x80\x80", 4}, /* past U+10FFFF */
        {"\xe2\x82", 2},       /* cut short */
    };
    struct msg m;
    struct job *job;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        job = decode_file_path(bad[i].bytes, bad[i].len);
        expect_reject(job, "is not UTF-8");
        job_free(job);
    }

    job = decode_file_path("caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x90\x8d.py", 17);
    cr_assert_null(job->reject_reason, "%s", job->reject_reason);
    job_free(job);

    begin_python(&m, 3);
    put_str(&m, "args");
    msgpack_pack_array(&m.pk, 1);
    put_strn(&m, "\xff", 1);
    job = decode(&m);
    cr_assert_str_eq(job->reject_reason, "args[0] must be UTF-8 text without NUL bytes");
    job_free(job);
    msg_destroy(&m);

    msg_init(&m);
    msgpack_pack_map(&m.pk, 2);
    put_str(&m, "language");
    put_strn(&m, "py\xffthon", 7);
    put_kv(&m, "source", "print(1)\n");
    job = decode(&m);
    expect_reject(job, "language");
    cr_assert_null(job->language, "a language that is not UTF-8 must not be echoed");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_non_string_arg)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_str(&m, "args");
    msgpack_pack_array(&m.pk, 1);
    msgpack_pack_int(&m.pk, 5);
    job = decode(&m);

    expect_reject(job, "args[0] must be UTF-8 text");
    job_free(job);
    msg_destroy(&m);
}

Test(job, rejects_args_that_are_not_an_array)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_kv(&m, "args", "-v");
    job = decode(&m);

    expect_reject(job, "args must be an array");
    job_free(job);
    msg_destroy(&m);
}

/* ==== limits ==== */

static struct job *decode_limit(const char *name, void (*pack_value)(msgpack_packer *pk))
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_str(&m, "limits");
    msgpack_pack_map(&m.pk, 1);
    put_str(&m, name);
    pack_value(&m.pk);
    job = decode(&m);
    msg_destroy(&m);
    return job;
}

static void pack_huge(msgpack_packer *pk)
{
    msgpack_pack_uint64(pk, 999999);
}

static void pack_zero(msgpack_packer *pk)
{
    msgpack_pack_uint64(pk, 0);
}

static void pack_negative(msgpack_packer *pk)
{
    msgpack_pack_int64(pk, -1);
}

static void pack_float(msgpack_packer *pk)
{
    msgpack_pack_double(pk, 100.0);
}

static void pack_text(msgpack_packer *pk)
{
    msgpack_pack_str(pk, 3);
    msgpack_pack_str_body(pk, "100", 3);
}

static void pack_small(msgpack_packer *pk)
{
    msgpack_pack_uint64(pk, 10);
}

Test(job, rejects_limit_above_ceiling)
{
    struct job *job = decode_limit("memory_mb", pack_huge);

    cr_assert_str_eq(job->reject_reason, "limits.memory_mb 999999 is above the ceiling 8192");
    job_free(job);
}

Test(job, rejects_zero_limit)
{
    struct job *job = decode_limit("pids", pack_zero);

    cr_assert_str_eq(job->reject_reason, "limits.pids must be a positive integer");
    job_free(job);
}

Test(job, rejects_negative_limit)
{
    struct job *job = decode_limit("wall_ms", pack_negative);

    expect_reject(job, "limits.wall_ms must be a positive integer");
    job_free(job);
}

Test(job, rejects_float_limit)
{
    struct job *job = decode_limit("cpu_ms", pack_float);

    expect_reject(job, "limits.cpu_ms must be a positive integer");
    job_free(job);
}

Test(job, rejects_string_limit)
{
    struct job *job = decode_limit("disk_mb", pack_text);

    expect_reject(job, "limits.disk_mb must be a positive integer");
    job_free(job);
}

Test(job, rejects_unknown_limit_name)
{
    struct job *job = decode_limit("memory_gb", pack_small);

    expect_reject(job, "limits.memory_gb is not a known limit");
    job_free(job);
}

Test(job, rejects_limits_that_are_not_a_map)
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_str(&m, "limits");
    msgpack_pack_array(&m.pk, 0);
    job = decode(&m);

    expect_reject(job, "limits must be a map");
    job_free(job);
    msg_destroy(&m);
}

Test(job, main_file_is_null_without_main)
{
    struct job job = { 0 };

    cr_assert_null(job_main_file(&job));
    cr_assert_null(job_main_file(NULL));
    job_free(NULL);
}

/* ==== max_attempts ==== */

/* A python job with max_attempts packed by pack. */
static struct job *decode_max_attempts(void (*pack)(msgpack_packer *))
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_str(&m, "max_attempts");
    pack(&m.pk);
    job = decode(&m);
    msg_destroy(&m);
    return job;
}

static void pack_one(msgpack_packer *pk)
{
    msgpack_pack_uint64(pk, 1);
}

static void pack_ceiling(msgpack_packer *pk)
{
    msgpack_pack_uint64(pk, config->max_attempts);
}

static void pack_over_ceiling(msgpack_packer *pk)
{
    msgpack_pack_uint64(pk, config->max_attempts + 1);
}

static void pack_attempts_zero(msgpack_packer *pk)
{
    msgpack_pack_uint64(pk, 0);
}

static void pack_attempts_negative(msgpack_packer *pk)
{
    msgpack_pack_int64(pk, -2);
}

static void pack_attempts_string(msgpack_packer *pk)
{
    msgpack_pack_str(pk, 1);
    msgpack_pack_str_body(pk, "2", 1);
}

static void pack_attempts_nil(msgpack_packer *pk)
{
    msgpack_pack_nil(pk);
}

Test(job, reads_its_own_max_attempts)
{
    struct job *job = decode_max_attempts(pack_one);

    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    cr_assert_eq(job->max_attempts, 1);
    job_free(job);
}

Test(job, accepts_max_attempts_equal_to_ceiling)
{
    struct job *job = decode_max_attempts(pack_ceiling);

    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    cr_assert_eq(job->max_attempts, config->max_attempts);
    job_free(job);
}

Test(job, rejects_max_attempts_above_ceiling)
{
    struct job *job = decode_max_attempts(pack_over_ceiling);

    cr_assert_eq(config->max_attempts, 3, "the shipped ceiling changed: adjust the reason");
    cr_assert_str_eq(job->reject_reason, "max_attempts 4 is above the ceiling 3");
    job_free(job);
}

Test(job, rejects_zero_max_attempts)
{
    struct job *job = decode_max_attempts(pack_attempts_zero);

    cr_assert_str_eq(job->reject_reason, "max_attempts must be a positive integer");
    job_free(job);
}

Test(job, rejects_negative_max_attempts)
{
    struct job *job = decode_max_attempts(pack_attempts_negative);

    expect_reject(job, "max_attempts must be a positive integer");
    job_free(job);
}

Test(job, rejects_string_max_attempts)
{
    struct job *job = decode_max_attempts(pack_attempts_string);

    expect_reject(job, "max_attempts must be a positive integer");
    job_free(job);
}

Test(job, takes_nil_max_attempts_as_absent)
{
    struct job *job = decode_max_attempts(pack_attempts_nil);

    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    cr_assert_eq(job->max_attempts, config->max_attempts);
    job_free(job);
}

/* ==== deadline ==== */

/* A python job with a deadline packed by pack. */
static struct job *decode_deadline(void (*pack)(msgpack_packer *))
{
    struct msg m;
    struct job *job;

    begin_python(&m, 3);
    put_str(&m, "deadline");
    pack(&m.pk);
    job = decode(&m);
    msg_destroy(&m);
    return job;
}

static void pack_deadline_ms(msgpack_packer *pk)
{
    msgpack_pack_uint64(pk, 1767225600123ULL);
}

Test(job, reads_its_deadline_in_ms)
{
    struct job *job = decode_deadline(pack_deadline_ms);

    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    cr_assert_eq(job->deadline_ms, 1767225600123ULL);
    job_free(job);
}

Test(job, has_no_deadline_when_absent_or_nil)
{
    struct job *absent = decode_max_attempts(pack_one);
    struct job *nil = decode_deadline(pack_attempts_nil);

    cr_assert_eq(absent->deadline_ms, 0);
    cr_assert_null(nil->reject_reason, "rejected: %s", nil->reject_reason);
    cr_assert_eq(nil->deadline_ms, 0);
    job_free(absent);
    job_free(nil);
}

Test(job, rejects_zero_negative_or_string_deadline)
{
    void (*packs[])(msgpack_packer *) = { pack_attempts_zero, pack_attempts_negative,
                                          pack_attempts_string };

    for (size_t i = 0; i < sizeof(packs) / sizeof(packs[0]); i++) {
        struct job *job = decode_deadline(packs[i]);

        expect_reject(job, "deadline must be a positive integer (ms since the Unix epoch)");
        job_free(job);
    }
}

/* ==== Tenant policy (job_apply_policy) ==== */

#define POLICY_TEXT                                                                             \
    "{\"version\": \"unit-1\",\n"                                                               \
    " \"defaults\": {\"resources\": {\"limits\": {\"wall_ms\": {\"default\": 4000}}}},\n"       \
    " \"tenants\": {\n"                                                                         \
    "  \"acme\": {\"resources\": {\"limits\": {\"memory_mb\": {\"default\": 128,"               \
    " \"max\": 256}}},\n"                                                                       \
    "            \"code\": {\"languages\": [\"python\"]},\n"                                    \
    "            \"processes\": {\"children\": false},\n"                                       \
    "            \"filesystem\": {\"tmp_mb\": 8}},\n"                                           \
    "  \"sec\": {\"code\": {\"seccomp_profile\": \"/opt/ccx/strict.json\"}}}}\n"

/* The policy above, read by the real loader from a file of its own. */
static struct policy *load_policy(void)
{
    return fixture_policy(config, POLICY_TEXT);
}

/* A job of tenant in language, with one limit when limit is not NULL. */
static struct job *decode_tenant_job(const char *tenant, const char *language, const char *limit,
                                     uint64_t value)
{
    struct msg m;
    struct job *job;

    msg_init(&m);
    msgpack_pack_map(&m.pk, limit ? 4 : 3);
    put_kv(&m, "tenant", tenant);
    put_kv(&m, "language", language);
    put_kv(&m, "source", "print(1)\n");
    if (limit) {
        put_str(&m, "limits");
        msgpack_pack_map(&m.pk, 1);
        put_str(&m, limit);
        msgpack_pack_uint64(&m.pk, value);
    }
    job = decode(&m);
    msg_destroy(&m);
    return job;
}

/* Decodes the job and applies the shipped-for-tests policy to it. */
static struct job *decide(const char *tenant, const char *language, const char *limit,
                          uint64_t value)
{
    struct policy *policy = load_policy();
    struct job *job = decode_tenant_job(tenant, language, limit, value);

    cr_assert_eq(job_apply_policy(job, policy), 0);
    policy_free(policy);
    return job;
}

Test(job, records_which_limits_the_job_set)
{
    struct job *job = decode_tenant_job("acme", "python", "pids", 10);

    for (int i = 0; i < LIMITS_FIELD_COUNT; i++)
        cr_assert_eq(job->limits_set[i], strcmp(limits_field_names[i], "pids") == 0,
                     "limits_set[%s]", limits_field_names[i]);
    job_free(job);
}

Test(job, policy_fills_limits_the_job_left_out_with_the_tenant_defaults)
{
    struct job *job = decide("acme", "python", NULL, 0);

    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    cr_assert_eq(job->limits.memory_mb, 128, "the tenant's own default");
    cr_assert_eq(job->limits.wall_ms, 4000, "inherited from the policy's defaults");
    cr_assert_eq(job->limits.cpu_ms, config->limits_default.cpu_ms, "the config's");
    cr_assert_str_eq(job->policy_version, "unit-1");
    job_free(job);
}

Test(job, policy_keeps_a_limit_the_job_set_within_the_tenant_ceiling)
{
    struct job *below = decide("acme", "python", "memory_mb", 200);
    struct job *at = decide("acme", "python", "memory_mb", 256);

    cr_assert_null(below->reject_reason, "rejected: %s", below->reject_reason);
    cr_assert_eq(below->limits.memory_mb, 200);
    cr_assert_null(at->reject_reason, "rejected: %s", at->reject_reason);
    cr_assert_eq(at->limits.memory_mb, 256);
    job_free(below);
    job_free(at);
}

Test(job, policy_rejects_a_limit_over_the_tenant_ceiling_naming_it)
{
    struct job *job = decide("acme", "python", "memory_mb", 512);

    expect_reject(job, "limits.memory_mb 512 is above the ceiling 256 of tenant 'acme'");
    cr_assert_str_eq(job->policy_version, "unit-1");
    job_free(job);
}

Test(job, policy_ceiling_is_the_tenants_own)
{
    /* 512 passes the config's ceiling and, for a tenant the file does not name, the policy's
     * defaults, which leave memory_mb at the config's. */
    struct job *job = decide("other", "python", "memory_mb", 512);

    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    cr_assert_eq(job->limits.memory_mb, 512);
    job_free(job);
}

Test(job, policy_rejects_a_language_the_tenant_may_not_use_naming_both)
{
    struct job *refused = decide("acme", "node", NULL, 0);
    struct job *other = decide("other", "node", NULL, 0);

    expect_reject(refused, "language 'node' is not allowed for tenant 'acme' (allowed: python)");
    cr_assert_null(other->reject_reason, "a tenant without a list may use any: %s",
                   other->reject_reason);
    job_free(refused);
    job_free(other);
}

Test(job, policy_sets_children_tmp_and_seccomp_profile)
{
    struct job *acme = decide("acme", "python", NULL, 0);
    struct job *sec = decide("sec", "python", NULL, 0);
    struct job *other = decide("other", "python", NULL, 0);

    cr_assert_eq(acme->children, false);
    cr_assert_eq(acme->tmp_mb, 8);
    cr_assert_null(acme->seccomp_profile);
    cr_assert_str_eq(sec->seccomp_profile, "/opt/ccx/strict.json");
    cr_assert_eq(sec->children, true);
    cr_assert_eq(other->children, true);
    cr_assert_eq(other->tmp_mb, config->sandbox.tmp_mb);
    cr_assert_null(other->seccomp_profile);
    job_free(acme);
    job_free(sec);
    job_free(other);
}

Test(job, policy_keeps_the_decoders_reason_and_still_names_the_version)
{
    /* Over the config's ceiling: the decoder rejects it first, and that reason stands. */
    struct job *job = decide("acme", "node", "memory_mb", config->limits_max.memory_mb + 1);

    expect_reject(job, "is above the ceiling");
    cr_assert_null(strstr(job->reject_reason, "tenant"), "reason: %s", job->reject_reason);
    cr_assert_str_eq(job->policy_version, "unit-1");
    job_free(job);
}

Test(job, builtin_policy_changes_nothing_but_the_version)
{
    struct policy *policy = NULL;
    struct job *job = decode_tenant_job("acme", "node", "pids", 10);
    struct limits before = job->limits;

    cr_assert_eq(policy_builtin(config, &policy), 0);
    cr_assert_eq(job_apply_policy(job, policy), 0);
    cr_assert_null(job->reject_reason, "rejected: %s", job->reject_reason);
    cr_assert_eq(memcmp(&job->limits, &before, sizeof(before)), 0);
    cr_assert_str_eq(job->policy_version, "builtin");
    cr_assert_eq(job->children, true);
    policy_free(policy);
    job_free(job);
}

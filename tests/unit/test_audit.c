/* common/audit.c: the code hash (order of files, framing) and the life-cycle event maps. */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>
#include <msgpack.h>

#include "common/audit.h"

/* Two files given out of order; the hash takes them sorted by path. */
static struct job_file two_files[] = {
    { .path = (char *)"main.sh", .data = (uint8_t *)"echo hi\n", .size = 8 },
    { .path = (char *)"lib/a.sh", .data = (uint8_t *)"x=1\n", .size = 4 },
};

/* sha256 of "lib/a.sh\0" + 4 as 8 bytes big-endian + "x=1\n" + "main.sh\0" + 8 as 8 bytes
 * big-endian + "echo hi\n", computed independently (Python hashlib). */
#define TWO_FILES_HASH                                                                     \
    "sha256:2a7a114c1144fefb4970e088b6aa17bf77991e63630e2be3b68bab5544895fb7"

static const msgpack_object *map_get(const msgpack_object *map, const char *key)
{
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];

        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(key) &&
            memcmp(kv->key.via.str.ptr, key, strlen(key)) == 0)
            return &kv->val;
    }
    return NULL;
}

static void assert_str(const msgpack_object *map, const char *key, const char *want)
{
    const msgpack_object *value = map_get(map, key);

    cr_assert_not_null(value, "no %s", key);
    cr_assert_eq(value->type, MSGPACK_OBJECT_STR, "%s is not a str", key);
    cr_assert_eq(value->via.str.size, strlen(want), "%s", key);
    cr_assert_eq(memcmp(value->via.str.ptr, want, strlen(want)), 0, "%s", key);
}

Test(audit, code_hash_sorts_files_and_frames_each_by_path_nul_size)
{
    struct job job = { .files = two_files, .file_count = 2 };
    char hash[AUDIT_CODE_HASH_SIZE];

    cr_assert_eq(audit_code_hash(&job, hash), 0);
    cr_assert_str_eq(hash, TWO_FILES_HASH);
}

Test(audit, code_hash_of_no_files_is_the_empty_sha256)
{
    struct job job = { 0 };
    char hash[AUDIT_CODE_HASH_SIZE];

    cr_assert_eq(audit_code_hash(&job, hash), 0);
    cr_assert_str_eq(hash,
                     "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

Test(audit, job_queued_carries_every_common_field_and_bytes)
{
    struct audit_job job = { .job_id = "j1", .tenant = "acme", .language = "sh",
                             .code_hash = "sha256:00", .policy_version = "v7" };
    msgpack_sbuffer out;
    msgpack_unpacked unpacked;
    const msgpack_object *bytes, *worker;

    msgpack_sbuffer_init(&out);
    cr_assert_eq(audit_encode_queued(&job, "h1", -1, 1234, 99, &out), 0);
    msgpack_unpacked_init(&unpacked);
    cr_assert_eq(msgpack_unpack_next(&unpacked, out.data, out.size, NULL),
                 MSGPACK_UNPACK_SUCCESS);
    cr_assert_eq(unpacked.data.type, MSGPACK_OBJECT_MAP);
    cr_assert_eq(unpacked.data.via.map.size, 10);
    assert_str(&unpacked.data, "kind", "job_queued");
    assert_str(&unpacked.data, "job_id", "j1");
    assert_str(&unpacked.data, "tenant", "acme");
    assert_str(&unpacked.data, "language", "sh");
    assert_str(&unpacked.data, "code_hash", "sha256:00");
    assert_str(&unpacked.data, "policy_version", "v7");
    assert_str(&unpacked.data, "host", "h1");
    bytes = map_get(&unpacked.data, "bytes");
    cr_assert(bytes && bytes->type == MSGPACK_OBJECT_POSITIVE_INTEGER && bytes->via.u64 == 99);
    worker = map_get(&unpacked.data, "worker");
    cr_assert(worker && worker->type == MSGPACK_OBJECT_NEGATIVE_INTEGER &&
              worker->via.i64 == -1);
    msgpack_unpacked_destroy(&unpacked);
    msgpack_sbuffer_destroy(&out);
}

/* The claim script appends ts and attempt to head + where: the head must announce exactly
 * that many entries. */
Test(audit, job_started_head_and_where_leave_two_entries_for_the_script)
{
    struct audit_job job = { .job_id = "j1", .tenant = "acme", .code_hash = "sha256:00",
                             .policy_version = "v7" };
    msgpack_sbuffer out;
    msgpack_unpacked unpacked;
    msgpack_packer pk;

    msgpack_sbuffer_init(&out);
    cr_assert_eq(audit_encode_started_head(&job, &out), 0);
    cr_assert_eq(audit_encode_started_where("h1", 3, &out), 0);
    msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
    msgpack_pack_str(&pk, 2);
    msgpack_pack_str_body(&pk, "ts", 2);
    msgpack_pack_uint64(&pk, 5);
    msgpack_pack_str(&pk, 7);
    msgpack_pack_str_body(&pk, "attempt", 7);
    msgpack_pack_uint64(&pk, 1);

    msgpack_unpacked_init(&unpacked);
    cr_assert_eq(msgpack_unpack_next(&unpacked, out.data, out.size, NULL),
                 MSGPACK_UNPACK_SUCCESS);
    cr_assert_eq(unpacked.data.via.map.size, AUDIT_STARTED_FIELDS);
    assert_str(&unpacked.data, "kind", "job_started");
    assert_str(&unpacked.data, "host", "h1");
    cr_assert_eq(map_get(&unpacked.data, "language")->type, MSGPACK_OBJECT_NIL);
    msgpack_unpacked_destroy(&unpacked);
    msgpack_sbuffer_destroy(&out);
}

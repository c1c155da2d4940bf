/* common/result.c: status names, the event and enforcement lists, and the msgpack encoding of
 * results and events, checked by decoding what was encoded. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <msgpack.h>

#include "common/result.h"

/* ==== Decoding helpers ==== */

struct decoded {
    msgpack_unpacked unpacked;
    msgpack_object root;
};

static void decode(const msgpack_sbuffer *sbuf, struct decoded *d)
{
    size_t off = 0;

    msgpack_unpacked_init(&d->unpacked);
    cr_assert_eq(msgpack_unpack_next(&d->unpacked, sbuf->data, sbuf->size, &off),
                 MSGPACK_UNPACK_SUCCESS);
    cr_assert_eq(off, sbuf->size, "bytes left after the encoded map");
    d->root = d->unpacked.data;
    cr_assert_eq(d->root.type, MSGPACK_OBJECT_MAP);
}

static const msgpack_object *get(const msgpack_object *map, const char *key)
{
    size_t len = strlen(key);

    cr_assert_eq(map->type, MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;

        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == len &&
            memcmp(k->via.str.ptr, key, len) == 0)
            return &map->via.map.ptr[i].val;
    }
    cr_assert_fail("no key %s in the map", key);
    return NULL;
}

static void assert_str(const msgpack_object *obj, const char *expected)
{
    cr_assert_eq(obj->type, MSGPACK_OBJECT_STR, "type %d is not a string", obj->type);
    cr_assert_eq(obj->via.str.size, strlen(expected));
    cr_assert_arr_eq(obj->via.str.ptr, expected, strlen(expected));
}

static void assert_uint(const msgpack_object *obj, uint64_t expected)
{
    cr_assert_eq(obj->type, MSGPACK_OBJECT_POSITIVE_INTEGER, "type %d", obj->type);
    cr_assert_eq(obj->via.u64, expected);
}

static void assert_nil(const msgpack_object *obj)
{
    cr_assert_eq(obj->type, MSGPACK_OBJECT_NIL, "type %d is not nil", obj->type);
}

static void assert_bin(const msgpack_object *obj, const char *expected, size_t size)
{
    cr_assert_eq(obj->type, MSGPACK_OBJECT_BIN, "type %d is not bin", obj->type);
    cr_assert_eq(obj->via.bin.size, size);
    cr_assert_arr_eq(obj->via.bin.ptr, expected, size);
}

static uint8_t *dup_bytes(const char *text, size_t size)
{
    uint8_t *copy = malloc(size);

    cr_assert_not_null(copy);
    memcpy(copy, text, size);
    return copy;
}

/* A result as a worker would fill it after a C job that was killed for memory. */
static void fill_result(struct result *r, const uint8_t *meta, size_t meta_size)
{
    *r = (struct result){ 0 };
    r->id = strdup("job-7");
    r->status = JOB_STATUS_MEMORY_LIMIT;
    r->language = strdup("c");
    r->tenant = strdup("acme");
    r->run.status = JOB_STATUS_MEMORY_LIMIT;
    r->run.exit_code = -1;
    r->run.signal = SIGKILL;
    r->run.stdout_data = dup_bytes("out\0put", 7);
    r->run.stdout_size = 7;
    r->run.stdout_dropped = 12;
    r->run.stderr_data = dup_bytes("err", 3);
    r->run.stderr_size = 3;
    r->run.wall_ms = 1500;
    r->run.cpu_ms = 1400;
    r->run.memory_peak_kb = 262144;
    r->has_compile = true;
    r->compile.status = JOB_STATUS_OK;
    r->compile.exit_code = 0;
    r->compile.stderr_data = dup_bytes("warning", 7);
    r->compile.stderr_size = 7;
    r->compile.wall_ms = 300;
    cr_assert_eq(event_list_add(&r->events, "memory_limit", "limit_mb=%d", 256), 0);
    cr_assert_eq(enforcement_list_set(&r->enforced, "memory", "cgroup_v2 memory.max"), 0);
    r->host = strdup("node1");
    r->worker = 3;
    r->attempt = 2;
    r->policy_version = strdup("2026-12-04.1");
    r->meta = meta;
    r->meta_size = meta_size;
}

/* ==== Status names ==== */

Test(result, status_names_match_the_protocol)
{
    static const char *const names[] = {
        "ok", "error_exit", "signaled", "timeout", "cpu_limit", "memory_limit", "pids_limit",
        "output_limit", "policy_violation", "compile_error", "rejected", "internal_error",
        "dead_letter", "cancelled", "expired", "circuit_open",
    };

    cr_assert_eq(sizeof(names) / sizeof(names[0]), JOB_STATUS_COUNT);
    for (int i = 0; i < JOB_STATUS_COUNT; i++) {
        cr_assert_str_eq(job_status_name(i), names[i]);
        cr_assert_eq(job_status_parse(names[i]), i);
    }
}

Test(result, status_name_out_of_range_is_null)
{
    cr_assert_null(job_status_name(JOB_STATUS_COUNT));
    cr_assert_null(job_status_name((enum job_status)-1));
}

Test(result, status_parse_rejects_unknown_name)
{
    cr_assert_eq(job_status_parse("oom"), -EINVAL);
    cr_assert_eq(job_status_parse(NULL), -EINVAL);
}

/* ==== Lists ==== */

Test(result, event_list_formats_detail_and_grows)
{
    struct event_list list = { 0 };

    for (int i = 0; i < 50; i++)
        cr_assert_eq(event_list_add(&list, "seccomp_kill", "syscall=%d", i), 0);

    cr_assert_eq(list.count, 50);
    cr_assert_geq(list.capacity, 50);
    cr_assert_str_eq(list.items[0].kind, "seccomp_kill");
    cr_assert_str_eq(list.items[49].detail, "syscall=49");
    event_list_clear(&list);
    cr_assert_eq(list.count, 0);
    cr_assert_null(list.items);
}

Test(result, enforcement_set_replaces_existing_entry)
{
    struct enforcement_list list = { 0 };

    cr_assert_eq(enforcement_list_set(&list, "memory", "cgroup_v1 %s", "memory.limit_in_bytes"),
                 0);
    cr_assert_eq(enforcement_list_set(&list, "pids", "cgroup_v2 pids.max"), 0);
    cr_assert_eq(enforcement_list_set(&list, "memory", "cgroup_v2 memory.max"), 0);

    cr_assert_eq(list.count, 2);
    cr_assert_str_eq(list.items[0].what, "memory");
    cr_assert_str_eq(list.items[0].how, "cgroup_v2 memory.max");
    cr_assert_str_eq(list.items[1].how, "cgroup_v2 pids.max");
    enforcement_list_clear(&list);
    cr_assert_eq(list.count, 0);
}

Test(result, step_outcome_clear_frees_and_resets)
{
    struct step_outcome step = { .exit_code = 3, .signal = 9, .wall_ms = 5 };

    step.stdout_data = dup_bytes("x", 1);
    step.stdout_size = 1;
    step_outcome_clear(&step);

    cr_assert_null(step.stdout_data);
    cr_assert_eq(step.stdout_size, 0);
    cr_assert_eq(step.signal, 0);
    cr_assert_eq(step.wall_ms, 0);
    cr_assert_eq(step.exit_code, -1);
}

Test(result, result_clear_leaves_meta_alone)
{
    static const uint8_t meta[] = { 0x01 };
    struct result r;

    fill_result(&r, meta, sizeof(meta));
    result_clear(&r);

    cr_assert_null(r.id);
    cr_assert_null(r.meta);
    cr_assert_eq(r.events.count, 0);
    cr_assert_eq(r.enforced.count, 0);
    cr_assert_eq(meta[0], 0x01);
}

/* ==== Result encoding ==== */

Test(result, encodes_exactly_the_protocol_keys)
{
    static const char *const keys[] = {
        "id", "status", "reason", "language", "tenant", "exit_code", "signal", "signal_name",
        "stdout", "stderr", "stdout_dropped", "stderr_dropped", "wall_ms", "cpu_ms",
        "memory_peak_kb", "compile", "events", "enforced", "host", "worker", "attempt",
        "policy_version", "meta",
    };
    msgpack_sbuffer sbuf;
    struct decoded d;
    struct result r;

    fill_result(&r, NULL, 0);
    msgpack_sbuffer_init(&sbuf);
    cr_assert_eq(result_encode(&r, &sbuf), 0);
    decode(&sbuf, &d);

    cr_assert_eq(d.root.via.map.size, sizeof(keys) / sizeof(keys[0]));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        get(&d.root, keys[i]);

    msgpack_unpacked_destroy(&d.unpacked);
    msgpack_sbuffer_destroy(&sbuf);
    result_clear(&r);
}

Test(result, encodes_run_fields)
{
    msgpack_sbuffer sbuf;
    struct decoded d;
    struct result r;

    fill_result(&r, NULL, 0);
    msgpack_sbuffer_init(&sbuf);
    cr_assert_eq(result_encode(&r, &sbuf), 0);
    decode(&sbuf, &d);

    assert_str(get(&d.root, "id"), "job-7");
    assert_str(get(&d.root, "status"), "memory_limit");
    assert_nil(get(&d.root, "reason"));
    assert_str(get(&d.root, "language"), "c");
    assert_str(get(&d.root, "tenant"), "acme");
    assert_nil(get(&d.root, "exit_code"));
    assert_uint(get(&d.root, "signal"), SIGKILL);
    assert_str(get(&d.root, "signal_name"), "SIGKILL");
    assert_bin(get(&d.root, "stdout"), "out\0put", 7);
    assert_bin(get(&d.root, "stderr"), "err", 3);
    assert_uint(get(&d.root, "stdout_dropped"), 12);
    assert_uint(get(&d.root, "stderr_dropped"), 0);
    assert_uint(get(&d.root, "wall_ms"), 1500);
    assert_uint(get(&d.root, "cpu_ms"), 1400);
    assert_uint(get(&d.root, "memory_peak_kb"), 262144);
    assert_str(get(&d.root, "host"), "node1");
    assert_uint(get(&d.root, "worker"), 3);
    assert_uint(get(&d.root, "attempt"), 2);
    assert_str(get(&d.root, "policy_version"), "2026-12-04.1");

    msgpack_unpacked_destroy(&d.unpacked);
    msgpack_sbuffer_destroy(&sbuf);
    result_clear(&r);
}

Test(result, encodes_compile_events_and_enforced)
{
    const msgpack_object *compile, *events, *enforced;
    msgpack_sbuffer sbuf;
    struct decoded d;
    struct result r;

    fill_result(&r, NULL, 0);
    msgpack_sbuffer_init(&sbuf);
    cr_assert_eq(result_encode(&r, &sbuf), 0);
    decode(&sbuf, &d);

    compile = get(&d.root, "compile");
    cr_assert_eq(compile->via.map.size, 10);
    assert_str(get(compile, "status"), "ok");
    assert_uint(get(compile, "exit_code"), 0);
    assert_nil(get(compile, "signal"));
    assert_bin(get(compile, "stdout"), "", 0);
    assert_bin(get(compile, "stderr"), "warning", 7);
    assert_uint(get(compile, "wall_ms"), 300);
    get(compile, "stdout_dropped");
    get(compile, "stderr_dropped");
    get(compile, "cpu_ms");
    get(compile, "memory_peak_kb");

    events = get(&d.root, "events");
    cr_assert_eq(events->type, MSGPACK_OBJECT_ARRAY);
    cr_assert_eq(events->via.array.size, 1);
    assert_str(get(&events->via.array.ptr[0], "kind"), "memory_limit");
    assert_str(get(&events->via.array.ptr[0], "detail"), "limit_mb=256");

    enforced = get(&d.root, "enforced");
    cr_assert_eq(enforced->via.map.size, 1);
    assert_str(get(enforced, "memory"), "cgroup_v2 memory.max");

    msgpack_unpacked_destroy(&d.unpacked);
    msgpack_sbuffer_destroy(&sbuf);
    result_clear(&r);
}

Test(result, encodes_absent_values_as_nil)
{
    msgpack_sbuffer sbuf;
    struct decoded d;
    struct result r = { 0 };

    r.id = strdup("x");
    r.status = JOB_STATUS_REJECTED;
    r.reason = strdup("language is missing");
    r.run.exit_code = -1;
    msgpack_sbuffer_init(&sbuf);
    cr_assert_eq(result_encode(&r, &sbuf), 0);
    decode(&sbuf, &d);

    assert_str(get(&d.root, "status"), "rejected");
    assert_str(get(&d.root, "reason"), "language is missing");
    assert_nil(get(&d.root, "language"));
    assert_nil(get(&d.root, "exit_code"));
    assert_nil(get(&d.root, "signal"));
    assert_nil(get(&d.root, "signal_name"));
    assert_nil(get(&d.root, "compile"));
    assert_nil(get(&d.root, "meta"));
    assert_nil(get(&d.root, "host"));
    cr_assert_eq(get(&d.root, "events")->via.array.size, 0);
    cr_assert_eq(get(&d.root, "enforced")->via.map.size, 0);

    msgpack_unpacked_destroy(&d.unpacked);
    msgpack_sbuffer_destroy(&sbuf);
    result_clear(&r);
}

Test(result, encodes_exit_code_when_the_process_exited)
{
    msgpack_sbuffer sbuf;
    struct decoded d;
    struct result r = { 0 };

    r.status = JOB_STATUS_ERROR_EXIT;
    r.run.exit_code = 3;
    msgpack_sbuffer_init(&sbuf);
    cr_assert_eq(result_encode(&r, &sbuf), 0);
    decode(&sbuf, &d);

    assert_str(get(&d.root, "status"), "error_exit");
    assert_uint(get(&d.root, "exit_code"), 3);

    msgpack_unpacked_destroy(&d.unpacked);
    msgpack_sbuffer_destroy(&sbuf);
}

Test(result, names_realtime_signals)
{
    msgpack_sbuffer sbuf;
    struct decoded d;
    struct result r = { 0 };

    r.run.exit_code = -1;
    r.run.signal = SIGRTMIN + 2;
    msgpack_sbuffer_init(&sbuf);
    cr_assert_eq(result_encode(&r, &sbuf), 0);
    decode(&sbuf, &d);

    assert_str(get(&d.root, "signal_name"), "SIGRTMIN+2");

    msgpack_unpacked_destroy(&d.unpacked);
    msgpack_sbuffer_destroy(&sbuf);
}

Test(result, meta_round_trips_byte_for_byte)
{
    msgpack_sbuffer meta_buf, sbuf, again;
    msgpack_packer pk;
    struct decoded d;
    struct result r;

    /* {"trace": [1, -2, 3.5, nil, true], "bin": b"\x00\xff", "nested": {"k": {}}} */
    msgpack_sbuffer_init(&meta_buf);
    msgpack_packer_init(&pk, &meta_buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "trace", 5);
    msgpack_pack_array(&pk, 5);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_int(&pk, -2);
    msgpack_pack_double(&pk, 3.5);
    msgpack_pack_nil(&pk);
    msgpack_pack_true(&pk);
    msgpack_pack_str_with_body(&pk, "bin", 3);
    msgpack_pack_bin_with_body(&pk, "\x00\xff", 2);
    msgpack_pack_str_with_body(&pk, "nested", 6);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_map(&pk, 0);

    fill_result(&r, (const uint8_t *)meta_buf.data, meta_buf.size);
    msgpack_sbuffer_init(&sbuf);
    cr_assert_eq(result_encode(&r, &sbuf), 0);
    decode(&sbuf, &d);

    /* Re-encoding the decoded meta gives back exactly the bytes that went in. */
    msgpack_sbuffer_init(&again);
    msgpack_packer_init(&pk, &again, msgpack_sbuffer_write);
    cr_assert_eq(msgpack_pack_object(&pk, *get(&d.root, "meta")), 0);
    cr_assert_eq(again.size, meta_buf.size);
    cr_assert_arr_eq(again.data, meta_buf.data, meta_buf.size);

    msgpack_sbuffer_destroy(&again);
    msgpack_unpacked_destroy(&d.unpacked);
    msgpack_sbuffer_destroy(&sbuf);
    result_clear(&r);
    msgpack_sbuffer_destroy(&meta_buf);
}

Test(result, encode_appends_to_buffer)
{
    msgpack_sbuffer sbuf;
    struct result r = { 0 };
    size_t first;

    r.run.exit_code = -1;
    msgpack_sbuffer_init(&sbuf);
    cr_assert_eq(result_encode(&r, &sbuf), 0);
    first = sbuf.size;
    cr_assert_eq(result_encode(&r, &sbuf), 0);

    cr_assert_eq(sbuf.size, 2 * first);
    cr_assert_arr_eq(sbuf.data, sbuf.data + first, first);
    msgpack_sbuffer_destroy(&sbuf);
}

/* ==== Event encoding ==== */

Test(result, encodes_event_with_its_seven_keys)
{
    struct sandbox_event event = { .kind = "seccomp_kill", .detail = "syscall=ptrace" };
    msgpack_sbuffer sbuf;
    struct decoded d;

    msgpack_sbuffer_init(&sbuf);
    cr_assert_eq(event_encode(&event, "job-7", "acme", "node1", 4, 1700000000123ULL, &sbuf), 0);
    decode(&sbuf, &d);

    cr_assert_eq(d.root.via.map.size, 7);
    assert_uint(get(&d.root, "ts"), 1700000000123ULL);
    assert_str(get(&d.root, "job_id"), "job-7");
    assert_str(get(&d.root, "tenant"), "acme");
    assert_str(get(&d.root, "kind"), "seccomp_kill");
    assert_str(get(&d.root, "detail"), "syscall=ptrace");
    assert_str(get(&d.root, "host"), "node1");
    assert_uint(get(&d.root, "worker"), 4);

    msgpack_unpacked_destroy(&d.unpacked);
    msgpack_sbuffer_destroy(&sbuf);
}

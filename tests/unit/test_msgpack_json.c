/* common/msgpack_json.c: every msgpack type, UTF-8 repair, and maps with odd keys. Inputs are
 * packed with msgpack-c, converted, and compared as compact JSON text. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>
#include <msgpack.h>

#include "common/msgpack_json.h"

typedef void (*pack_fn)(msgpack_packer *pk);

/* Packs one value, converts it and returns its compact JSON text (free it). */
static char *convert(pack_fn pack)
{
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
    msgpack_unpacked unpacked;
    size_t off = 0;
    json_t *json;
    char *text;

    msgpack_sbuffer_init(&sbuf);
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    pack(&pk);
    msgpack_unpacked_init(&unpacked);
    cr_assert_eq(msgpack_unpack_next(&unpacked, sbuf.data, sbuf.size, &off),
                 MSGPACK_UNPACK_SUCCESS);

    json = msgpack_to_json(&unpacked.data);
    cr_assert_not_null(json);
    text = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    cr_assert_not_null(text);

    json_decref(json);
    msgpack_unpacked_destroy(&unpacked);
    msgpack_sbuffer_destroy(&sbuf);
    return text;
}

static void expect_json(pack_fn pack, const char *expected)
{
    char *text = convert(pack);

    cr_assert_str_eq(text, expected);
    free(text);
}

static void put_str(msgpack_packer *pk, const char *s, size_t len)
{
    msgpack_pack_str(pk, len);
    msgpack_pack_str_body(pk, s, len);
}

static void pack_nil(msgpack_packer *pk)
{
    msgpack_pack_nil(pk);
}

static void pack_bools(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_true(pk);
    msgpack_pack_false(pk);
}

static void pack_integers(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint64(pk, 0);
    msgpack_pack_uint64(pk, 4294967296ULL);
    msgpack_pack_int64(pk, -7);
    msgpack_pack_int64(pk, INT64_MIN);
}

static void pack_floats(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_double(pk, 2.5);
    msgpack_pack_float(pk, -0.5f);
}

static void pack_non_finite(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_double(pk, NAN);
    msgpack_pack_double(pk, INFINITY);
}

static void pack_text(msgpack_packer *pk)
{
    put_str(pk, "h\xc3\xa9llo \xe2\x82\xac", 10);
}

static void pack_bin(msgpack_packer *pk)
{
    msgpack_pack_bin(pk, 3);
    msgpack_pack_bin_body(pk, "abc", 3);
}

static void pack_invalid_byte(msgpack_packer *pk)
{
    put_str(pk, "a\xff" "b", 3);
}

static void pack_invalid_bin(msgpack_packer *pk)
{
    msgpack_pack_bin(pk, 2);
    msgpack_pack_bin_body(pk, "\x80\x81", 2);
}

static void pack_cut_sequence(msgpack_packer *pk)
{
    put_str(pk, "x\xe2\x82", 3);
}

static void pack_overlong(msgpack_packer *pk)
{
    put_str(pk, "\xc0\xaf", 2);
}

static void pack_surrogate(msgpack_packer *pk)
{
    put_str(pk, "\xed\xa0\x80", 3);
}

static void pack_above_max_code_point(msgpack_packer *pk)
{
    put_str(pk, "\xf4\x90\x80\x80", 4);
}

static void pack_four_byte_char(msgpack_packer *pk)
{
    put_str(pk, "\xf0\x9f\x98\x80", 4);
}

static void pack_nul(msgpack_packer *pk)
{
    put_str(pk, "a\0b", 3);
}

static void pack_nested(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    put_str(pk, "list", 4);
    msgpack_pack_array(pk, 2);
    msgpack_pack_map(pk, 0);
    msgpack_pack_array(pk, 0);
    put_str(pk, "map", 3);
    msgpack_pack_map(pk, 1);
    put_str(pk, "k", 1);
    msgpack_pack_nil(pk);
}

static void pack_int_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    msgpack_pack_int(pk, 1);
    put_str(pk, "one", 3);
}

static void pack_array_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    msgpack_pack_array(pk, 2);
    msgpack_pack_int(pk, 1);
    msgpack_pack_int(pk, 2);
    msgpack_pack_true(pk);
}

static void pack_nil_and_bin_keys(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    msgpack_pack_nil(pk);
    msgpack_pack_int(pk, 0);
    msgpack_pack_bin(pk, 1);
    msgpack_pack_bin_body(pk, "b", 1);
    msgpack_pack_int(pk, 1);
}

static void pack_invalid_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    put_str(pk, "k\xfe", 2);
    msgpack_pack_int(pk, 1);
}

static void pack_repeated_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    put_str(pk, "k", 1);
    msgpack_pack_int(pk, 1);
    put_str(pk, "k", 1);
    msgpack_pack_int(pk, 2);
}

/* Thirty maps, each the only key of the next: every level escapes the one inside it again. */
static void pack_nested_map_keys(msgpack_packer *pk)
{
    for (int i = 0; i < 30; i++)
        msgpack_pack_map(pk, 1);
    put_str(pk, "k\"", 2);
    for (int i = 0; i < 30; i++)
        msgpack_pack_int(pk, i);
}

static void pack_ext(msgpack_packer *pk)
{
    msgpack_pack_ext(pk, 2, 5);
    msgpack_pack_ext_body(pk, "hi", 2);
}

Test(msgpack_json, nil_is_null)
{
    expect_json(pack_nil, "null");
}

Test(msgpack_json, booleans)
{
    expect_json(pack_bools, "[true,false]");
}

Test(msgpack_json, integers_keep_their_value)
{
    expect_json(pack_integers, "[0,4294967296,-7,-9223372036854775808]");
}

Test(msgpack_json, uint64_above_int64_becomes_a_number)
{
    msgpack_object obj = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER };
    json_t *json;

    obj.via.u64 = UINT64_MAX;
    json = msgpack_to_json(&obj);
    cr_assert(json_is_real(json));
    cr_assert_float_eq(json_real_value(json), 18446744073709551615.0, 1e4);
    json_decref(json);
}

Test(msgpack_json, floats)
{
    expect_json(pack_floats, "[2.5,-0.5]");
}

Test(msgpack_json, nan_and_infinity_become_null)
{
    expect_json(pack_non_finite, "[null,null]");
}

Test(msgpack_json, valid_utf8_is_kept)
{
    expect_json(pack_text, "\"h\xc3\xa9llo \xe2\x82\xac\"");
}

Test(msgpack_json, four_byte_character_is_kept)
{
    expect_json(pack_four_byte_char, "\"\xf0\x9f\x98\x80\"");
}

Test(msgpack_json, bin_becomes_string)
{
    expect_json(pack_bin, "\"abc\"");
}

Test(msgpack_json, invalid_byte_becomes_replacement_character)
{
    expect_json(pack_invalid_byte, "\"a\xef\xbf\xbd" "b\"");
}

Test(msgpack_json, invalid_bin_bytes_each_become_replacement)
{
    expect_json(pack_invalid_bin, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
}

Test(msgpack_json, cut_sequence_is_replaced)
{
    expect_json(pack_cut_sequence, "\"x\xef\xbf\xbd\xef\xbf\xbd\"");
}

Test(msgpack_json, overlong_encoding_is_replaced)
{
    expect_json(pack_overlong, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
}

Test(msgpack_json, surrogate_is_replaced)
{
    expect_json(pack_surrogate, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
}

Test(msgpack_json, code_point_above_10ffff_is_replaced)
{
    char *text = convert(pack_above_max_code_point);

    cr_assert_null(strstr(text, "\xf4\x90"));
    cr_assert_not_null(strstr(text, "\xef\xbf\xbd"));
    free(text);
}

Test(msgpack_json, nul_inside_string_is_kept)
{
    expect_json(pack_nul, "\"a\\u0000b\"");
}

Test(msgpack_json, nested_containers)
{
    expect_json(pack_nested, "{\"list\":[{},[]],\"map\":{\"k\":null}}");
}

Test(msgpack_json, integer_key_is_stringified)
{
    expect_json(pack_int_key, "{\"1\":\"one\"}");
}

Test(msgpack_json, array_key_is_printed_as_json)
{
    expect_json(pack_array_key, "{\"[1,2]\":true}");
}

Test(msgpack_json, nil_and_bin_keys)
{
    expect_json(pack_nil_and_bin_keys, "{\"b\":1,\"null\":0}");
}

Test(msgpack_json, invalid_utf8_key_is_repaired)
{
    expect_json(pack_invalid_key, "{\"k\xef\xbf\xbd\":1}");
}

Test(msgpack_json, nested_map_keys_stay_bounded)
{
    char *text = convert(pack_nested_map_keys);

    cr_assert_lt(strlen(text), 2048, "key text grew to %zu bytes", strlen(text));
    cr_assert_not_null(strstr(text, "..."));
    free(text);
}

Test(msgpack_json, repeated_key_keeps_last_value)
{
    expect_json(pack_repeated_key, "{\"k\":2}");
}

Test(msgpack_json, ext_becomes_type_and_data)
{
    expect_json(pack_ext, "{\"data\":\"hi\",\"ext_type\":5}");
}

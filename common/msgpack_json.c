/* msgpack -> JSON. Results carry program output as bin and clients may put anything in meta,
 * so every byte string is made valid UTF-8 before jansson sees it: jansson refuses invalid
 * UTF-8, and a printer that fails on odd output would hide exactly the output that matters. */
#include "msgpack_json.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "utf8.h"

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

/* A JSON string of the bytes, each invalid byte replaced by U+FFFD. */
static json_t *json_from_bytes(const char *ptr, size_t size)
{
    const unsigned char *in = (const unsigned char *)ptr;
    _cleanup_free_ char *clean = NULL;
    size_t out = 0;

    /* Each input byte becomes at most three output bytes. */
    clean = malloc(size * 3 + 1);
    if (!clean)
        return NULL;

    for (size_t i = 0; i < size;) {
        size_t len = utf8_sequence(in + i, size - i);

        if (len == 0) {
            memcpy(clean + out, replacement, 3);
            out += 3;
            i++;
            continue;
        }
        memcpy(clean + out, in + i, len);
        out += len;
        i += len;
    }

    return json_stringn(clean, out);
}

static json_t *json_from_ext(const msgpack_object_ext *ext)
{
    json_t *obj = json_object();

    if (!obj)
        return NULL;

    if (json_object_set_new(obj, "ext_type", json_integer(ext->type)) < 0 ||
        json_object_set_new(obj, "data", json_from_bytes(ext->ptr, ext->size)) < 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

static json_t *json_from_array(const msgpack_object_array *array)
{
    json_t *out = json_array();

    if (!out)
        return NULL;

    for (uint32_t i = 0; i < array->size; i++) {
        if (json_array_append_new(out, msgpack_to_json(&array->ptr[i])) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* The text a map key is filed under: strings as themselves (made valid UTF-8), anything else
 * as its compact JSON text, so {1: "a"} becomes {"1": "a"}. That text is cut at
 * JSON_KEY_TEXT_MAX bytes: a map used as a key of a map used as a key is escaped once more per
 * level, and uncut keys would double in size with every level of a hostile meta. */
#define JSON_KEY_TEXT_MAX 256

static json_t *json_key_of(const msgpack_object *key)
{
    json_t *value = msgpack_to_json(key);
    char *text;
    json_t *str;

    if (!value || json_is_string(value))
        return value;

    /* ASCII only, so that the text can be cut at any byte. */
    text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
    json_decref(value);
    if (!text)
        return NULL;

    if (strlen(text) > JSON_KEY_TEXT_MAX)
        memcpy(text + JSON_KEY_TEXT_MAX - 3, "...", 4);

    str = json_string(text);
    free(text);
    return str;
}

static json_t *json_from_map(const msgpack_object_map *map)
{
    json_t *out = json_object();

    if (!out)
        return NULL;

    for (uint32_t i = 0; i < map->size; i++) {
        json_t *key = json_key_of(&map->ptr[i].key);
        int r = -1;

        /* A key repeated in the map keeps its last value, as most JSON readers do. */
        if (key)
            r = json_object_setn_new(out, json_string_value(key), json_string_length(key),
                                     msgpack_to_json(&map->ptr[i].val));
        json_decref(key);
        if (r < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

json_t *msgpack_to_json(const msgpack_object *obj)
{
    switch (obj->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(obj->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        /* jansson integers are signed 64-bit: above that, a double is the closest JSON has. */
        if (obj->via.u64 > INT64_MAX)
            return json_real((double)obj->via.u64);
        return json_integer((json_int_t)obj->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)obj->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        /* JSON has no NaN or infinity. */
        if (!isfinite(obj->via.f64))
            return json_null();
        return json_real(obj->via.f64);
    case MSGPACK_OBJECT_STR:
        return json_from_bytes(obj->via.str.ptr, obj->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return json_from_bytes(obj->via.bin.ptr, obj->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        return json_from_ext(&obj->via.ext);
    case MSGPACK_OBJECT_ARRAY:
        return json_from_array(&obj->via.array);
    case MSGPACK_OBJECT_MAP:
        return json_from_map(&obj->via.map);
    }
    return json_null();
}

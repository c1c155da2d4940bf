/* msgpack -> JSON (jansson), for printing results and events to people and to tools. */
#ifndef CCX_COMMON_MSGPACK_JSON_H
#define CCX_COMMON_MSGPACK_JSON_H

#include <jansson.h>
#include <msgpack.h>

/* A new JSON value for obj. Strings and binaries become JSON strings; bytes that are not
 * valid UTF-8 become U+FFFD. Map keys that are not strings are printed as JSON text. Returns
 * NULL only when memory runs out. */
json_t *msgpack_to_json(const msgpack_object *obj);

#endif

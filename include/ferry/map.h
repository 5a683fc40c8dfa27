/* map.h - a small open-addressing hash map from byte strings to pointers.
 *
 * Keys are copied into the map (so callers may pass views into message buffers);
 * values are not owned: the caller frees them (ferry_map_foreach helps). */
#ifndef FERRY_MAP_H
#define FERRY_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct ferry_map ferry_map_t;

/* A new, empty map; the caller frees it with ferry_map_destroy. */
ferry_map_t *ferry_map_new(void);
/* Frees the map and its key copies (not the values). NULL is a no-op. */
void ferry_map_destroy(ferry_map_t *m);

/* The value stored under key[0..len), or NULL. */
void *ferry_map_get(const ferry_map_t *m, const void *key, size_t len);
/* Stores (replaces) the value under the key. */
void ferry_map_put(ferry_map_t *m, const void *key, size_t len, void *value);
/* Removes the key; returns its value or NULL. */
void *ferry_map_del(ferry_map_t *m, const void *key, size_t len);
size_t ferry_map_count(const ferry_map_t *m);
/* Calls fn for every entry (order unspecified). The map must not change meanwhile. */
void ferry_map_foreach(const ferry_map_t *m,
                       void (*fn)(const void *key, size_t len, void *value, void *opaque),
                       void *opaque);

/* 64-bit FNV-1a of bytes (stable across runs and machines: used for names). */
uint64_t ferry_hash64(const void *data, size_t len);

#endif

/* map.c - open-addressing hash map (see include/ferry/map.h). Linear probing with
 * tombstones; grows at 70 % load. */
#include "ferry/map.h"

#include <stdlib.h>
#include <string.h>

typedef struct slot {
    char *key; /* NULL: empty; TOMBSTONE: deleted */
    size_t len;
    uint64_t hash;
    void *value;
} slot_t;

static char tombstone_mark;
#define TOMBSTONE (&tombstone_mark)

struct ferry_map {
    slot_t *slots;
    size_t cap, count, used; /* used = live + tombstones */
};

uint64_t ferry_hash64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

ferry_map_t *ferry_map_new(void)
{
    ferry_map_t *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    m->cap = 16;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots)
        abort();
    return m;
}

void ferry_map_destroy(ferry_map_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != TOMBSTONE)
            free(m->slots[i].key);
    free(m->slots);
    free(m);
}

static slot_t *find(const ferry_map_t *m, const void *key, size_t len, uint64_t h)
{
    size_t i = h & (m->cap - 1);
    for (;;) {
        slot_t *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != TOMBSTONE && s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
            return s;
        i = (i + 1) & (m->cap - 1);
    }
}

static void grow(ferry_map_t *m)
{
    slot_t *old = m->slots;
    size_t oldcap = m->cap;
    m->cap = m->count * 2 >= oldcap ? oldcap * 2 : oldcap;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots)
        abort();
    m->used = m->count;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].key || old[i].key == TOMBSTONE)
            continue;
        size_t j = old[i].hash & (m->cap - 1);
        while (m->slots[j].key)
            j = (j + 1) & (m->cap - 1);
        m->slots[j] = old[i];
    }
    free(old);
}

void *ferry_map_get(const ferry_map_t *m, const void *key, size_t len)
{
    slot_t *s = find(m, key, len, ferry_hash64(key, len));
    return s ? s->value : NULL;
}

void ferry_map_put(ferry_map_t *m, const void *key, size_t len, void *value)
{
    uint64_t h = ferry_hash64(key, len);
    slot_t *s = find(m, key, len, h);
    if (s) {
        s->value = value;
        return;
    }
    if ((m->used + 1) * 10 >= m->cap * 7)
        grow(m);
    size_t i = h & (m->cap - 1);
    while (m->slots[i].key && m->slots[i].key != TOMBSTONE)
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].key)
        m->used++;
    char *k = malloc(len ? len : 1);
    if (!k)
        abort();
    memcpy(k, key, len);
    m->slots[i] = (slot_t){k, len, h, value};
    m->count++;
}

void *ferry_map_del(ferry_map_t *m, const void *key, size_t len)
{
    slot_t *s = find(m, key, len, ferry_hash64(key, len));
    if (!s)
        return NULL;
    void *v = s->value;
    free(s->key);
    s->key = TOMBSTONE;
    s->value = NULL;
    m->count--;
    return v;
}

size_t ferry_map_count(const ferry_map_t *m)
{
    return m->count;
}

void ferry_map_foreach(const ferry_map_t *m,
                       void (*fn)(const void *key, size_t len, void *value, void *opaque),
                       void *opaque)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != TOMBSTONE)
            fn(m->slots[i].key, m->slots[i].len, m->slots[i].value, opaque);
}

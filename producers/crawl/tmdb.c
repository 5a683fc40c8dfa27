/* tmdb.c - TMDB API v3 bodies, URLs and the MovieCrawled event (see tmdb.h). */
#include "tmdb.h"

#include "ferry/http.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name, *path;
} tmdb_lists[] = {
    {"popular", "movie/popular"},
    {"top_rated", "movie/top_rated"},
    {"now_playing", "movie/now_playing"},
};

const char *tmdb_list_path(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof tmdb_lists / sizeof *tmdb_lists; i++)
        if (strcmp(name, tmdb_lists[i].name) == 0 || strcmp(name, tmdb_lists[i].path) == 0)
            return tmdb_lists[i].path;
    return NULL;
}

const char *tmdb_list_names(void)
{
    return "popular, top_rated, now_playing";
}

/* ---- a tiny scanner over JSON text that jansson has already accepted ------------------- */

static int is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && is_ws(*p))
        p++;
    return p;
}

/* p at the opening quote; returns the position after the closing one (or end). */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return end;
}

/* Returns the position after the value starting at p. */
static const char *skip_value(const char *p, const char *end)
{
    if (p >= end)
        return end;
    if (*p == '"')
        return skip_string(p, end);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = skip_string(p, end);
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if (*p == '}' || *p == ']') {
                if (--depth == 0)
                    return p + 1;
            }
            p++;
        }
        return end;
    }
    while (p < end && !is_ws(*p) && *p != ',' && *p != '}' && *p != ']')
        p++;
    return p;
}

/* Finds the text span of every element of the top-level "results" array. Returns the
 * number found (the last "results" key wins, as in jansson), or -1 when the shape is not
 * the expected one. */
static long find_result_spans(const char *text, size_t len, tmdb_item_t *items, size_t max)
{
    const char *p = text, *end = text + len;
    long found = -1;
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return -1;
    p++;
    for (;;) {
        p = skip_ws(p, end);
        if (p >= end || *p == '}')
            break;
        if (*p != '"')
            return -1;
        const char *k = p + 1;
        p = skip_string(p, end);
        size_t klen = (size_t)(p - k) - 1;
        p = skip_ws(p, end);
        if (p >= end || *p != ':')
            return -1;
        p = skip_ws(p + 1, end);
        if (klen == 7 && memcmp(k, "results", 7) == 0 && p < end && *p == '[') {
            size_t n = 0;
            p++;
            for (;;) {
                p = skip_ws(p, end);
                if (p >= end)
                    return -1;
                if (*p == ']') {
                    p++;
                    break;
                }
                const char *v = p;
                p = skip_value(p, end);
                if (p == v)
                    return -1; /* a stray '}' where an item should be: it would never end */
                if (n < max) {
                    items[n].raw = v;
                    items[n].raw_len = (size_t)(p - v);
                }
                n++;
                p = skip_ws(p, end);
                if (p < end && *p == ',')
                    p++;
            }
            found = (long)n;
        } else {
            const char *v = p;
            p = skip_value(p, end);
            if (p == v)
                return -1; /* a stray ']' where a value should be */
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',')
            p++;
    }
    return found;
}

void tmdb_json_minify(const char *text, size_t len, ferry_buf_t *out)
{
    const char *p = text, *end = text + len;
    ferry_buf_reserve(out, len);
    while (p < end) {
        if (*p == '"') {
            const char *s = p;
            p = skip_string(p, end);
            ferry_buf_append(out, s, (size_t)(p - s));
        } else {
            if (!is_ws(*p))
                ferry_buf_append_byte(out, (unsigned char)*p);
            p++;
        }
    }
}

int tmdb_int64(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 1;
    }
    if (!json_is_real(v))
        return 0;
    double d = json_real_value(v);
    /* [-2^63, 2^63): converting anything else (1e300, -1e300) is undefined behaviour */
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        return -1;
    *out = (int64_t)d;
    return 1;
}

/* The page count of a list: -1 when absent (or not a number); FERRY_POISON when it is a
 * number that is no page count (out of range, negative). */
static ferry_status page_count(const json_t *root, const char *name, int64_t *out, ferry_err_t *err)
{
    const json_t *v = json_object_get(root, name);
    int r = tmdb_int64(v, out);
    if (r == 0)
        *out = -1;
    else if (r < 0 || *out < 0)
        return ferry_err_set(err, FERRY_POISON, "list body: \"%s\" is %.17g, not a page count",
                             name, json_number_value(v));
    return FERRY_OK;
}

/* A body jansson refuses as a whole may still be a well-formed list in which single items
 * hold what jansson cannot represent (an integer beyond 64 bits, a real beyond a double):
 * then the list is read without those items, each of which gets `bad`, the reason. Returns
 * the root (results holding null for the bad items) or NULL when the body is not such a
 * list. */
static json_t *parse_itemwise(tmdb_list_t *out, size_t len)
{
    long n = find_result_spans(out->text, len, NULL, 0);
    if (n <= 0)
        return NULL;
    out->n = (size_t)n;
    out->items = ferry_xcalloc(out->n, sizeof *out->items);
    find_result_spans(out->text, len, out->items, out->n);
    /* the envelope: everything but the items */
    const tmdb_item_t *first = &out->items[0], *last = &out->items[out->n - 1];
    ferry_buf_t env = FERRY_BUF_INIT;
    ferry_buf_append(&env, out->text, (size_t)(first->raw - out->text));
    const char *tail = last->raw + last->raw_len;
    ferry_buf_append(&env, tail, len - (size_t)(tail - out->text));
    json_t *root = json_loadb((const char *)env.data, env.len, 0, NULL);
    ferry_buf_free(&env);
    json_t *results = json_object_get(root, "results");
    if (!json_is_object(root) || !json_is_array(results) || json_array_size(results) != 0) {
        json_decref(root);
        return NULL;
    }
    for (size_t i = 0; i < out->n; i++) {
        tmdb_item_t *it = &out->items[i];
        json_error_t jerr;
        json_t *j = json_loadb(it->raw, it->raw_len, JSON_DECODE_ANY, &jerr);
        if (!j) {
            ferry_buf_t why = FERRY_BUF_INIT;
            ferry_buf_appendf(&why, "list item %zu cannot be read: %s", i + 1, jerr.text);
            it->bad = ferry_xstrndup((const char *)why.data, why.len);
            ferry_buf_free(&why);
        }
        json_array_append_new(results, j ? j : json_null());
        it->json = j; /* borrowed: the array holds it */
    }
    return root;
}

ferry_status tmdb_list_parse(const char *body, size_t len, tmdb_list_t *out, ferry_err_t *err)
{
    memset(out, 0, sizeof *out);
    out->text = ferry_xrealloc(NULL, len + 1, 1);
    memcpy(out->text, body, len);
    out->text[len] = '\0';
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    int itemwise = 0;
    if (!root) {
        root = parse_itemwise(out, len);
        if (!root) {
            tmdb_list_free(out);
            return ferry_err_set(err, FERRY_POISON, "list body is not JSON: %s (line %d)",
                                 jerr.text, jerr.line);
        }
        itemwise = 1;
    }
    json_t *results = json_object_get(root, "results");
    if (!json_is_object(root) || !json_is_array(results)) {
        json_decref(root);
        tmdb_list_free(out);
        return ferry_err_set(err, FERRY_POISON, "list body has no \"results\" array");
    }
    out->root = root;
    ferry_status st;
    if ((st = page_count(root, "page", &out->page, err)) != FERRY_OK ||
        (st = page_count(root, "total_pages", &out->total_pages, err)) != FERRY_OK) {
        tmdb_list_free(out);
        return st;
    }
    if (itemwise)
        return FERRY_OK;
    out->n = json_array_size(results);
    out->items = ferry_xcalloc(out->n ? out->n : 1, sizeof *out->items);
    long spans = find_result_spans(out->text, len, out->items, out->n);
    for (size_t i = 0; i < out->n; i++) {
        out->items[i].json = json_array_get(results, i);
        if (spans != (long)out->n) { /* cannot happen for bodies jansson accepts; be safe */
            out->items[i].raw = NULL;
            out->items[i].raw_len = 0;
        }
    }
    return FERRY_OK;
}

void tmdb_list_free(tmdb_list_t *l)
{
    if (!l)
        return;
    json_decref(l->root);
    for (size_t i = 0; l->items && i < l->n; i++)
        free(l->items[i].bad);
    free(l->items);
    free(l->text);
    memset(l, 0, sizeof *l);
}

ferry_status tmdb_details_check(const char *body, size_t len, ferry_buf_t *out, ferry_err_t *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (!root)
        return ferry_err_set(err, FERRY_POISON, "details body is not JSON: %s (line %d)", jerr.text,
                             jerr.line);
    int ok = json_is_object(root);
    json_decref(root);
    if (!ok)
        return ferry_err_set(err, FERRY_POISON, "details body is not a JSON object");
    tmdb_json_minify(body, len, out);
    return FERRY_OK;
}

int tmdb_error_message(const char *body, size_t len, char *out, size_t outsz, int *status_code)
{
    if (outsz)
        out[0] = '\0';
    if (status_code)
        *status_code = -1;
    json_t *root = body ? json_loadb(body, len, 0, NULL) : NULL;
    if (!json_is_object(root)) {
        json_decref(root);
        return 0;
    }
    const json_t *code = json_object_get(root, "status_code");
    if (status_code && json_is_integer(code))
        *status_code = (int)json_integer_value(code);
    const char *msg = json_string_value(json_object_get(root, "status_message"));
    if (!msg)
        msg = json_string_value(json_array_get(json_object_get(root, "errors"), 0));
    if (msg && outsz)
        snprintf(out, outsz, "%s", msg);
    json_decref(root);
    return msg != NULL;
}

void tmdb_item_id_text(const tmdb_item_t *item, char *out, size_t outsz)
{
    int64_t id;
    if (outsz)
        out[0] = '\0';
    if (item->json && tmdb_item_id(item->json, &id) == 0) {
        snprintf(out, outsz, "%" PRId64, id);
        return;
    }
    if (!item->raw)
        return;
    /* the top-level "id" of the item's text, as written */
    const char *p = skip_ws(item->raw, item->raw + item->raw_len), *end = item->raw + item->raw_len;
    if (p >= end || *p != '{')
        return;
    for (p++;;) {
        p = skip_ws(p, end);
        if (p >= end || *p != '"')
            return;
        const char *k = p + 1;
        p = skip_string(p, end);
        size_t klen = (size_t)(p - k) - 1;
        p = skip_ws(p, end);
        if (p >= end || *p != ':')
            return;
        p = skip_ws(p + 1, end);
        const char *v = p;
        p = skip_value(p, end);
        if (klen == 2 && memcmp(k, "id", 2) == 0) {
            size_t n = (size_t)(p - v);
            if (n > 0 && n < outsz && (*v == '-' || (*v >= '0' && *v <= '9'))) {
                memcpy(out, v, n);
                out[n] = '\0';
            }
            return;
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',')
            p++;
    }
}

int tmdb_item_id(const json_t *item, int64_t *id)
{
    const json_t *v = json_object_get(item, "id");
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return -1;
    *id = json_integer_value(v);
    return 0;
}

/* ---- the event -------------------------------------------------------------------------- */

static json_t *str_or_empty(const json_t *item, const char *name)
{
    const char *s = json_string_value(json_object_get(item, name));
    return json_string(s ? s : "");
}

static json_t *str_or_null(const json_t *item, const char *name)
{
    const char *s = json_string_value(json_object_get(item, name));
    return s ? json_string(s) : json_null();
}

static json_t *number(const json_t *item, const char *name)
{
    const json_t *v = json_object_get(item, name);
    return json_real(json_is_number(v) ? json_number_value(v) : 0.0);
}

/* A count: a missing one (or not a number) is 0, a negative one 0; NULL with FERRY_POISON
 * when it is a number out of the 64-bit range. */
static json_t *count(const json_t *item, const char *name, ferry_err_t *err)
{
    const json_t *v = json_object_get(item, name);
    int64_t n = 0;
    if (tmdb_int64(v, &n) < 0) {
        ferry_err_set(err, FERRY_POISON, "\"%s\" is %.17g: out of the 64-bit integer range", name,
                      json_number_value(v));
        return NULL;
    }
    return json_integer(n < 0 ? 0 : n);
}

static json_t *flag(const json_t *item, const char *name)
{
    return json_boolean(json_is_true(json_object_get(item, name)));
}

static json_t *genre_ids(const json_t *item)
{
    json_t *out = json_array();
    const json_t *arr = json_object_get(item, "genre_ids");
    size_t i;
    const json_t *g;
    json_array_foreach(arr, i, g)
    {
        if (json_is_integer(g))
            json_array_append_new(out, json_integer(json_integer_value(g)));
    }
    return out;
}

static json_t *opt_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *tmdb_movie_event(const tmdb_item_t *item, const char *details, size_t details_len,
                         const tmdb_meta_t *meta, ferry_err_t *err)
{
    const json_t *it = item->json;
    int64_t id;
    if (item->bad) {
        ferry_err_set(err, FERRY_POISON, "%s", item->bad);
        return NULL;
    }
    if (!json_is_object(it) || tmdb_item_id(it, &id) != 0) {
        ferry_err_set(err, FERRY_POISON, "list item without a positive integer \"id\"");
        return NULL;
    }
    json_t *votes = count(it, "vote_count", err);
    if (!votes)
        return NULL;
    ferry_buf_t raw = FERRY_BUF_INIT;
    if (item->raw) {
        tmdb_json_minify(item->raw, item->raw_len, &raw);
    } else {
        char *s = json_dumps(it, JSON_COMPACT);
        if (s)
            ferry_buf_append_str(&raw, s);
        free(s);
    }
    json_t *ev = json_object();
    json_object_set_new(ev, "id", json_integer(id));
    json_object_set_new(ev, "title", str_or_empty(it, "title"));
    json_object_set_new(ev, "original_title", str_or_empty(it, "original_title"));
    json_object_set_new(ev, "original_language", str_or_empty(it, "original_language"));
    json_object_set_new(ev, "overview", str_or_empty(it, "overview"));
    json_object_set_new(ev, "release_date", str_or_empty(it, "release_date"));
    json_object_set_new(ev, "popularity", number(it, "popularity"));
    json_object_set_new(ev, "vote_average", number(it, "vote_average"));
    json_object_set_new(ev, "vote_count", votes);
    json_object_set_new(ev, "adult", flag(it, "adult"));
    json_object_set_new(ev, "video", flag(it, "video"));
    json_object_set_new(ev, "genre_ids", genre_ids(it));
    json_object_set_new(ev, "poster_path", str_or_null(it, "poster_path"));
    json_object_set_new(ev, "backdrop_path", str_or_null(it, "backdrop_path"));
    json_object_set_new(ev, "details_json",
                        details ? json_stringn(details, details_len) : json_null());
    json_object_set_new(ev, "raw_json", json_stringn((const char *)raw.data, raw.len));
    json_object_set_new(ev, "job_id", json_string(meta->job_id));
    json_object_set_new(ev, "endpoint", json_string(meta->endpoint));
    json_object_set_new(ev, "page", json_integer(meta->page));
    json_object_set_new(ev, "fetched_at", json_integer(meta->fetched_at_us));
    json_object_set_new(ev, "language", opt_str(meta->language));
    json_object_set_new(ev, "region", opt_str(meta->region));
    ferry_buf_free(&raw);
    return ev;
}

/* ---- URLs ------------------------------------------------------------------------------- */

static void append_base(ferry_buf_t *out, const char *base)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    ferry_buf_append(out, base, n);
}

void tmdb_list_url(ferry_buf_t *out, const char *base, const char *path, int page,
                   const char *language, const char *region, const char *api_key)
{
    append_base(out, base);
    ferry_buf_appendf(out, "/%s?page=%d", path, page);
    if (language) {
        ferry_buf_append_str(out, "&language=");
        ferry_http_escape(out, language);
    }
    if (region) {
        ferry_buf_append_str(out, "&region=");
        ferry_http_escape(out, region);
    }
    if (api_key) {
        ferry_buf_append_str(out, "&api_key=");
        ferry_http_escape(out, api_key);
    }
}

void tmdb_details_url(ferry_buf_t *out, const char *base, int64_t id, const char *language,
                      const char *api_key)
{
    append_base(out, base);
    ferry_buf_appendf(out, "/movie/%lld", (long long)id);
    char sep = '?';
    if (language) {
        ferry_buf_appendf(out, "%clanguage=", sep);
        ferry_http_escape(out, language);
        sep = '&';
    }
    if (api_key) {
        ferry_buf_appendf(out, "%capi_key=", sep);
        ferry_http_escape(out, api_key);
    }
}

void tmdb_endpoint_label(const char *base, const char *path, char *out, size_t outsz)
{
    const char *p = strstr(base, "://");
    p = p ? p + 3 : base;
    p += strcspn(p, "/?#");
    size_t n = strcspn(p, "?#");
    while (n > 0 && p[n - 1] == '/')
        n--;
    snprintf(out, outsz, "%.*s/%s", (int)n, p, path);
}

/* narrow_spec.c - the --narrow-columns spec of a legacy narrow table, parsed once for every
 * command (see include/ferry/narrow.h). */
#include "ferry/narrow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the spec ------------------------------------------------------------------------- */

static const char *const SPEC_KEYS[] = {
    "ship",         "channel",    "time",       "unit",       "value",
    "value_double", "value_long", "value_bool", "value_text", NULL,
};

static char **spec_field(ferry_narrow_spec_t *s, const char *key)
{
    char **f[] = {&s->ship,         &s->channel,    &s->time,       &s->unit,      &s->value,
                  &s->value_double, &s->value_long, &s->value_bool, &s->value_text};
    for (int i = 0; SPEC_KEYS[i]; i++)
        if (strcmp(SPEC_KEYS[i], key) == 0)
            return f[i];
    return NULL;
}

void ferry_narrow_spec_free(ferry_narrow_spec_t *s)
{
    free(s->ship);
    free(s->channel);
    free(s->time);
    free(s->unit);
    free(s->value);
    free(s->value_double);
    free(s->value_long);
    free(s->value_bool);
    free(s->value_text);
    memset(s, 0, sizeof *s);
}

static ferry_status spec_error(ferry_narrow_spec_t *out, ferry_buf_t *b, ferry_err_t *err,
                               const char *what, const char *spec)
{
    ferry_buf_free(b);
    ferry_narrow_spec_free(out);
    return ferry_err_set(err, FERRY_USAGE, "--narrow-columns '%.300s': %s", spec, what);
}

ferry_status ferry_narrow_spec_parse(const char *spec, ferry_narrow_spec_t *out, ferry_err_t *err)
{
    memset(out, 0, sizeof *out);
    if (!spec || !*spec)
        return ferry_err_set(err, FERRY_USAGE, "--narrow-columns is empty");
    const char *p = spec;
    ferry_buf_t b = FERRY_BUF_INIT;
    char key[16];
    while (*p) {
        /* key: letters and '_' (spaces around it are allowed) */
        while (*p == ' ')
            p++;
        size_t k = 0;
        while ((*p >= 'a' && *p <= 'z') || *p == '_') {
            if (k + 1 >= sizeof key)
                return spec_error(out, &b, err, "unknown key", spec);
            key[k++] = *p++;
        }
        key[k] = '\0';
        while (*p == ' ')
            p++;
        char **field = k ? spec_field(out, key) : NULL;
        if (!field) {
            ferry_buf_reset(&b);
            ferry_buf_appendf(&b,
                              "unknown key '%s' (keys: ship, channel, time, value or"
                              " value_double/value_long/value_bool/value_text, unit)",
                              key);
            char msg[200];
            snprintf(msg, sizeof msg, "%s", ferry_buf_cstr(&b));
            return spec_error(out, &b, err, msg, spec);
        }
        if (*field)
            return spec_error(out, &b, err, "a key is given twice", spec);
        if (*p++ != '=')
            return spec_error(out, &b, err, "expected key=COLUMN", spec);
        /* column: its exact name, or "quoted" with "" for a quote */
        ferry_buf_reset(&b);
        if (*p == '"') {
            for (p++;; p++) {
                if (!*p)
                    return spec_error(out, &b, err, "unterminated quoted column name", spec);
                if (*p == '"') {
                    if (p[1] != '"')
                        break;
                    p++;
                }
                ferry_buf_append_byte(&b, (unsigned char)*p);
            }
            p++;
            while (*p == ' ')
                p++;
            if (*p && *p != ',')
                return spec_error(out, &b, err, "expected ',' after a quoted column name", spec);
        } else {
            while (*p && *p != ',')
                ferry_buf_append_byte(&b, (unsigned char)*p++);
        }
        if (b.len == 0)
            return spec_error(out, &b, err, "a column name is empty", spec);
        *field = strdup(ferry_buf_cstr(&b));
        if (*p == ',')
            p++;
    }
    ferry_buf_free(&b);
    int typed = out->value_double || out->value_long || out->value_bool || out->value_text;
    if (!out->ship || !out->channel || !out->time || (!out->value && !typed))
        return spec_error(out, &b, err,
                          "ship=, channel=, time= and value= (or value_double=, value_long=, ...)"
                          " are required",
                          spec);
    if (out->value && typed)
        return spec_error(out, &b, err,
                          "value= and value_double=/value_long=/... exclude each other", spec);
    return FERRY_OK;
}

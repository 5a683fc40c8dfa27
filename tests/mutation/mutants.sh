# tests/mutation/mutants.sh - the planted bugs of tests/mutation/run.sh (sourced by it).
#   mutant ID FILE SED-EXPRESSION TESTS DESCRIPTION
# FILE is relative to the repository root; SED-EXPRESSION must change FILE (a mutant that no
# longer applies is an error, so the list follows the code); TESTS is a ctest -R regex of the
# tests expected to catch it. One per capability: add one when a capability lands.

# ---- the audit's nine ------------------------------------------------------------------------
mutant verify-counts-only cli/cmd_verify.c \
    's/ (n\.h IS NOT DISTINCT FROM m\.h AND coalesce(n\.c, 0) = coalesce(m\.c, 0))/ (coalesce(n.c, 0) = coalesce(m.c, 0))/' \
    'it\.0404|it\.0405' "verify compares only the counts of each window, not the values"
mutant dualwrite-no-commit consumers/dualwrite/dualwrite.c \
    's/ferry_consumer_store(w->c, last\[j\], NULL);/(void)last[j];/; s/if (ferry_consumer_commit(w->c, &err) != FERRY_OK)/if (0)/' \
    'it\.0301' "dualwrite never stores nor commits its offsets"
mutant wide-cell-dropped consumers/dualwrite/wide.c \
    's/^\( *\)append_elem(&ca->data, recs\[i\]);/\1{ static long mut_n; if (++mut_n % 10000 == 0) { ferry_buf_append_be32(\&ca->data, 0xffffffffu); ca->nulls++; } else append_elem(\&ca->data, recs[i]); }/' \
    'it\.0301' "one wide cell in 10,000 is written NULL"
mutant dlq-reason-dropped lib/dlq.c \
    '/rd_kafka_header_add(hdrs, "ferry.error.reason"/d' \
    'it\.0201|it\.dlq' "dead letters lose their ferry.error.reason header"
mutant crawl-rate-2x producers/crawl/crawl_config.c \
    's/ferry_ratelimit_init(&c->rl, rate);/ferry_ratelimit_init(\&c->rl, rate * 2);/' \
    'it\.0101|it\.0102' "the crawl limiter lets twice --rate through"
mutant crawl-rate-half producers/crawl/crawl_config.c \
    's/ferry_ratelimit_init(&c->rl, rate);/ferry_ratelimit_init(\&c->rl, rate \/ 2);/' \
    'it\.0101|it\.0102' "the crawl limiter lets only half of --rate through"
mutant retrain-early consumers/retrain/policy.c \
    's/w->rows >= p->min_new_rows)/w->rows + 1 >= p->min_new_rows)/' \
    'unit\.retrain_policy|it\.0202' "the min-new-rows rule fires one row early (an extra trigger)"
mutant backfill-last-chunk consumers/backfill/plan.c \
    's/start <= last && start < cut_us; start += chunk_us/start + chunk_us <= last \&\& start < cut_us; start += chunk_us/' \
    'it\.0404|it\.0405' "backfill plan skips each ship's last chunk"

# ---- this session's capabilities -------------------------------------------------------------
mutant redact-keyword-password lib/pg_secrets.c \
    's/        if (is_pw) {/        if (0) {/' \
    'unit\.pg_secrets|it\.0003' "a key=value password is shown"
mutant topic-rule-off lib/topics.c \
    's/    if (bad < len) {/    if (0) {/' \
    'unit\.options|it\.0003' "topic names with characters Kafka refuses are accepted"
mutant dlq-no-truncation lib/dlq.c \
    's/    if ((int64_t)len <= room)/    if (1)/' \
    'it\.0205|it\.0419' "a dead letter too big for its topic is sent whole (and fails for ever)"
mutant int-range-off lib/options.c \
    's/if (errno == ERANGE || x < lo || x > hi)/if (errno == ERANGE || (0 \&\& (x < lo || x > hi)))/' \
    'unit\.options|it\.0003' "integer options out of the 32-bit range wrap instead of being refused"
mutant decode-double-as-float lib/telemetry.c \
    's/^\( *\)memcpy(&out->v\.d, &u, 8);/\1memcpy(\&out->v.d, \&u, 8); out->v.d = (float)out->v.d;/' \
    'it\.0307' "TelemetryReading doubles decoded through float: the same wrong value in narrow and wide"

# ---- data contracts (issue 11) -----------------------------------------------------------------
mutant registry-id-little-endian lib/decoder.c \
    's/\*id = (uint32_t)p\[1\] << 24 | (uint32_t)p\[2\] << 16 | (uint32_t)p\[3\] << 8 | p\[4\];/*id = (uint32_t)p[4] << 24 | (uint32_t)p[3] << 16 | (uint32_t)p[2] << 8 | p[1];/' \
    'unit\.decoder|it\.0501' "the Schema Registry framing's schema id is read little-endian"
mutant resolve-no-defaults lib/avro_resolve.c \
    's/        for (size_t k = 0; k < n->ndef; k++) {/        for (size_t k = 0; k < 0 * n->ndef; k++) {/' \
    'unit\.resolve|it\.0501' "schema resolution never fills the reader's defaults"

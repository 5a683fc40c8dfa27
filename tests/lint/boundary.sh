#!/usr/bin/env bash
# tests/lint/boundary.sh SOURCE_DIR - the core is the only door (docs/architecture.md):
# outside lib/, no call into librdkafka, libpq, libcurl or avro-c except the few that read
# values out of a result the core returned, or release it. A call is an identifier with one
# of the libraries' prefixes followed by "(".
set -euo pipefail
root=${1:?usage: boundary.sh SOURCE_DIR}
cd "$root"

allowed=(
	# libpq: reading and freeing a PGresult (and a COPY row) the core returned
	PQgetvalue PQgetisnull PQgetlength PQntuples PQnfields PQfname PQcmdTuples PQresultStatus
	PQclear PQfreemem
	# librdkafka: reading and freeing a message, an error code or a partition list
	rd_kafka_message_destroy rd_kafka_topic_name rd_kafka_message_timestamp
	rd_kafka_message_headers rd_kafka_header_get_last rd_kafka_message_errstr rd_kafka_err2str
	rd_kafka_topic_partition_list_destroy rd_kafka_topic_partition_list_find
	# avro-c: reading a value, and releasing one the core handed out
	avro_value_get_boolean avro_value_get_int avro_value_get_long avro_value_get_float
	avro_value_get_double avro_value_get_string avro_value_get_bytes avro_value_get_fixed
	avro_value_get_enum avro_value_get_null avro_value_get_size avro_value_get_by_index
	avro_value_get_by_name avro_value_get_current_branch avro_value_get_discriminant
	avro_value_get_type avro_value_decref
)
pattern='\b(PQ[a-zA-Z]+|rd_kafka_[a-z0-9_]+|curl_[a-z_]+|avro_[a-z0-9_]+)[[:space:]]*\('
mapfile -t files < <(git ls-files -- cli producers consumers | grep -E '\.[ch]$' || true)
[[ ${#files[@]} -gt 0 ]] || { echo "boundary: no program sources found under $root" >&2; exit 1; }
declare -A ok=()
for a in "${allowed[@]}"; do ok[$a]=1; done
bad=0
while IFS= read -r hit; do
	file=${hit%%:*}
	rest=${hit#*:}
	line=${rest%%:*}
	call=$(grep -oE "$pattern" <<<"${rest#*:}" | sed -E 's/[[:space:]]*\($//' || true)
	for c in $call; do
		[[ -n ${ok[$c]:-} ]] && continue
		echo "$file:$line: $c() outside lib/ (put it behind a ferry_* function in lib/)"
		bad=$((bad + 1))
	done
done < <(grep -nE "$pattern" "${files[@]}" | grep -vE '^[^:]+:[0-9]+:\s*(\*|/\*|//)' || true)
if ((bad)); then
	echo "boundary: $bad call(s) into the libraries outside lib/" >&2
	exit 1
fi
echo "boundary: ${#files[@]} program files call the libraries only to read results"

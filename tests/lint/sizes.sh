#!/usr/bin/env bash
# tests/lint/sizes.sh SOURCE_DIR - files a newcomer can hold in their head
# (docs/architecture.md): no C file over 800 lines, no function over 120 lines unless its
# header comment says it is a table or a state machine ("(a table)" / "(a state machine)").
# A function is what lies between a "{" and a "}" alone in the first column.
set -euo pipefail
root=${1:?usage: sizes.sh SOURCE_DIR}
cd "$root"
mapfile -t files < <(git ls-files -- '*.c' '*.h')
[[ ${#files[@]} -gt 0 ]] || { echo "sizes: no C sources found under $root" >&2; exit 1; }
bad=0
for f in "${files[@]}"; do
	n=$(wc -l <"$f")
	if ((n > 800)); then
		echo "$f: $n lines (at most 800: split it by stage)"
		bad=$((bad + 1))
	fi
done
long=$(awk '
	FNR == 1 { start = 0; note = 0 }
	/\(a table\)|\(a state machine\)/ { note = FNR }
	/^\{/ { start = FNR; sig = prev }
	/^\}/ && start {
		len = FNR - start - 1
		if (len > 120 && !(note && start - note < 30))
			printf "%s:%d: %s is %d lines (at most 120: split it)\n", FILENAME, start, sig, len
		start = 0
	}
	{ prev = $0 }
' "${files[@]}")
if [[ -n $long ]]; then
	echo "$long"
	bad=$((bad + $(wc -l <<<"$long")))
fi
if ((bad)); then
	echo "sizes: $bad file(s) or function(s) too long" >&2
	exit 1
fi
echo "sizes: ${#files[@]} files within 800 lines, their functions within 120"

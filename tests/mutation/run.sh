#!/usr/bin/env bash
# tests/mutation/run.sh - do the tests catch what they are named for? Plants each bug of
# tests/mutation/mutants.sh, one at a time, in a scratch copy of the committed tree, rebuilds
# (incrementally), runs only the tests expected to catch it against a private stack, and
# prints a table mutant -> caught by / MISSED. Exits 1 on a miss, a mutant that no longer
# applies or does not build. By hand, not in CI (it is slow: minutes per mutant).
#   tests/mutation/run.sh [ID...]      (default: every mutant)
# Env: FERRY_MUTATION_DIR  scratch copy, build and stack (default build/mutation)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=${FERRY_MUTATION_DIR:-$root/build/mutation}
case ${1:-} in -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac

ids=() files=() exprs=() tests=() descs=()
mutant() { ids+=("$1"); files+=("$2"); exprs+=("$3"); tests+=("$4"); descs+=("$5"); }
. "$root/tests/mutation/mutants.sh"
want=("$@")
for w in "${want[@]}"; do
    printf '%s\n' "${ids[@]}" | grep -qx -- "$w" || { echo "mutation: no mutant '$w'" >&2; exit 2; }
done

say() { printf '== mutation: %s\n' "$*" >&2; }
tree=$work/tree
rm -rf "$tree" && mkdir -p "$tree"
git -C "$root" archive HEAD | tar -x -C "$tree"
say "building the unmutated copy ($(git -C "$root" rev-parse --short HEAD))"
cmake -S "$tree" -B "$tree/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFERRY_BUILD_BENCH=OFF >/dev/null
cmake --build "$tree/build" -j "$(nproc)" >"$work/build.log" 2>&1 || { tail -20 "$work/build.log"; exit 1; }
export FERRY_STACK_DIR=$work/stack
"$root/scripts/stack" up >"$work/stack.log" 2>&1 || { tail -20 "$work/stack.log"; exit 1; }
trap '"$root/scripts/stack" down >/dev/null 2>&1 || true' EXIT
eval "$("$root/scripts/stack" env)"

rows=() bad=0
for i in "${!ids[@]}"; do
    id=${ids[$i]}
    if [ ${#want[@]} -gt 0 ] && ! printf '%s\n' "${want[@]}" | grep -qx -- "$id"; then continue; fi
    f=$tree/${files[$i]}
    cp "$f" "$work/orig"
    sed -i -e "${exprs[$i]}" "$f"
    if cmp -s "$f" "$work/orig"; then
        rows+=("| $id | ${descs[$i]} | NOT APPLIED (the code moved: update mutants.sh) |")
        bad=1
        continue
    fi
    say "$id: ${descs[$i]}"
    if ! cmake --build "$tree/build" -j "$(nproc)" >"$work/$id.build.log" 2>&1; then
        rows+=("| $id | ${descs[$i]} | DOES NOT BUILD (see $work/$id.build.log) |")
        bad=1
    else
        t0=$SECONDS
        ctest --test-dir "$tree/build" -R "${tests[$i]}" --timeout 900 >"$work/$id.test.log" 2>&1 || true
        failed=$(sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) (.*/\1/p' "$work/$id.test.log" | tr '\n' ' ')
        ran=$(grep -c 'Test *#' "$work/$id.test.log" || true)
        if [ "$ran" = 0 ]; then
            rows+=("| $id | ${descs[$i]} | NO TEST RAN for '${tests[$i]}' |")
            bad=1
        elif [ -n "$failed" ]; then
            rows+=("| $id | ${descs[$i]} | caught by ${failed% } ($((SECONDS - t0)) s) |")
        else
            rows+=("| $id | ${descs[$i]} | MISSED by ${tests[$i]} ($((SECONDS - t0)) s) |")
            bad=1
        fi
    fi
    cp "$work/orig" "$f"
done
cmake --build "$tree/build" -j "$(nproc)" >/dev/null 2>&1 || true
echo "| mutant | planted bug | result |"
echo "|---|---|---|"
printf '%s\n' "${rows[@]}"
exit $bad

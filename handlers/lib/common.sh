# shellcheck shell=bash
# Shared helpers for faber-db handler scripts; sourced, never run directly.
#
# Contract for every handler:
#   - inputs arrive as environment variables (FABER_*, and PG* for libpq);
#     passwords only ever arrive inside private 0600 files, never in argv;
#   - exactly one JSON object goes to stdout (schemas/handler-output.schema.json);
#   - logs and tool messages go to stderr;
#   - exit status 0 with "status":"success", or non-zero with "status":"error".

# Backups hold the user's data: everything we write is private to the owner.
umask 077

# The control characters JSON forbids raw, other than \t \n \r (escaped by name):
# JSON_CONTROL_CHARS[i] is the character, JSON_CONTROL_ESCAPES[i] its \u00XX form.
JSON_CONTROL_CHARS=()
JSON_CONTROL_ESCAPES=()
for _code in 1 2 3 4 5 6 7 8 11 12 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31; do
  printf -v _hex '%02x' "$_code"
  printf -v _char '%b' "\\x$_hex"
  JSON_CONTROL_CHARS+=("$_char")
  JSON_CONTROL_ESCAPES+=("\\u00$_hex")
done
unset _code _hex _char

# json_string TEXT: TEXT as a JSON string literal. Every character below 0x20 is
# escaped (a tool's stderr may hold ANSI escapes or other control bytes), in pure
# bash: no subprocess, and the per-character pass runs only when one is present.
json_string() {
  local s=$1 i
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  if [[ $s == *[[:cntrl:]]* ]]; then
    for i in "${!JSON_CONTROL_CHARS[@]}"; do
      s=${s//"${JSON_CONTROL_CHARS[$i]}"/"${JSON_CONTROL_ESCAPES[$i]}"}
    done
  fi
  printf '"%s"' "$s"
}

# emit_json KEY TYPE VALUE ...   TYPE is s (string) or r (raw JSON: number, object, true...)
emit_json() {
  local out="{" sep="" key type value
  while [ $# -ge 3 ]; do
    key=$1 type=$2 value=$3
    shift 3
    [ "$type" = s ] && value=$(json_string "$value")
    out+="$sep\"$key\":$value"
    sep=","
  done
  printf '%s}\n' "$out"
}

# fail CODE MESSAGE [KEY TYPE VALUE ...]: print an error object and exit 1.
fail() {
  local code=$1 message=$2
  shift 2
  stop_watchdog
  emit_json status s error operation s "${FABER_OPERATION:-unknown}" \
    error r "{\"code\":$(json_string "$code"),\"message\":$(json_string "$message")}" "$@"
  exit 1
}

log() { printf 'faber-db handler: %s\n' "$*" >&2; }

now() { date +%s.%N; }

elapsed_since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.3f", e - s }'; }

require_tool() {
  command -v "$1" >/dev/null 2>&1 || fail tool_missing "$1 is not installed or not on PATH" tool s "$1"
}

file_size() { stat -c %s -- "$1"; }

# sha256_stdin: the sha256 (64 hex digits) of stdin. OpenSSL uses the CPU's SHA
# instructions (about 3x coreutils' sha256sum here), which matters on a busy pipeline.
if command -v openssl >/dev/null 2>&1; then
  sha256_stdin() { openssl dgst -sha256 -r | cut -c1-64; }
else
  sha256_stdin() { sha256sum | cut -c1-64; }
fi

# set_compressor NAME: COMPRESS=(command to compress stdin to stdout) at level
# FABER_COMPRESSION_LEVEL. zstd defaults to level 1: a dump is limited by the
# database, and the cores zstd -3 would take are the ones the server, the dump
# tool and the verification of the stream need (docs/benchmarks.md).
set_compressor() {
  local level=${FABER_COMPRESSION_LEVEL:-}
  case "$1" in
    zstd) require_tool zstd; COMPRESS=(zstd -q -c "-${level:-1}" -T0) ;;
    gzip)
      if command -v pigz >/dev/null 2>&1; then COMPRESS=(pigz -c); else COMPRESS=(gzip -c); fi
      [ -n "$level" ] && COMPRESS+=("-$level") ;;
    none) COMPRESS=(cat) ;;
    *) fail invalid_input "unknown compression '$1'" ;;
  esac
}

# set_decompressor NAME: DECOMPRESS=(command to decompress stdin to stdout)
set_decompressor() {
  case "$1" in
    zstd) require_tool zstd; DECOMPRESS=(zstd -q -d -c) ;;
    gzip) if command -v pigz >/dev/null 2>&1; then DECOMPRESS=(pigz -d -c); else DECOMPRESS=(gzip -d -c); fi ;;
    none) DECOMPRESS=(cat) ;;
    *) fail invalid_input "unknown compression '$1'" ;;
  esac
  # An age-encrypted backup (FABER_AGE_IDENTITY names the identity file) is
  # decrypted first, in the same stream: every reader of DECOMPRESS gets plaintext.
  if [ -n "${FABER_AGE_IDENTITY:-}" ]; then
    require_tool age
    PLAIN_DECOMPRESS=("${DECOMPRESS[@]}")
    DECOMPRESS=(decrypt_and_decompress)
  fi
}

# decrypt_and_decompress: age -d | the backup's decompressor (stdin to stdout). age
# authenticates every 64 KiB chunk, so damaged or truncated ciphertext fails here.
decrypt_and_decompress() {
  age -d -i "$FABER_AGE_IDENTITY" | "${PLAIN_DECOMPRESS[@]}"
}

# check_pipeline NAMES STATUSES: fail naming the stage that really failed. A stage
# killed by SIGPIPE (141) only reacts to a later stage's failure, so it is blamed last.
check_pipeline() {
  local -a names
  read -r -a names <<<"$1"
  shift
  local -a statuses=("$@")
  local i culprit=-1
  for i in "${!statuses[@]}"; do
    if [ "${statuses[$i]}" != 0 ] && [ "${statuses[$i]}" != 141 ]; then culprit=$i; break; fi
  done
  if [ "$culprit" = -1 ]; then
    for i in "${!statuses[@]}"; do
      [ "${statuses[$i]}" != 0 ] && { culprit=$i; break; }
    done
  fi
  [ "$culprit" = -1 ] && return 0
  fail tool_failed "${names[$culprit]} exited with status ${statuses[$culprit]}" \
    tool s "${names[$culprit]}" exit_code r "${statuses[$culprit]}"
}

# sha256 of a directory: the sha256 of its sorted "sha256  ./relative/path" lines.
directory_sha256() {
  (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) | sha256sum | cut -c1-64
}

# Watchdog: if faber-db (FABER_PARENT_PID) dies - even by SIGKILL - stop this
# handler's whole process group and remove the partial output it was writing,
# so that no half-written backup is left behind looking like a real one.
start_watchdog() {
  local victim=$1 parent=${FABER_PARENT_PID:-}
  [ -n "$parent" ] || return 0
  (
    while kill -0 "$parent" 2>/dev/null; do sleep 0.2; done
    [ -n "$victim" ] && rm -rf -- "$victim"
    kill -KILL 0
  ) </dev/null >/dev/null 2>&1 &
  WATCHDOG_PID=$!
  trap stop_watchdog EXIT
}

stop_watchdog() {
  if [ -n "${WATCHDOG_PID:-}" ]; then
    kill "$WATCHDOG_PID" 2>/dev/null
    WATCHDOG_PID=
  fi
  return 0
}

# start_stream_verifier CHECK...: verify the backup while it is being written.
# A second branch of the output stream is decompressed in full (the decompression
# test) and piped into CHECK (the format check), which must read its input to the
# end. Statuses land in $FABER_WORK_DIR/verify.status for finish_stream_verifier.
start_stream_verifier() {
  VERIFY_CHECKS_FORMAT=1
  VERIFY_FIFO="$FABER_WORK_DIR/verify.fifo"
  rm -f -- "$VERIFY_FIFO" && mkfifo -m 600 -- "$VERIFY_FIFO"
  (
    "${DECOMPRESS[@]}" <"$VERIFY_FIFO" | "$@"
    echo "${PIPESTATUS[@]}" >"$FABER_WORK_DIR/verify.status"
  ) &
  VERIFIER_PID=$!
}

# start_stream_test: decompression test only, while the backup is written: the
# compressed bytes are decoded in full and their checksum checked (zstd -t / gzip -t),
# with nothing written out. The format check then reads just the head of the file
# (see toc_check_file), far cheaper than decompressing a gigabyte into a pipe.
start_stream_test() {
  local -a tester
  case "$FABER_COMPRESSION" in
    zstd) tester=(zstd -q -t) ;;
    gzip) if command -v pigz >/dev/null 2>&1; then tester=(pigz -t); else tester=(gzip -t); fi ;;
    *) return 0 ;;  # nothing to decompress
  esac
  VERIFY_FIFO="$FABER_WORK_DIR/verify.fifo"
  rm -f -- "$VERIFY_FIFO" && mkfifo -m 600 -- "$VERIFY_FIFO"
  (
    "${tester[@]}" <"$VERIFY_FIFO"
    echo "$? 0" >"$FABER_WORK_DIR/verify.status"
  ) &
  VERIFIER_PID=$!
}

# toc_check_file: pg_restore parses the written custom archive's table of contents,
# which pg_dump puts at its start; sets FORMAT_STATUS.
toc_check_file() {
  "${DECOMPRESS[@]}" <"$FABER_OUTPUT" 2>/dev/null | pg_restore -l >"$FABER_WORK_DIR/toc" 2>"$FABER_WORK_DIR/toc.err"
  if [ "${PIPESTATUS[1]}" = 0 ]; then FORMAT_STATUS=passed; else FORMAT_STATUS=failed; fi
  [ -n "${VERIFY_FIFO:-}" ] || DECOMPRESSION_STATUS=passed  # uncompressed: nothing to test
}

# finish_stream_verifier: wait for the verifier; set DECOMPRESSION_STATUS and FORMAT_STATUS.
finish_stream_verifier() {
  wait "$VERIFIER_PID"
  local -a statuses
  read -r -a statuses <"$FABER_WORK_DIR/verify.status" || statuses=(1 1)
  DECOMPRESSION_STATUS=passed
  [ "${statuses[0]:-1}" = 0 ] || DECOMPRESSION_STATUS=failed
  if [ -n "${VERIFY_CHECKS_FORMAT:-}" ]; then
    FORMAT_STATUS=passed
    [ "${statuses[1]:-1}" = 0 ] || FORMAT_STATUS=failed
  fi
}

# stream_to_output COMMAND...: COMMAND | compress | tee FABER_OUTPUT (+ the stream
# verifier, when started) | sha256sum. The sha256 of exactly the bytes written goes
# to $FABER_WORK_DIR/sha256; the file is fsync'd; a failing stage is named.
stream_to_output() {
  local name=$1
  if [ -n "${FABER_AGE_RECIPIENTS:-}" ]; then
    stream_encrypted "$@"
    return
  fi
  local -a targets=("$FABER_OUTPUT")
  [ -n "${VERIFY_FIFO:-}" ] && targets+=("$VERIFY_FIFO")
  "$@" | "${COMPRESS[@]}" | tee -- "${targets[@]}" | sha256_stdin >"$FABER_WORK_DIR/sha256"
  local -a statuses=("${PIPESTATUS[@]}")
  [ -n "${VERIFY_FIFO:-}" ] && finish_stream_verifier
  check_pipeline "$name ${COMPRESS[0]} tee sha256" "${statuses[@]}"
  sync -- "$FABER_OUTPUT" || fail disk_full "could not flush $FABER_OUTPUT to disk"
}

# stream_encrypted COMMAND...: COMMAND | compress | tee (stream verifier) | age -R
# FABER_AGE_RECIPIENTS | tee FABER_OUTPUT | sha256sum. The verifier reads the
# compressed plaintext before encryption (creation needs no identity); the sha256 is
# of the encrypted bytes stored. No plaintext reaches the disk.
stream_encrypted() {
  local name=$1
  require_tool age
  local -a encrypt=(age -R "$FABER_AGE_RECIPIENTS") statuses
  if [ -n "${VERIFY_FIFO:-}" ]; then
    "$@" | "${COMPRESS[@]}" | tee -- "$VERIFY_FIFO" | "${encrypt[@]}" | tee -- "$FABER_OUTPUT" |
      sha256_stdin >"$FABER_WORK_DIR/sha256"
    statuses=("${PIPESTATUS[@]}")
    finish_stream_verifier
    check_pipeline "$name ${COMPRESS[0]} tee age tee sha256" "${statuses[@]}"
  else
    "$@" | "${COMPRESS[@]}" | "${encrypt[@]}" | tee -- "$FABER_OUTPUT" |
      sha256_stdin >"$FABER_WORK_DIR/sha256"
    statuses=("${PIPESTATUS[@]}")
    check_pipeline "$name ${COMPRESS[0]} age tee sha256" "${statuses[@]}"
  fi
  sync -- "$FABER_OUTPUT" || fail disk_full "could not flush $FABER_OUTPUT to disk"
  [ "$(head -c 22 -- "$FABER_OUTPUT")" = "age-encryption.org/v1" ] ||
    fail tool_failed "age did not write an age v1 file" tool s age
}

# toc_check_stream: pg_restore parses the table of contents at the head of a custom
# archive arriving on stdin; the rest of the stream is then read to its end (so the
# decompression test covers every byte). Used when the file on disk is encrypted.
toc_check_stream() {
  pg_restore -l >"$FABER_WORK_DIR/toc" 2>"$FABER_WORK_DIR/toc.err"
  local status=$?
  cat >/dev/null
  return "$status"
}

# trailer_check PATTERN: read the decompressed stream to its end and keep its last
# 4 KiB; succeed when PATTERN occurs there (dumps write their trailer last).
trailer_check() {
  tail -c 4096 >"$FABER_WORK_DIR/tail" && grep -q -- "$1" "$FABER_WORK_DIR/tail"
}

# emit_created ENGINE TOOL TOOL_VERSION: print the create-backup result, with the
# stream verification's checks when one ran.
emit_created() {
  local engine=$1 tool=$2 version=$3 problems="[]" problem=""
  local -a checks=()
  if [ -n "${FORMAT_STATUS:-}" ]; then
    checks=(checks r "{\"decompression\":\"$DECOMPRESSION_STATUS\",\"format\":\"$FORMAT_STATUS\"}")
    [ "$DECOMPRESSION_STATUS" = failed ] && problem="the written stream does not decompress cleanly"
    [ "$FORMAT_STATUS" = failed ] && problem="${problem:+$problem; }the written stream fails the $FABER_FORMAT format check"
    [ -n "$problem" ] && problems="[$(json_string "$problem")]"
  fi
  stop_watchdog
  emit_json status s success operation s create-backup engine s "$engine" \
    format s "$FABER_FORMAT" compression s "$FABER_COMPRESSION" file s "$FABER_OUTPUT" \
    size_bytes r "$(du -sb -- "$FABER_OUTPUT" | cut -f1)" sha256 s "$(cat "$FABER_WORK_DIR/sha256")" \
    tool s "$tool" tool_version s "$version" duration_seconds r "$(elapsed_since "$STARTED")" \
    encrypted r "$([ -n "${FABER_AGE_RECIPIENTS:-}" ] && echo true || echo false)" \
    "${checks[@]}" problems r "$problems"
}

# checksum_and_tail FILE: one read of FILE computes its sha256 (-> $FABER_WORK_DIR/sha256)
# and decompresses it fully (the decompression test), keeping the last 4 KiB of the
# decompressed stream in $FABER_WORK_DIR/tail for trailer checks.
checksum_and_tail() {
  local file=$1 fifo="$FABER_WORK_DIR/sha256.fifo" hasher
  rm -f -- "$fifo" && mkfifo -m 600 -- "$fifo"
  sha256_stdin <"$fifo" >"$FABER_WORK_DIR/sha256" &
  hasher=$!
  tee -- "$fifo" <"$file" | "${DECOMPRESS[@]}" | tail -c 4096 >"$FABER_WORK_DIR/tail"
  local -a statuses=("${PIPESTATUS[@]}")
  wait "$hasher"
  DECOMPRESSION_STATUS=passed
  if [ "${statuses[0]}" != 0 ] || [ "${statuses[1]}" != 0 ] || [ "${statuses[2]}" != 0 ]; then
    DECOMPRESSION_STATUS=failed
  fi
}

# emit_verification FORMAT_CHECK_STATUS [PROBLEM]: print the verify-backup result.
emit_verification() {
  local format_status=$1 problem=${2:-} problems="[]"
  [ -n "$problem" ] && problems="[$(json_string "$problem")]"
  stop_watchdog
  emit_json status s success operation s verify-backup \
    sha256 s "$(cat "$FABER_WORK_DIR/sha256" 2>/dev/null)" \
    checks r "{\"decompression\":\"$DECOMPRESSION_STATUS\",\"format\":\"$format_status\"}" \
    problems r "$problems" \
    duration_seconds r "$(elapsed_since "$STARTED")"
}

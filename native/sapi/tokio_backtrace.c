/*
 * The PHP backtrace of a request running on another thread, for the slow log: what php-fpm reads
 * with ptrace (sapi/fpm/fpm/fpm_php_trace.c), read here in our own process with process_vm_readv.
 * The frames belong to a running script: any of them may be popped while we read, so every read
 * goes through the kernel, which answers EFAULT (or stale bytes) instead of a crash.
 */
#include "tokio_sapi.h"

#include <php.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* php-fpm's request_slowlog_trace_depth is 20 by default; framework stacks run deeper. Also
 * bounds a walk through a frame chain that stale bytes made circular. */
#define TRACE_DEPTH 100
/* php-fpm reads names and paths into a 1024-byte buffer */
#define NAME_MAX_LEN 1023

typedef struct frame {
  uintptr_t addr;
  zend_execute_data ex;
} frame;

static int peek(uintptr_t addr, void *out, size_t len)
{
  struct iovec local = {out, len};
  struct iovec remote = {(void *)addr, len};
  return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

/* php-fpm's valid_ptr(): set and aligned */
static int valid(uintptr_t p) { return p && (p & (sizeof(void *) - 1)) == 0; }

/* A zend_string's text, cut at NAME_MAX_LEN; out holds NAME_MAX_LEN + 1 bytes. */
static int peek_string(uintptr_t str, char *out)
{
  size_t len;
  if (!valid(str) || peek(str + offsetof(zend_string, len), &len, sizeof(len)) != 0) return -1;
  if (len > NAME_MAX_LEN) len = NAME_MAX_LEN;
  if (peek(str + offsetof(zend_string, val), out, len) != 0) return -1;
  out[len] = '\0';
  return 0;
}

/* The frame's class (or "") and function: "[INCLUDE_OR_EVAL]" for an included file's code; 1
 * for the script's own top-level code, where php-fpm's trace ends. */
static int frame_name(const frame *f, char *scope, char *name)
{
  zend_function func;
  uintptr_t fp = (uintptr_t)f->ex.func;
  scope[0] = '\0';
  if (!valid(fp)) {
    strcpy(name, "???");
    return 0;
  }
  if (peek(fp, &func.common, sizeof(func.common)) != 0) return -1;
  if (!func.common.function_name) {
    if (ZEND_CALL_KIND_EX(Z_TYPE_INFO(f->ex.This)) == ZEND_CALL_TOP_CODE) return 1;
    strcpy(name, "[INCLUDE_OR_EVAL]");
    return 0;
  }
  uintptr_t class_name;
  if (func.common.scope &&
      (peek((uintptr_t)func.common.scope + offsetof(zend_class_entry, name), &class_name, sizeof(class_name)) != 0 ||
       peek_string(class_name, scope) != 0))
    return -1;
  return peek_string((uintptr_t)func.common.function_name, name);
}

/* Where the frame was called from: the file and line of the nearest caller running PHP code
 * (internal callers, array_map() say, are skipped), as php-fpm prints it. */
static int call_site(const frame *callers, int count, char *file, uint32_t *line)
{
  strcpy(file, "unknown");
  *line = 0;
  for (int i = 0; i < count; i++) {
    uintptr_t fp = (uintptr_t)callers[i].ex.func;
    zend_uchar type;
    if (!valid(fp)) return 0;
    if (peek(fp + offsetof(zend_function, type), &type, sizeof(type)) != 0) return -1;
    if (!ZEND_USER_CODE(type)) continue;
    uintptr_t filename;
    if (peek(fp + offsetof(zend_op_array, filename), &filename, sizeof(filename)) != 0 ||
        peek_string(filename, file) != 0)
      return -1;
    uintptr_t opline = (uintptr_t)callers[i].ex.opline;
    if (valid(opline) && peek(opline + offsetof(zend_op, lineno), line, sizeof(*line)) != 0) return -1;
    return 0;
  }
  return 0;
}

/* The chain of frames from the innermost (one more than printed: the last printed needs its
 * caller's line); their count, or -1. `whole`: it ends where a chain can end, in code PHP was
 * asked to run from C (the script, a shutdown function), rather than in a frame read while a
 * call was being set up. */
static int walk(const tokio_thread *thread, frame *frames, int *whole)
{
  uintptr_t addr;
  int count = 0;
  if (peek((uintptr_t)thread->execute_data, &addr, sizeof(addr)) != 0) return -1;
  while (addr && count <= TRACE_DEPTH) {
    frames[count].addr = addr;
    if (peek(addr, &frames[count].ex, sizeof(zend_execute_data)) != 0) return -1;
    addr = (uintptr_t)frames[count++].ex.prev_execute_data;
  }
  *whole = addr || count == 0 || (Z_TYPE_INFO(frames[count - 1].ex.This) & ZEND_CALL_TOP);
  return count;
}

/* Two walks saw the same calls from the same lines (the innermost frame's own line moves on). */
static int same(const frame *a, const frame *b, int count)
{
  for (int i = 0; i < count; i++) {
    if (a[i].addr != b[i].addr || a[i].ex.func != b[i].ex.func ||
        a[i].ex.prev_execute_data != b[i].ex.prev_execute_data || (i > 0 && a[i].ex.opline != b[i].ex.opline))
      return 0;
  }
  return 1;
}

int tokio_backtrace(const tokio_thread *thread, char *out, size_t cap)
{
  frame walks[2][TRACE_DEPTH + 1];
  frame *frames = NULL;
  int count = -1;
  out[0] = '\0';
  /* a call or a return while we walk tears the chain: walk until two walks agree on a whole one,
   * or print the last of a few */
  for (int i = 0; i < 8; i++) {
    frame *read = walks[i % 2];
    int whole = 0;
    int n = walk(thread, read, &whole);
    int agree = n >= 0 && n == count && same(frames, read, n);
    frames = read;
    count = n;
    if (agree && whole) break;
  }
  if (count < 0) return -1;
  size_t used = 0;
  int printed = 0;
  for (int i = 0; i < count && printed < TRACE_DEPTH; i++) {
    char scope[NAME_MAX_LEN + 1], name[NAME_MAX_LEN + 1], file[NAME_MAX_LEN + 1];
    uint32_t line;
    int kind = frame_name(&frames[i], scope, name);
    if (kind == 1) break;
    if (kind < 0 || call_site(frames + i + 1, count - i - 1, file, &line) != 0) return -1;
    int n = snprintf(out + used, cap - used, "[0x%016" PRIxPTR "] %s%s%s() %s:%u\n", frames[i].addr, scope,
                     scope[0] ? "::" : "", name, file, line);
    if (n < 0 || (size_t)n >= cap - used) {
      out[used] = '\0'; /* the frames that fit */
      break;
    }
    used += (size_t)n;
    printed++;
  }
  return printed;
}

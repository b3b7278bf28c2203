/*
 * All SAPI glue in one place: each callback is named after the sapi_module_struct slot it fills.
 * This file is C on purpose: PHP reports fatal errors with zend_bailout() (a longjmp), which must
 * never cross a C++ frame that owns destructors. The engine reaches PHP only through tokio_sapi.h.
 */
#include <ctype.h>
#include "tokio_sapi.h"
#include "../../ext/tokio_ext.h"

#include <SAPI.h>
#include <php.h>
#include <php_main.h>
#include <php_ini.h>
#include <php_variables.h>
#include <build-defs.h>
#include <ext/standard/head.h>
#include <main/http_status_codes.h>
#include <ext/standard/info.h>
#include <Zend/zend_exceptions.h>
#include <Zend/zend_extensions.h>
#include <Zend/zend_ini_scanner.h>
#include <Zend/zend_interfaces.h>
#include <Zend/zend_smart_str.h>
#ifdef HAVE_PHP_SESSION
#include <ext/session/php_session.h>
#endif

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <syslog.h>

#ifndef ZTS
#error "tokio-php needs a thread-safe (ZTS) PHP build"
#endif

/* Interrupts a worker blocked in a syscall (sleep(), a socket read) so it reaches its next opcode. */
#define TOKIO_WAKE_SIGNAL (SIGRTMIN + 3)

/* SG(server_context): what one running request needs from the SAPI callbacks. */
typedef struct tokio_ctx {
  const tokio_request *req;
  tokio_thread *thread;
  void *host;
  int status;
  int aborted;
  int finished; /* tokio_finish_request() sent the response */
} tokio_ctx;

static __thread tokio_thread *current_thread;

/* Worker mode: the state of one worker script's run on this thread. */
typedef struct worker_loop {
  tokio_ctx boot;     /* the script's own request: current while it boots and between requests */
  tokio_ctx job;      /* the request tokio_handle_request() serves */
  int booted;         /* it reached tokio_handle_request() */
  int serving;        /* `job` is the current request */
  HashTable boot_ini; /* directives the boot changed, with their values: what a request's ini_set() returns to */
} worker_loop;
static __thread worker_loop *loop_state;
static void find_per_request_modules(void);

static char *ini_path_copy, *ini_defaults_copy, *ini_entries_copy, *server_software_copy, *version_copy;
static int executor, worker_count, process_index, opcache_on;
static void (*previous_interrupt_function)(zend_execute_data *execute_data);

/* Keys of $_SERVER entries that every request sets: built once, shared by every thread. */
enum {
  K_REQUEST_METHOD,
  K_REQUEST_URI,
  K_QUERY_STRING,
  K_SCRIPT_NAME,
  K_SCRIPT_FILENAME,
  K_PHP_SELF,
  K_PATH_INFO,
  K_DOCUMENT_ROOT,
  K_DOCUMENT_URI,
  K_SERVER_NAME,
  K_SERVER_ADDR,
  K_SERVER_PORT,
  K_SERVER_PROTOCOL,
  K_SERVER_SOFTWARE,
  K_GATEWAY_INTERFACE,
  K_REQUEST_SCHEME,
  K_HTTPS,
  K_REMOTE_ADDR,
  K_REMOTE_PORT,
  K_REMOTE_USER,
  K_CONTENT_TYPE,
  K_CONTENT_LENGTH,
  K_REDIRECT_STATUS,
  K_FCGI_ROLE,
  K_REQUEST_ID,
  K_TOKIO_WORKER,
  K_FRANKENPHP_WORKER,
  K_COUNT
};
static const char *const key_names[K_COUNT] = {
    "REQUEST_METHOD",  "REQUEST_URI",     "QUERY_STRING",      "SCRIPT_NAME",    "SCRIPT_FILENAME", "PHP_SELF",
    "PATH_INFO",       "DOCUMENT_ROOT",   "DOCUMENT_URI",      "SERVER_NAME",    "SERVER_ADDR",     "SERVER_PORT",
    "SERVER_PROTOCOL", "SERVER_SOFTWARE", "GATEWAY_INTERFACE", "REQUEST_SCHEME", "HTTPS",           "REMOTE_ADDR",
    "REMOTE_PORT",     "REMOTE_USER",     "CONTENT_TYPE",      "CONTENT_LENGTH", "REDIRECT_STATUS", "FCGI_ROLE",
    "REQUEST_ID",      "TOKIO_WORKER",    "FRANKENPHP_WORKER",
};
static zend_string *keys[K_COUNT];
static HashTable env_snapshot; /* the process environment at startup, as fpm with clear_env=no */
static bool filter_server_vars;

/* A string that lives as long as the process and is never refcounted, safe on every thread. */
static zend_string *permanent_string(const char *s, size_t len)
{
  zend_string *str = zend_string_init(s, len, 1);
  zend_string_hash_val(str);
  GC_ADD_FLAGS(str, IS_STR_INTERNED);
  return str;
}

static tokio_ctx *ctx(void) { return (tokio_ctx *)SG(server_context); }

static const tokio_str *find_header(const tokio_request *req, const char *name, size_t len)
{
  for (size_t i = 0; i < req->header_count; i++) {
    const tokio_str *h = &req->headers[2 * i];
    if (h->len == len && strncasecmp(h->ptr, name, len) == 0) return h + 1;
  }
  return NULL;
}

/* ---- sapi_module_struct slots ---- */

static int tokio_sapi_startup(sapi_module_struct *module) { return php_module_startup(module, &tokio_module_entry); }

static size_t tokio_sapi_ub_write(const char *str, size_t len)
{
  tokio_ctx *c = ctx();
  if (c && !c->host) { /* a worker script's own output, outside any request: to the log */
    tokio_host_log(NULL, LOG_NOTICE, str, len);
    return len;
  }
  if (!c || !tokio_host_write(c->host, str, len)) { php_handle_aborted_connection(); }
  return len;
}

static void tokio_sapi_flush(void *server_context)
{
  tokio_ctx *c = server_context;
  /* Like php-fpm, flush() only pushes what already went through ub_write (headers included). */
  if (c && c->host && !tokio_host_flush(c->host)) php_handle_aborted_connection();
}

static int tokio_sapi_send_headers(sapi_headers_struct *sapi_headers)
{
  tokio_ctx *c = ctx();
  if (!c || !c->host) return SAPI_HEADER_SENT_SUCCESSFULLY;
  int status = sapi_headers->http_response_code ? sapi_headers->http_response_code : 200;
  tokio_str reason = {NULL, 0};
  /* "HTTP/1.1 404 Gone Fishing": keep the script's reason phrase, as nginx does with fpm's Status */
  const char *line = sapi_headers->http_status_line;
  if (line) {
    const char *sp = strchr(line, ' ');
    if (sp && strlen(sp) > 5 && sp[4] == ' ') {
      reason.ptr = sp + 5;
      reason.len = strlen(sp + 5);
    }
  }
  /* CGI semantics, as php-fpm + nginx: without an "HTTP/..." line, the first "Status: 503 Reason"
   * header sets the status (over http_response_code), and no Status header reaches the client. */
  int status_header_seen = line && strncasecmp(line, "HTTP/", 5) == 0;
  size_t n = zend_llist_count(&sapi_headers->headers), i = 0;
  tokio_str *lines = n ? emalloc(n * sizeof(tokio_str)) : NULL;
  zend_llist_position pos;
  int event_stream = 0;
  for (sapi_header_struct *h = zend_llist_get_first_ex(&sapi_headers->headers, &pos); h;
       h = zend_llist_get_next_ex(&sapi_headers->headers, &pos)) {
    if (h->header_len > 7 && strncasecmp(h->header, "Status:", 7) == 0) {
      if (!status_header_seen) {
        status_header_seen = 1;
        const char *v = h->header + 7, *end = h->header + h->header_len;
        while (v < end && *v == ' ') v++;
        if (end - v >= 3 && isdigit((unsigned char)v[0]) && isdigit((unsigned char)v[1]) &&
            isdigit((unsigned char)v[2]) && (end - v == 3 || v[3] == ' ')) {
          status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
          reason.ptr = end - v > 4 ? v + 4 : NULL;
          reason.len = end - v > 4 ? (size_t)(end - v - 4) : 0;
        }
      }
      continue;
    }
    /* as php-fpm: a 304 goes without its Content-Type (PHP's default one included) */
    if (sapi_headers->http_response_code == 304 && h->header_len > 13 &&
        strncasecmp(h->header, "Content-Type:", 13) == 0)
      continue;
    lines[i].ptr = h->header;
    lines[i].len = h->header_len;
    event_stream |= h->header_len > 13 && strncasecmp(h->header, "content-type:", 13) == 0 &&
                    php_memnistr(h->header + 13, "text/event-stream", 17, h->header + h->header_len) != NULL;
    i++;
  }
  /* FastCGI: the reason php-fpm gives a code it knows ("413 Request Entity Too Large") */
  for (size_t k = 0; !reason.len && c->req->cgi && k < http_status_map_len; k++) {
    if (http_status_map[k].code != status) continue;
    reason.ptr = http_status_map[k].str;
    reason.len = strlen(reason.ptr);
  }
  int ok = 1;
  if (status >= 100 && status < 200) {
    tokio_host_send_hints(c->host, status, lines, i); /* headers_send(103): the final response is still to come */
  } else {
    c->status = status;
    ok = tokio_host_send_headers(c->host, status, reason, lines, i, event_stream);
  }
  if (lines) efree(lines);
  return ok ? SAPI_HEADER_SENT_SUCCESSFULLY : SAPI_HEADER_SEND_FAILED;
}

static size_t tokio_sapi_read_post(char *buffer, size_t count)
{
  tokio_ctx *c = ctx();
  return c && c->host ? tokio_host_read_body(c->host, buffer, count) : 0;
}

static char *tokio_sapi_read_cookies(void)
{
  tokio_ctx *c = ctx();
  return c && c->host ? (char *)tokio_host_cookies(c->host) : NULL;
}

static void register_server_var(HashTable *ht, zend_string *key, const char *val, size_t len)
{
  zval z;
  if (filter_server_vars) {
    /* Like php_register_variable_safe(): the filter extension keeps its raw copy for filter_input(). */
    char *v = estrndup(val, len);
    size_t new_len = len;
    if (sapi_module.input_filter(PARSE_SERVER, ZSTR_VAL(key), &v, len, &new_len)) {
      ZVAL_STRINGL_FAST(&z, v, new_len);
      zend_hash_update_ind(ht, key, &z);
    }
    efree(v);
    return;
  }
  ZVAL_STRINGL_FAST(&z, val, len);
  zend_hash_update_ind(ht, key, &z);
}

/* Where $_SERVER entries go: into the array (ext executor), or into PHP code (eval executor). */
typedef struct var_sink var_sink;
struct var_sink {
  void (*put)(var_sink *sink, zend_string *key, const char *val, size_t len);
  HashTable *ht;
  smart_str *code;
};

static void put_native(var_sink *sink, zend_string *key, const char *val, size_t len)
{
  register_server_var(sink->ht, key, val, len);
}

static void append_quoted(smart_str *code, const char *s, size_t len)
{
  smart_str_appendc(code, '\'');
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '\'' || s[i] == '\\') smart_str_appendc(code, '\\');
    smart_str_appendc(code, s[i]);
  }
  smart_str_appendc(code, '\'');
}

static void put_code(var_sink *sink, zend_string *key, const char *val, size_t len)
{
  /* httpoxy: PHP's own registration (check_http_proxy) keeps a "Proxy:" header out of $_SERVER;
   * code run after it must not put it back. */
  if (zend_string_equals_literal(key, "HTTP_PROXY")) return;
  smart_str_appends(sink->code, "$_SERVER[");
  append_quoted(sink->code, ZSTR_VAL(key), ZSTR_LEN(key));
  smart_str_appends(sink->code, "] = ");
  append_quoted(sink->code, val, len);
  smart_str_appends(sink->code, ";\n");
}

static void put_str(var_sink *sink, int k, tokio_str s) { sink->put(sink, keys[k], s.ptr ? s.ptr : "", s.len); }

/* "X-Forwarded-For" -> "HTTP_X_FORWARDED_FOR"; false for names nginx would drop (only letters,
 * digits and '-' pass, so X_Forwarded_For cannot pose as X-Forwarded-For). */
static bool http_var_name(const tokio_str *name, char *out, size_t out_size)
{
  if (name->len == 0 || name->len + 6 > out_size) return false;
  memcpy(out, "HTTP_", 5);
  for (size_t i = 0; i < name->len; i++) {
    char ch = name->ptr[i];
    if (ch >= 'a' && ch <= 'z') ch -= 32;
    else if (ch == '-') ch = '_';
    else if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))) return false;
    out[5 + i] = ch;
  }
  out[5 + name->len] = 0;
  return true;
}

typedef void (*header_fn)(void *arg, const char *var, size_t var_len, const char *val, size_t val_len);

/* Calls fn once per header name nginx would pass, as HTTP_* with repeated lines joined the way
 * nginx 1.23+ joins them: cookies with "; ", others with ", ". */
static void for_each_header(const tokio_request *req, header_fn fn, void *arg)
{
  char var[256];
  for (size_t i = 0; i < req->header_count; i++) {
    const tokio_str *h = &req->headers[2 * i];
    if (!http_var_name(h, var, sizeof(var))) continue;
    bool repeated = false, seen = false;
    for (size_t j = 0; j < req->header_count && !seen; j++) {
      const tokio_str *o = &req->headers[2 * j];
      if (j == i || o->len != h->len || strncasecmp(o->ptr, h->ptr, h->len) != 0) continue;
      if (j < i) seen = true;
      else repeated = true;
    }
    if (seen) continue; /* joined into the first line of that name */
    if (!repeated) {
      fn(arg, var, 5 + h->len, h[1].ptr, h[1].len);
      continue;
    }
    const char *sep = h->len == 6 && strncasecmp(h->ptr, "cookie", 6) == 0 ? "; " : ", ";
    smart_str joined = {0};
    smart_str_appendl(&joined, h[1].ptr, h[1].len);
    for (size_t j = i + 1; j < req->header_count; j++) {
      const tokio_str *o = &req->headers[2 * j];
      if (o->len != h->len || strncasecmp(o->ptr, h->ptr, h->len) != 0) continue;
      smart_str_appendl(&joined, sep, 2);
      smart_str_appendl(&joined, o[1].ptr, o[1].len);
    }
    smart_str_0(&joined);
    fn(arg, var, 5 + h->len, ZSTR_VAL(joined.s), ZSTR_LEN(joined.s));
    smart_str_free(&joined);
  }
}

static void put_header_var(void *sink, const char *var, size_t var_len, const char *val, size_t val_len)
{
  zend_string *key = zend_string_init(var, var_len, 0);
  ((var_sink *)sink)->put(sink, key, val, val_len);
  zend_string_release(key);
}

/* Every $_SERVER entry a request gets, as nginx's fastcgi_params and php-fpm give them. */
static void collect_server_vars(const tokio_request *r, var_sink *sink)
{
  if (!r->cgi) for_each_header(r, put_header_var, sink);
  put_str(sink, K_REQUEST_METHOD, r->method);
  put_str(sink, K_REQUEST_URI, r->request_uri);
  put_str(sink, K_QUERY_STRING, r->query_string);
  put_str(sink, K_SCRIPT_NAME, r->script_name);
  put_str(sink, K_SCRIPT_FILENAME, r->script_filename);
  put_str(sink, K_PATH_INFO, r->path_info);
  put_str(sink, K_DOCUMENT_ROOT, r->document_root);
  put_str(sink, K_SERVER_NAME, r->server_name);
  put_str(sink, K_SERVER_ADDR, r->server_addr);
  put_str(sink, K_SERVER_PORT, r->server_port);
  put_str(sink, K_SERVER_PROTOCOL, r->protocol);
  sink->put(sink, keys[K_SERVER_SOFTWARE], server_software_copy, strlen(server_software_copy));
  sink->put(sink, keys[K_GATEWAY_INTERFACE], "CGI/1.1", 7);
  sink->put(sink, keys[K_REQUEST_SCHEME], r->https ? "https" : "http", r->https ? 5 : 4);
  if (r->https) sink->put(sink, keys[K_HTTPS], "on", 2);
  put_str(sink, K_REMOTE_ADDR, r->remote_addr);
  put_str(sink, K_REMOTE_PORT, r->remote_port);
  const char *user = SG(request_info).auth_user;
  sink->put(sink, keys[K_REMOTE_USER], user ? user : "", user ? strlen(user) : 0);
  const tokio_str *ct = find_header(r, "content-type", 12);
  sink->put(sink, keys[K_CONTENT_TYPE], ct ? ct->ptr : "", ct ? ct->len : 0);
  char len_buf[24];
  int len_len = r->content_length >= 0 ? snprintf(len_buf, sizeof(len_buf), "%" PRId64, r->content_length) : 0;
  sink->put(sink, keys[K_CONTENT_LENGTH], len_buf, len_len);
  sink->put(sink, keys[K_REDIRECT_STATUS], "200", 3);
  sink->put(sink, keys[K_FCGI_ROLE], "RESPONDER", 9);
  if (r->request_id.len) put_str(sink, K_REQUEST_ID, r->request_id);
  if (loop_state) { /* how apps tell a worker script's requests, FrankenPHP's name too */
    sink->put(sink, keys[K_TOKIO_WORKER], "1", 1);
    sink->put(sink, keys[K_FRANKENPHP_WORKER], "1", 1);
  }

  /* PHP_SELF is SCRIPT_NAME + PATH_INFO, as php-fpm builds it; nginx's DOCUMENT_URI is the script
   * alone, as Debian's snippets/fastcgi-php.conf leaves it (its try_files $fastcgi_script_name) */
  zend_string *self = zend_string_concat2(r->script_name.ptr, r->script_name.len,
                                          r->path_info.ptr ? r->path_info.ptr : "", r->path_info.len);
  sink->put(sink, keys[K_PHP_SELF], ZSTR_VAL(self), ZSTR_LEN(self));
  zend_string_release(self);
  put_str(sink, K_DOCUMENT_URI, r->script_name);

  for (size_t i = 0; i < r->server_var_count; i++) {
    const tokio_str *v = &r->server_vars[2 * i];
    zend_string *key = zend_string_init(v[0].ptr, v[0].len, 0);
    sink->put(sink, key, v[1].ptr, v[1].len);
    zend_string_release(key);
  }
}

static void tokio_sapi_register_variables(zval *track_vars_array)
{
  tokio_ctx *c = ctx();
  HashTable *ht = Z_ARRVAL_P(track_vars_array);
  if (!c) return;
  const tokio_request *r = c->req;
  zend_hash_extend(ht, zend_hash_num_elements(&env_snapshot) + K_COUNT + r->header_count + r->server_var_count, 0);
  zend_hash_copy(ht, &env_snapshot, NULL);
  if (executor == TOKIO_EXECUTOR_EVAL) return; /* the eval executor's code sets the rest */
  var_sink sink = {put_native, ht, NULL};
  collect_server_vars(r, &sink);
}

static void tokio_sapi_log_message(const char *message, int syslog_type)
{
  tokio_ctx *c = ctx();
  tokio_host_log(c ? c->host : NULL, syslog_type, message, strlen(message));
}

static zend_result tokio_sapi_get_request_time(double *request_time)
{
  tokio_ctx *c = ctx();
  if (!c || c->req->request_time <= 0) return FAILURE;
  *request_time = c->req->request_time;
  return SUCCESS;
}

static char *tokio_sapi_getenv(const char *name, size_t name_len)
{
  zval *v = zend_hash_str_find(&env_snapshot, name, name_len);
  return v ? Z_STRVAL_P(v) : NULL;
}

/* Lowest precedence: php.ini overrides these. */
static void tokio_sapi_ini_defaults(HashTable *configuration_hash)
{
  for (char *line = ini_defaults_copy; line && *line;) {
    char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    char *eq = memchr(line, '=', len);
    if (eq) {
      zval v;
      ZVAL_NEW_STR(&v, zend_string_init(eq + 1, len - (eq + 1 - line), 1));
      zend_hash_str_update(configuration_hash, line, eq - line, &v);
    }
    line = end ? end + 1 : line + len;
  }
}

/* ---- functions the SAPI adds, as php-fpm does ---- */

/* "HTTP_X_FOO_BAR" comes back as "X-Foo-Bar", the way php-fpm's getallheaders() shows it. */
static void add_header_entry(void *array, const char *var, size_t var_len, const char *val, size_t val_len)
{
  zend_string *name = zend_string_alloc(var_len - 5, 0);
  bool word_start = true;
  for (size_t i = 5; i < var_len; i++) {
    char ch = var[i];
    if (ch == '_') {
      ch = '-';
      word_start = true;
    } else if (word_start) {
      word_start = false;
    } else if (ch >= 'A' && ch <= 'Z') {
      ch += 32;
    }
    ZSTR_VAL(name)[i - 5] = ch;
  }
  ZSTR_VAL(name)[var_len - 5] = 0;
  zval v;
  ZVAL_STRINGL(&v, val, val_len);
  zend_symtable_update(array, name, &v);
  zend_string_release(name);
}

static PHP_FUNCTION(getallheaders)
{
  ZEND_PARSE_PARAMETERS_NONE();
  array_init(return_value);
  tokio_ctx *c = ctx();
  if (!c) return;
  if (!c->req->cgi) {
    /* as php-fpm behind nginx: its table of params lists the last first, so the headers come
     * backwards, then nginx's CONTENT_LENGTH and CONTENT_TYPE (empty without a body) */
    HashTable in_order;
    zend_hash_init(&in_order, 16, NULL, ZVAL_PTR_DTOR, 0);
    for_each_header(c->req, add_header_entry, &in_order);
    zend_ulong index;
    zend_string *key;
    zval *value;
    ZEND_HASH_REVERSE_FOREACH_KEY_VAL(&in_order, index, key, value)
    {
      Z_TRY_ADDREF_P(value);
      if (key) zend_hash_update(Z_ARRVAL_P(return_value), key, value);
      else zend_hash_index_update(Z_ARRVAL_P(return_value), index, value);
    }
    ZEND_HASH_FOREACH_END();
    zend_hash_destroy(&in_order);
    char length[24];
    int length_len =
        c->req->content_length >= 0 ? snprintf(length, sizeof(length), "%" PRId64, c->req->content_length) : 0;
    add_header_entry(Z_ARRVAL_P(return_value), "HTTP_CONTENT_LENGTH", 19, length, length_len);
    const tokio_str *type = find_header(c->req, "content-type", 12);
    add_header_entry(Z_ARRVAL_P(return_value), "HTTP_CONTENT_TYPE", 17, type ? type->ptr : "", type ? type->len : 0);
    return;
  }
  /* FastCGI: as php-fpm, the front's HTTP_* params, CONTENT_TYPE and CONTENT_LENGTH, in the order of
   * its table of params: the last first, a name repeated where it first came, with its last value */
  const tokio_str *p = c->req->server_vars;
  size_t n = c->req->server_var_count;
  for (size_t i = n; i-- > 0;) {
    const tokio_str *v = &p[2 * i];
    bool http = v->len > 5 && memcmp(v->ptr, "HTTP_", 5) == 0;
    if (!http && !(v->len == 12 && memcmp(v->ptr, "CONTENT_TYPE", 12) == 0) &&
        !(v->len == 14 && memcmp(v->ptr, "CONTENT_LENGTH", 14) == 0))
      continue;
    bool first = true, seen;
    size_t last = i;
    for (size_t j = 0; j < n; j++) {
      seen = p[2 * j].len == v->len && memcmp(p[2 * j].ptr, v->ptr, v->len) == 0;
      if (seen && j < i) first = false;
      if (seen && j > i) last = j;
    }
    if (!first) continue;
    char var[20] = "HTTP_";
    if (!http) memcpy(var + 5, v->ptr, v->len);
    add_header_entry(Z_ARRVAL_P(return_value), http ? v->ptr : var, http ? v->len : 5 + v->len, p[2 * last + 1].ptr,
                     p[2 * last + 1].len);
  }
}

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_getallheaders, 0, 0, IS_ARRAY, 0)
ZEND_END_ARG_INFO()

/* one entry a line, as PHP writes them */
/* clang-format off */
static const zend_function_entry tokio_sapi_functions[] = {
  PHP_FE(getallheaders, arginfo_getallheaders)
  PHP_FALIAS(apache_request_headers, getallheaders, arginfo_getallheaders)
  PHP_FE_END
};
/* clang-format on */

static sapi_module_struct tokio_sapi_module = {
    /* OPcache only starts for SAPI names on its allow-list; php-fpm's name also tells apps they run
   * behind a production web server, which is what tokio-php promises. */
    "fpm-fcgi",                    /* name */
    "tokio-php",                   /* pretty name */
    tokio_sapi_startup,            /* startup */
    php_module_shutdown_wrapper,   /* shutdown */
    NULL,                          /* activate */
    NULL,                          /* deactivate */
    tokio_sapi_ub_write,           /* unbuffered write */
    tokio_sapi_flush,              /* flush */
    NULL,                          /* get uid */
    tokio_sapi_getenv,             /* getenv */
    php_error,                     /* error handler */
    NULL,                          /* header handler */
    tokio_sapi_send_headers,       /* send headers handler */
    NULL,                          /* send header handler */
    tokio_sapi_read_post,          /* read POST data */
    tokio_sapi_read_cookies,       /* read Cookies */
    tokio_sapi_register_variables, /* register server variables */
    tokio_sapi_log_message,        /* log message */
    tokio_sapi_get_request_time,   /* get request time */
    NULL,                          /* terminate process */
    STANDARD_SAPI_MODULE_PROPERTIES};

/* ---- interrupts ---- */

static void wake_signal_handler(int sig) { (void)sig; }

/* Runs on the worker at the next opcode after tokio_interrupt(). */
static void tokio_interrupt_function(zend_execute_data *execute_data)
{
  tokio_thread *t = current_thread;
  int reason = t ? __atomic_load_n(&t->abort, __ATOMIC_ACQUIRE) : TOKIO_ABORT_NONE;
  tokio_ctx *c = ctx();
  if (reason == TOKIO_ABORT_KILL && c) {
    c->aborted = TOKIO_ABORT_KILL;
    /* stays armed: shutdown functions and destructors stop at their first opcode too */
    zend_atomic_bool_store((zend_atomic_bool *)t->vm_interrupt, true);
    PG(connection_status) |= PHP_CONNECTION_TIMEOUT;
    zend_bailout();
  }
  if (reason == TOKIO_ABORT_DISCONNECT && c) {
    __atomic_store_n(&t->abort, TOKIO_ABORT_NONE, __ATOMIC_RELEASE);
    /* A failed write may have seen the disconnect first and stopped the script already: then
     * this interrupt lands in a shutdown function, which must run, as under php-fpm. */
    if (!(PG(connection_status) & PHP_CONNECTION_ABORTED)) {
      PG(connection_status) |= PHP_CONNECTION_ABORTED;
      if (!PG(ignore_user_abort)) {
        c->aborted = TOKIO_ABORT_DISCONNECT;
        zend_bailout();
      }
    }
  }
  if (previous_interrupt_function) previous_interrupt_function(execute_data);
}

void tokio_interrupt(tokio_thread *thread, enum tokio_abort reason)
{
  __atomic_store_n(&thread->abort, reason, __ATOMIC_RELEASE);
  zend_atomic_bool_store((zend_atomic_bool *)thread->vm_interrupt, true);
  pthread_kill((pthread_t)thread->os_thread, TOKIO_WAKE_SIGNAL);
}

/* ---- for the tokio extension (ext/) ---- */

const tokio_request *tokio_current_request(void)
{
  tokio_ctx *c = ctx();
  return c ? c->req : NULL;
}

int tokio_current_worker(void) { return current_thread ? current_thread->index : -1; }

int tokio_finish_request(void)
{
  tokio_ctx *c = ctx();
  if (!c || !c->host || c->finished) return 0;
  php_output_end_all();
  php_header();
  c->finished = 1;
  tokio_host_finish(c->host);
  return 1;
}

int tokio_request_heartbeat(int64_t seconds)
{
  tokio_ctx *c = ctx();
  /* also after tokio_finish_request(): background work stays under the deadline while it beats */
  if (!c || seconds <= 0 || c->req->heartbeat_max_ms <= 0) return 0;
  int64_t ms = seconds * 1000 > c->req->heartbeat_max_ms ? c->req->heartbeat_max_ms : seconds * 1000;
  tokio_host_heartbeat(c->host, ms);
  return 1;
}

int tokio_commit_headers(int status)
{
  tokio_ctx *c = ctx();
  if (!c || !c->host || SG(headers_sent)) return 0;
  if (status >= 100 && status <= 999) SG(sapi_headers).http_response_code = status;
  if (sapi_send_headers() != SUCCESS) return 0;
  /* an empty flush turns streaming on: later flush() calls send each part */
  return tokio_host_flush(c->host);
}

int tokio_headers_send(int status)
{
  tokio_ctx *c = ctx();
  if (!c || !c->host) return SAPI_HEADER_SEND_FAILED;
  if (status >= 100 && status < 200) {
    /* as FrankenPHP: the headers set so far go out with this status, and stay for the final answer */
    int previous = SG(sapi_headers).http_response_code;
    SG(sapi_headers).http_response_code = status;
    int sent = sapi_module.send_headers(&SG(sapi_headers));
    SG(sapi_headers).http_response_code = previous;
    return sent;
  }
  if (status >= 200 && status <= 999) SG(sapi_headers).http_response_code = status;
  return sapi_send_headers();
}

void tokio_describe_server(void *rv)
{
  zval *return_value = rv;
  array_init(return_value);
  add_assoc_string(return_value, "server", "tokio-php");
  add_assoc_string(return_value, "version", version_copy ? version_copy : "");
  add_assoc_string(return_value, "sapi", sapi_module.name); /* what PHP_SAPI says */
  add_assoc_string(return_value, "php_version", PHP_VERSION);
  add_assoc_bool(return_value, "zts", 1);
  add_assoc_bool(return_value, "opcache", opcache_on);
  add_assoc_string(return_value, "executor", executor == TOKIO_EXECUTOR_EVAL ? "eval" : "ext");
  add_assoc_long(return_value, "workers", worker_count);
  add_assoc_long(return_value, "worker_id", tokio_current_worker());
  add_assoc_long(return_value, "process", process_index);
  const tokio_request *req = tokio_current_request();
  add_assoc_long(return_value, "event_loop", req ? req->event_loop : 0);
}

/* ---- process and thread lifetime ---- */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void snapshot_environment(const char *const *env)
{
  zend_hash_init(&env_snapshot, 64, NULL, NULL, 1);
  for (; env && *env; env++) {
    const char *eq = strchr(*env, '=');
    if (!eq || eq == *env) continue;
    zval v;
    ZVAL_INTERNED_STR(&v, permanent_string(eq + 1, strlen(eq + 1)));
    zend_string *k = permanent_string(*env, eq - *env);
    zend_hash_update(&env_snapshot, k, &v);
  }
}

/* Node loads the addon, and with it libphp, RTLD_LOCAL: shared extensions (opcache.so, PECL
 * ones) resolve their symbols globally, so libphp's must be made global first. */
static void libphp_global(void)
{
  Dl_info self;
  if (dladdr((void *)php_module_startup, &self) && self.dli_fname) {
    dlopen(self.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
  }
}

const char *tokio_preload_opcache(void)
{
  static char error[512];
  libphp_global();
  /* the path module startup tries for `zend_extension=opcache` with the default extension_dir
   * (PHP's loader finds an object already loaded under that name without opening the file) */
  if (DL_LOAD(PHP_EXTENSION_DIR "/opcache.so") != NULL) return NULL;
  snprintf(error, sizeof(error), "%s", dlerror());
  return error;
}

int tokio_startup(const tokio_config *config, tokio_info *info, char *error, size_t error_len)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = wake_signal_handler; /* no SA_RESTART: blocking calls return EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(TOKIO_WAKE_SIGNAL, &sa, NULL);

  libphp_global();

  /* Our patched libphp counts max_execution_time in CPU time unless told otherwise; another
   * libphp (PHP_CONFIG) has no such switch and counts wall-clock time. */
  int *wall_clock = dlsym(RTLD_DEFAULT, "tokio_php_wall_clock_timeouts");
  if (wall_clock) *wall_clock = config->wall_clock_timeouts;
  info->cpu_time_timeouts = wall_clock && !config->wall_clock_timeouts;

  php_tsrm_startup();
  zend_signal_startup();
  sapi_startup(&tokio_sapi_module);

  ini_path_copy = dup_or_null(config->ini_path);
  ini_defaults_copy = dup_or_null(config->ini_defaults);
  ini_entries_copy = dup_or_null(config->ini_entries);
  server_software_copy = strdup(config->server_software ? config->server_software : "tokio-php");
  version_copy = dup_or_null(config->version);
  executor = config->executor;
  worker_count = config->workers;
  process_index = config->process;
  tokio_sapi_module.php_ini_path_override = ini_path_copy;
  tokio_sapi_module.php_ini_ignore_cwd = 1;
  tokio_sapi_module.ini_defaults = tokio_sapi_ini_defaults;
  tokio_sapi_module.ini_entries = ini_entries_copy;
  tokio_sapi_module.additional_functions = tokio_sapi_functions;

  snapshot_environment(config->env);
  if (tokio_sapi_module.startup(&tokio_sapi_module) == FAILURE) {
    snprintf(error, error_len, "PHP module startup failed (see the errors above)");
    return -1;
  }
  for (int i = 0; i < K_COUNT; i++) keys[i] = permanent_string(key_names[i], strlen(key_names[i]));
  filter_server_vars = zend_hash_str_exists(&module_registry, ZEND_STRL("filter")) && sapi_module.input_filter != NULL;
  find_per_request_modules();

  previous_interrupt_function = zend_interrupt_function;
  zend_interrupt_function = tokio_interrupt_function;

  snprintf(info->php_version, sizeof(info->php_version), "%s", PHP_VERSION);
  snprintf(info->sapi_name, sizeof(info->sapi_name), "%s", sapi_module.name);
  info->zts = 1;
  info->opcache = opcache_on = zend_get_extension("Zend OPcache") != NULL && INI_BOOL("opcache.enable");
  return 0;
}

void tokio_shutdown(void)
{
  tokio_sapi_module.shutdown(&tokio_sapi_module);
  sapi_shutdown();
  tsrm_shutdown();
  /* the snapshot's strings are permanent: only the table goes */
  env_snapshot.pDestructor = NULL;
  free(ini_path_copy);
  free(ini_defaults_copy);
  free(ini_entries_copy);
  free(server_software_copy);
  free(version_copy);
  ini_path_copy = ini_defaults_copy = ini_entries_copy = server_software_copy = version_copy = NULL;
}

int tokio_thread_startup(tokio_thread *thread)
{
  (void)ts_resource(0);
  current_thread = thread;
  thread->vm_interrupt = &EG(vm_interrupt);
  thread->execute_data = &EG(current_execute_data);
  thread->os_thread = (uint64_t)pthread_self();
  __atomic_store_n(&thread->abort, TOKIO_ABORT_NONE, __ATOMIC_RELEASE);
  return 0;
}

void tokio_thread_shutdown(void)
{
  current_thread = NULL;
  ts_free_thread();
}

/* ---- one request ---- */

static void execute_script(const tokio_request *req)
{
  zend_file_handle file;
  zend_stream_init_filename(&file, req->script_filename.ptr);
  file.primary_script = 1;
  zend_first_try {
    EG(exit_status) = 0;
    php_execute_script(&file);
  }
  zend_end_try();
  zend_destroy_file_handle(&file);
}

/* The eval executor: $_SERVER and $_GET are set by generated PHP code, then the script is
 * included from it. Observably the same superglobals as the ext executor. */
static void execute_eval(const tokio_request *req)
{
  smart_str code = {0};
  var_sink sink = {put_code, NULL, &code};
  collect_server_vars(req, &sink);
  smart_str_appends(&code, "parse_str($_SERVER['QUERY_STRING'], $_GET);\ninclude ");
  append_quoted(&code, req->script_filename.ptr, req->script_filename.len);
  smart_str_appends(&code, ";\n");
  smart_str_0(&code);
  zend_first_try {
    EG(exit_status) = 0;
    VCWD_CHDIR_FILE(req->script_filename.ptr); /* as php_execute_script() does */
    PG(during_request_startup) = 0;
    zend_eval_stringl_ex(ZSTR_VAL(code.s), ZSTR_LEN(code.s), NULL, "tokio-php eval executor", 1);
  }
  zend_end_try();
  smart_str_free(&code);
}

/* SG(request_info) as php-fpm fills it: request_uri is the script, path_translated its file. */
static void begin_request_info(tokio_ctx *c)
{
  const tokio_request *req = c->req;
  const tokio_str *ct = find_header(req, "content-type", 12);
  const tokio_str *auth = find_header(req, "authorization", 13);
  SG(server_context) = c;
  SG(sapi_headers).http_response_code = 200;
  SG(request_info).request_method = req->method.ptr;
  SG(request_info).query_string = (char *)req->query_string.ptr;
  SG(request_info).request_uri = (char *)req->script_name.ptr;
  SG(request_info).path_translated = (char *)req->script_filename.ptr;
  SG(request_info).content_type = ct ? ct->ptr : NULL;
  SG(request_info).content_length = req->content_length > 0 ? req->content_length : 0;
  php_handle_auth_data(auth ? auth->ptr : NULL);
}

static void end_request_info(void)
{
  SG(server_context) = NULL;
  SG(request_info).request_method = NULL;
  SG(request_info).query_string = NULL;
  SG(request_info).request_uri = NULL;
  SG(request_info).path_translated = NULL;
  SG(request_info).content_type = NULL;
  SG(request_info).content_type_dup = NULL; /* freed by sapi_deactivate(), which leaves it set */
  SG(request_info).cookie_data = NULL;
}

/* Lets the thread be interrupted again: only once its request is over, since a kill also stops
 * shutdown functions and destructors. */
static void disarm(tokio_thread *thread)
{
  __atomic_store_n(&thread->abort, TOKIO_ABORT_NONE, __ATOMIC_RELEASE);
  zend_atomic_bool_store((zend_atomic_bool *)thread->vm_interrupt, false);
}

/* text/event-stream: every write goes out at once, as with output_buffering=0 */
static void unbuffer_output(void)
{
  php_output_end_all();
  php_output_set_implicit_flush(1);
}

/* ---- php-fpm's PHP_VALUE and PHP_ADMIN_VALUE ---- */

static void request_ini_entry(zval *name, zval *value, zval *unused, int callback_type, void *arg)
{
  int mode = *(int *)arg;
  const char *param = mode == ZEND_INI_SYSTEM ? "PHP_ADMIN_VALUE" : "PHP_VALUE";
  char message[256];
  if (callback_type != ZEND_INI_PARSER_ENTRY || !name || !value || Z_TYPE_P(value) != IS_STRING) {
    snprintf(message, sizeof(message), "%s: only name=value lines are allowed", param);
  } else if (zend_string_equals_literal(Z_STR_P(name), "extension") ||
             zend_string_equals_literal(Z_STR_P(name), "disable_functions") ||
             zend_string_equals_literal(Z_STR_P(name), "disable_classes")) {
    /* process-wide in a threaded server: not something one request may change */
    snprintf(message, sizeof(message), "%s: %s cannot be set per request", param, Z_STRVAL_P(name));
  } else if (zend_alter_ini_entry_ex(Z_STR_P(name), Z_STR_P(value), mode, ZEND_INI_STAGE_HTACCESS, 1) == FAILURE) {
    snprintf(message, sizeof(message), "%s: unable to set '%s'", param, Z_STRVAL_P(name));
  } else {
    /* Locked against ini_set() as PERDIR, never SYSTEM: opcache folds ini_get() of a SYSTEM
     * directive into the script it caches, and this value is one request's. The request's end
     * gives the directive back its own changeability. */
    zend_ini_entry *e = zend_hash_find_ptr(EG(ini_directives), Z_STR_P(name));
    if (mode == ZEND_INI_SYSTEM || e->modifiable == ZEND_INI_SYSTEM) e->modifiable = ZEND_INI_PERDIR;
    return;
  }
  tokio_sapi_log_message(message, LOG_WARNING);
}

/* As php-fpm applies them, before the request starts, and whatever the directive's own
 * changeability (upload_max_filesize works). Unlike php-fpm, which leaves them set for the next
 * request of the same process, they are undone with the request's ini_set()s at its shutdown; an
 * admin value also locks its directive against ini_set(). */
static void apply_request_ini(tokio_str lines, int mode)
{
  if (!lines.len) return;
  char *ini;
  spprintf(&ini, 0, "%.*s\n", (int)lines.len, lines.ptr);
  zend_parse_ini_string(ini, 1, ZEND_INI_SCANNER_NORMAL, request_ini_entry, &mode);
  efree(ini);
}

/* One PHP request start to finish: a classic script, or a worker script's whole run. */
static void run_request(tokio_ctx *c, tokio_result *result)
{
  begin_request_info(c);
  apply_request_ini(c->req->php_value, ZEND_INI_USER);
  apply_request_ini(c->req->php_admin_value, ZEND_INI_SYSTEM);
  result->aborted = TOKIO_ABORT_NONE;
  result->exit_status = 0;
  if (php_request_startup() == FAILURE) {
    result->exit_status = 255;
    c->status = 500;
  } else {
    if (c->req->event_stream) unbuffer_output();
    if (executor == TOKIO_EXECUTOR_EVAL && !loop_state) execute_eval(c->req);
    else execute_script(c->req);
    result->exit_status = EG(exit_status);
  }
  if (loop_state) zend_hash_destroy(&loop_state->boot_ini);
  tokio_ctx *last = ctx(); /* worker mode: the request a bailout or exit() left current */
  result->peak_memory = zend_memory_peak_usage(1);
  php_request_shutdown(NULL);
  disarm(c->thread);
  result->status = last->status;
  result->aborted = last->aborted;
  end_request_info();
}

void tokio_execute(tokio_thread *thread, const tokio_request *req, void *host, tokio_result *result)
{
  tokio_ctx c = {req, thread, host, 200, TOKIO_ABORT_NONE, 0};
  run_request(&c, result);
}

/* ---- worker mode: one script, many requests (FrankenPHP's frankenphp_handle_request()) ---- */

/* What a request leaves in php://input's temporary streams nobody holds any more. */
static void release_temporary_streams(void)
{
  zend_resource *val;
  int stream_type = php_file_le_stream();
  ZEND_HASH_FOREACH_PTR(&EG(regular_list), val) {
    if (val->type != stream_type) continue;
    php_stream *stream = (php_stream *)val->ptr;
    if (stream && stream->ops == &php_stream_temp_ops && !stream->__exposed && GC_REFCOUNT(val) == 1) {
      zend_list_delete(val);
    }
  }
  ZEND_HASH_FOREACH_END();
}

/* The request's superglobals, built by PHP's own callbacks as for a classic request. JIT ones are
 * made when a script is compiled, and the worker's are compiled already: $_SERVER is always
 * rebuilt, $_REQUEST when the app uses it; $_ENV stays, $_SESSION goes. */
static void reset_superglobals(void)
{
  zend_try {
    zval *files = &PG(http_globals)[TRACK_VARS_FILES];
    zval_ptr_dtor_nogc(files);
    ZVAL_UNDEF(files);
    zend_hash_str_del(&EG(symbol_table), "_SESSION", sizeof("_SESSION") - 1);
  }
  zend_end_try();
  zend_auto_global *g;
  ZEND_HASH_MAP_FOREACH_PTR(CG(auto_globals), g) {
    if (g->name == ZSTR_KNOWN(ZEND_STR_AUTOGLOBAL_ENV)) continue;
    if (g->name == ZSTR_KNOWN(ZEND_STR_AUTOGLOBAL_SERVER)) {
      g->armed = g->auto_global_callback(g->name);
    } else if (g->jit) {
      if (g->name == ZSTR_KNOWN(ZEND_STR_AUTOGLOBAL_REQUEST) && zend_hash_exists(&EG(symbol_table), g->name)) {
        g->armed = g->auto_global_callback(g->name);
      }
    } else if (g->auto_global_callback) {
      g->armed = g->auto_global_callback(g->name); /* $_GET, $_POST, $_COOKIE, $_FILES */
    } else {
      g->armed = 0;
    }
  }
  ZEND_HASH_FOREACH_END();
}

/* Modules whose request state must not outlive a request: the filter's raw input copies, and
 * ours (putenv(), setlocale()). Sessions are reset apart, keeping save handlers set at boot. */
static const char *const per_request_module_names[] = {
    "filter",
    "tokio",
#ifndef HAVE_PHP_SESSION
    "session",
#endif
};
#define PER_REQUEST_MODULES (sizeof(per_request_module_names) / sizeof(per_request_module_names[0]))
static zend_module_entry *per_request_modules[PER_REQUEST_MODULES]; /* found once, at startup; NULL: not loaded */

static void find_per_request_modules(void)
{
  for (size_t i = 0; i < PER_REQUEST_MODULES; i++) {
    const char *name = per_request_module_names[i];
    per_request_modules[i] = zend_hash_str_find_ptr(&module_registry, name, strlen(name));
  }
}

static void per_request_modules_call(int startup)
{
  for (size_t i = 0; i < PER_REQUEST_MODULES; i++) {
    zend_module_entry *m = per_request_modules[i];
    if (!m) continue;
    if (startup && m->request_startup_func) m->request_startup_func(m->type, m->module_number);
    if (!startup && m->request_shutdown_func) m->request_shutdown_func(m->type, m->module_number);
  }
}

#ifdef HAVE_PHP_SESSION
/* The session written and closed, its id and data forgotten: the next request reads its own
 * cookie. php_rshutdown_session_globals() less what would drop handlers the boot registered. */
static void reset_session(void)
{
  if (PS(session_status) == php_session_active) php_session_flush(1);
  if (!Z_ISUNDEF(PS(http_session_vars))) {
    zval_ptr_dtor(&PS(http_session_vars));
    ZVAL_UNDEF(&PS(http_session_vars));
  }
  if (PS(mod_data) || PS(mod_user_implemented)) {
    zend_try { PS(mod)->s_close(&PS(mod_data)); }
    zend_end_try();
  }
  if (PS(id)) {
    zend_string_release_ex(PS(id), 0);
    PS(id) = NULL;
  }
  if (PS(session_vars)) {
    zend_string_release_ex(PS(session_vars), 0);
    PS(session_vars) = NULL;
  }
  if (PS(session_started_filename)) {
    zend_string_release(PS(session_started_filename));
    PS(session_started_filename) = NULL;
    PS(session_started_lineno) = 0;
  }
  PS(session_status) = php_session_none;
  PS(in_save_handler) = 0;
  PS(set_handler) = 0;
  PS(mod_data) = NULL;
  PS(mod_user_is_open) = 0;
  PS(define_sid) = 1;
}
#endif

/* php_request_startup() for a request inside a running script: what a classic request gets
 * fresh (output layer, headers, superglobals, per-request modules), and nothing that would
 * throw away the booted app. */
static int worker_request_startup(tokio_ctx *c)
{
  volatile int ok = 1; /* set after a longjmp */
  begin_request_info(c);
  zend_try {
    release_temporary_streams();
    php_output_activate();
    PG(header_is_being_sent) = 0;
    PG(connection_status) = PHP_CONNECTION_NORMAL;
    sapi_activate(); /* the body is read from memory or a file already there: no max_input_time to wait out */
    if (PG(expose_php)) sapi_add_header(SAPI_PHP_VERSION_HEADER, sizeof(SAPI_PHP_VERSION_HEADER) - 1, 1);
    if (PG(output_handler) && PG(output_handler)[0]) {
      zval handler;
      ZVAL_STRING(&handler, PG(output_handler));
      php_output_start_user(&handler, 0, PHP_OUTPUT_HANDLER_STDFLAGS);
      zval_ptr_dtor(&handler);
    } else if (PG(output_buffering)) {
      php_output_start_user(NULL, PG(output_buffering) > 1 ? PG(output_buffering) : 0, PHP_OUTPUT_HANDLER_STDFLAGS);
    } else if (PG(implicit_flush)) {
      php_output_set_implicit_flush(1);
    }
    reset_superglobals();
    per_request_modules_call(1);
    if (c->req->event_stream) unbuffer_output();
    zend_set_timeout(EG(timeout_seconds), 0); /* one timer_settime(): a syscall worth saving per request */
  }
  zend_catch { ok = 0; }
  zend_end_try();
  SG(sapi_started) = 1;
  return ok;
}

/* php_request_shutdown()'s steps that end a request, not the script running it. */
static void worker_request_shutdown(void)
{
  zend_try { php_output_end_all(); }
  zend_end_try();
  per_request_modules_call(0);
#ifdef HAVE_PHP_SESSION
  reset_session();
#endif
  zend_try { php_output_deactivate(); }
  zend_end_try(); /* sends the headers if nothing was written */
  zend_try { sapi_deactivate(); }
  zend_end_try();
  SG(request_info).content_type_dup = NULL; /* freed, not cleared: the script's own shutdown would free it again */
  zend_set_memory_limit(PG(memory_limit));
}

/* Between requests the script's own request is current, with an output layer: what it prints
 * then goes to the log instead of stdout. Its headers count as sent, so that nothing is queued
 * for a response that will never be. */
static void enter_idle(worker_loop *wl)
{
  begin_request_info(&wl->boot);
  php_output_activate();
  SG(headers_sent) = 1;
}

static void leave_idle(void)
{
  zend_try {
    php_output_end_all();
    php_output_deactivate();
  }
  zend_end_try();
}

static void snapshot_boot_ini(worker_loop *wl)
{
  zend_hash_init(&wl->boot_ini, 8, NULL, ZVAL_PTR_DTOR, 0);
  if (!EG(modified_ini_directives)) return;
  zend_ini_entry *e;
  ZEND_HASH_MAP_FOREACH_PTR(EG(modified_ini_directives), e) {
    zval v;
    if (e->value)
      ZVAL_STRINGL(&v, ZSTR_VAL(e->value), ZSTR_LEN(e->value)); /* a copy: shared strings are not refcounted here */
    else ZVAL_NULL(&v);
    zend_hash_add(&wl->boot_ini, e->name, &v);
  }
  ZEND_HASH_FOREACH_END();
}

static bool same_ini_value(const zval *boot, const zend_string *now)
{
  if (Z_TYPE_P(boot) != IS_STRING) return now == NULL;
  return now && zend_string_equals(Z_STR_P(boot), now);
}

/* ini_set(), set_time_limit(), ignore_user_abort() ... of one request end with it: each
 * directive returns to its value at the end of the boot. */
static void restore_boot_ini(worker_loop *wl)
{
  HashTable *modified = EG(modified_ini_directives);
  if (!modified) return;
  zend_string *names[64];
  size_t n = 0;
  zend_ini_entry *e;
  do {
    n = 0;
    ZEND_HASH_MAP_FOREACH_PTR(modified, e) {
      zval *boot = zend_hash_find(&wl->boot_ini, e->name);
      if (boot && same_ini_value(boot, e->value)) continue;
      names[n++] = zend_string_init(ZSTR_VAL(e->name), ZSTR_LEN(e->name), 0);
      if (n == sizeof(names) / sizeof(names[0])) break;
    }
    ZEND_HASH_FOREACH_END();
    for (size_t i = 0; i < n; i++) {
      zval *boot = zend_hash_find(&wl->boot_ini, names[i]);
      if (!boot) zend_restore_ini_entry(names[i], ZEND_INI_STAGE_RUNTIME);
      else
        zend_alter_ini_entry_ex(names[i], Z_TYPE_P(boot) == IS_STRING ? Z_STR_P(boot) : ZSTR_EMPTY_ALLOC(),
                                ZEND_INI_SYSTEM, ZEND_INI_STAGE_RUNTIME, 1);
      zend_string_release(names[i]);
    }
  } while (n == sizeof(names) / sizeof(names[0]));
}

int tokio_worker_begin_request(void)
{
  worker_loop *wl = loop_state;
  if (!wl) return -1;
  if (wl->serving) return 0; /* called from inside its own handler */
  tokio_thread *t = wl->boot.thread;
  if (!wl->booted) {
    /* the boot is over: its request ends, the booted app stays */
    wl->booted = 1;
    worker_request_shutdown();
    zend_unset_timeout(); /* waiting for a request is not running */
    snapshot_boot_ini(wl);
    enter_idle(wl);
  }
  void *host = NULL;
  const tokio_request *req = tokio_host_next_request(t->loop, &host);
  if (!req) return 0;
  leave_idle();
  wl->job = (tokio_ctx){req, t, host, 200, TOKIO_ABORT_NONE, 0};
  wl->serving = 1;
  EG(exit_status) = 0;
  zend_memory_reset_peak_usage();
  if (!worker_request_startup(&wl->job)) {
    tokio_worker_end_request();
    return 0;
  }
  /* A client that leaves stops the request's output, not the booted app (FrankenPHP does the same). */
  PG(ignore_user_abort) = 1;
  return 1;
}

void tokio_worker_uncaught(void)
{
  if (!EG(exception)) return;
  if (Z_TYPE(EG(user_exception_handler)) != IS_UNDEF) zend_user_exception_handler();
  if (EG(exception)) zend_exception_error(EG(exception), E_ERROR); /* logged, 500 unless headers went */
}

void tokio_worker_end_request(void)
{
  worker_loop *wl = loop_state;
  if (!wl || !wl->serving) return;
  worker_request_shutdown();
  restore_boot_ini(wl); /* may arm the timer again (max_execution_time) */
  zend_unset_timeout();
  tokio_result result = {
      .status = wl->job.status,
      .exit_status = EG(exit_status),
      .aborted = wl->job.aborted,
      .peak_memory = zend_memory_peak_usage(1),
      .memory = zend_memory_usage(0),
  };
  wl->serving = 0;
  EG(exit_status) = 0;
  enter_idle(wl);
  tokio_host_request_done(wl->boot.thread->loop, &result);
  disarm(wl->boot.thread); /* once done: no interrupt can be meant for this thread now */
}

void tokio_run_worker_script(tokio_thread *thread, const tokio_request *boot, tokio_worker_result *out)
{
  worker_loop wl;
  memset(&wl, 0, sizeof(wl));
  wl.boot = (tokio_ctx){boot, thread, NULL, 200, TOKIO_ABORT_NONE, 0};
  zend_hash_init(&wl.boot_ini, 0, NULL, ZVAL_PTR_DTOR, 0);
  loop_state = &wl;
  tokio_result result;
  run_request(&wl.boot, &result);
  loop_state = NULL;
  out->booted = wl.booted;
  out->exit_status = result.exit_status;
  out->aborted = result.aborted;
  out->in_request = wl.serving;
  if (wl.serving) { /* a fatal error, exit() or a kill ended the script inside a request: answered above */
    result.memory = 0;
    tokio_host_request_done(thread->loop, &result);
  }
}

/*
 * The C boundary between the engine (C++) and PHP. Everything that can zend_bailout() (longjmp)
 * lives behind these functions, so a bailout never unwinds through a C++ frame.
 */
#ifndef TOKIO_SAPI_H
#define TOKIO_SAPI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tokio_str {
  const char *ptr;
  size_t len;
} tokio_str;

/* One request as the router resolved it. Strings are not NUL-terminated unless said so; all of
 * them stay valid until tokio_execute() returns. */
typedef struct tokio_request {
  tokio_str method;
  tokio_str request_uri;     /* as received: path and query */
  tokio_str query_string;    /* without '?' */
  tokio_str script_filename; /* absolute path of the script to run */
  tokio_str script_name;     /* URL path of the script */
  tokio_str path_info;       /* the part of the path after the script, or empty */
  tokio_str document_root;
  tokio_str php_value;       /* ini lines ("name=value\n...") for this request, or empty */
  tokio_str php_admin_value; /* the same, and ini_set() may not change them */
  tokio_str server_name;
  tokio_str server_addr;
  tokio_str server_port;
  tokio_str remote_addr;
  tokio_str remote_port;
  tokio_str protocol; /* "HTTP/1.1" */
  int https;
  tokio_str request_id;
  const tokio_str *headers;     /* name, value, name, value, ... as received */
  size_t header_count;          /* pairs */
  const tokio_str *server_vars; /* extra $_SERVER entries, name, value, ... */
  size_t server_var_count;      /* pairs */
  int64_t content_length;       /* -1 when the request has no body */
  double request_time;          /* seconds since the epoch, when the request arrived */
  int64_t heartbeat_max_ms;     /* longest tokio_request_heartbeat() may extend; 0 = not allowed */
  int event_stream;             /* the client asked for text/event-stream: no output buffering */
  int event_loop;               /* the HTTP event loop that brought it (HTTP_THREADS), from 0 */
  int cgi;                      /* FastCGI: server_vars are the front's params, HTTP_* included; headers holds only
              Content-Type and Authorization, for the request's own use */
} tokio_request;

enum tokio_abort {
  TOKIO_ABORT_NONE = 0,
  TOKIO_ABORT_DISCONNECT = 1, /* the client went away: honours ignore_user_abort() */
  TOKIO_ABORT_KILL = 2,       /* timeout or shutdown: the script stops whatever it asked */
};

/* One per worker thread, owned by the engine. */
typedef struct tokio_thread {
  int index;
  int abort;          /* enum tokio_abort; __atomic builtins only, set from any thread */
  void *vm_interrupt; /* &EG(vm_interrupt) of this thread's PHP context */
  void *execute_data; /* &EG(current_execute_data): where tokio_backtrace() starts */
  uint64_t os_thread; /* pthread_t, for waking blocking syscalls */
  void *loop;         /* worker mode: the host's handle for this thread's loop, else NULL */
} tokio_thread;

typedef struct tokio_result {
  int status;         /* final HTTP status */
  int exit_status;    /* EG(exit_status): 255 after a fatal error */
  int aborted;        /* enum tokio_abort that stopped the script, if any */
  size_t peak_memory; /* zend_memory_peak_usage(real) of this request */
  size_t memory;      /* worker mode: zend_memory_usage() once the request is cleaned up */
} tokio_result;

/* How a worker script's run ended (tokio_run_worker_script()). */
typedef struct tokio_worker_result {
  int booted;      /* it reached tokio_handle_request() */
  int exit_status; /* EG(exit_status) at its end: 255 after a fatal error */
  int aborted;     /* enum tokio_abort that stopped it, if any */
  int in_request;  /* it ended inside a request (fatal error, exit(), a kill), not between two */
} tokio_worker_result;

enum tokio_executor {
  TOKIO_EXECUTOR_EXT = 0,  /* $_SERVER registered natively, the script run by php_execute_script() */
  TOKIO_EXECUTOR_EVAL = 1, /* $_SERVER and $_GET built as PHP code, run by zend_eval_string() */
};

typedef struct tokio_config {
  const char *ini_path;     /* php.ini file or folder, or NULL for the usual search */
  const char *ini_defaults; /* "key=value\n" lines below php.ini */
  const char *ini_entries;  /* "key=value\n" lines above php.ini */
  const char *server_software;
  const char *const *env;  /* NULL-terminated KEY=VALUE snapshot copied into $_SERVER */
  int executor;            /* enum tokio_executor */
  int wall_clock_timeouts; /* max_execution_time in wall-clock time (PHP's ZTS default), not CPU time */
  int workers;             /* for tokio_server_info() */
  int process;             /* this server process's index, from 0, for tokio_server_info() */
  const char *version;     /* tokio-php's own */
} tokio_config;

typedef struct tokio_info {
  char php_version[32];
  char sapi_name[32];
  int zts;
  int opcache;
  int cpu_time_timeouts; /* max_execution_time counts CPU time (needs native/php-patches/) */
  int umask_per_thread;  /* each worker thread has its own umask (unshare(CLONE_FS) was allowed) */
} tokio_info;

/* Loads OPcache's shared object from the build's extension_dir now, for a process about to drop
 * root for a user who may not reach that directory (a build in root's home): module startup then
 * finds it loaded. NULL, or dlerror()'s message. */
const char *tokio_preload_opcache(void);

/* Process-wide. Call on the thread that will later call tokio_shutdown(). */
int tokio_startup(const tokio_config *config, tokio_info *info, char *error, size_t error_len);
void tokio_shutdown(void);

/* Per worker thread: gives the calling thread its own PHP context for its whole life. */
int tokio_thread_startup(tokio_thread *thread);
void tokio_thread_shutdown(void);

/* Runs one request on the calling worker thread, start to finish. */
void tokio_execute(tokio_thread *thread, const tokio_request *request, void *host, tokio_result *result);

/* Worker mode: runs a worker script (thread->loop set) until it ends. `boot` is the script's own
 * request, what it sees while it boots. Each tokio_handle_request() call inside takes the next
 * request from tokio_host_next_request() and reports it to tokio_host_request_done(); a bailout
 * (fatal error, exit(), a kill) ends the script, and the request it was serving is reported too. */
void tokio_run_worker_script(tokio_thread *thread, const tokio_request *boot, tokio_worker_result *result);

/* For tokio_handle_request() (ext/): 1 a request is current, superglobals built; 0 the script
 * must end; -1 this thread runs no worker script. */
int tokio_worker_begin_request(void);
/* The handler threw: PHP's uncaught-exception path (user handler, then the error log and 500),
 * without ending the script. */
void tokio_worker_uncaught(void);
void tokio_worker_end_request(void);

/* From any thread: stops the request running on `thread` at its next opcode or blocking call. */
void tokio_interrupt(tokio_thread *thread, enum tokio_abort reason);

/* From any thread: the PHP backtrace of what `thread` runs now, innermost call first, one line per
 * frame as php-fpm's slow log writes them: "[0x<frame>] function() <caller's file>:<line>".
 * Fault-safe (tokio_backtrace.c). Writes the lines that fit in `cap` bytes, NUL-terminated; returns
 * how many, or -1 when a read failed (the lines before it are written). */
int tokio_backtrace(const tokio_thread *thread, char *out, size_t cap);

/* For the tokio extension (ext/), about the request running on the calling thread. */
const tokio_request *tokio_current_request(void); /* NULL outside a request */
int tokio_current_worker(void);                   /* -1 outside a worker */
int tokio_finish_request(void);                   /* 1: the response went out now; 0: it already had */
int tokio_request_heartbeat(int64_t seconds);     /* 1: the deadline moved */
int tokio_commit_headers(int status);             /* 1: headers sent now, streaming from here on */
int tokio_headers_send(int status);               /* FrankenPHP's headers_send(): a 1xx goes out at once */
void tokio_describe_server(void *return_value);   /* fills tokio_server_info()'s zval array */

/* Implemented by the host. Called on the worker thread, never throw, never call back into PHP. */
size_t tokio_host_read_body(void *host, char *buffer, size_t count);
const char *tokio_host_cookies(void *host); /* NUL-terminated Cookie header, or NULL */
/* Returns 0 when the client is gone. */
int tokio_host_write(void *host, const char *data, size_t len);
int tokio_host_send_headers(void *host, int status, tokio_str reason, const tokio_str *lines, size_t count,
                            int event_stream);
int tokio_host_flush(void *host);
/* An informational response (103 Early Hints) with these header lines, before the final one. */
void tokio_host_send_hints(void *host, int status, const tokio_str *lines, size_t count);
/* tokio_finish_request(): what was sent so far is the whole response; later output is dropped. */
void tokio_host_finish(void *host);
void tokio_host_heartbeat(void *host, int64_t ms);
void tokio_host_log(void *host, int syslog_level, const char *message, size_t len);
/* Worker mode: waits for the next request for this thread's script; NULL when the script must
 * end. `*host` is then the request's host handle for the callbacks above. */
const tokio_request *tokio_host_next_request(void *loop, void **host);
void tokio_host_request_done(void *loop, const tokio_result *result);

#ifdef __cplusplus
}
#endif

#endif

/*
 * The tokio extension, compiled into the addon: what PHP scripts see of tokio-php.
 * Signatures and documentation: tokio.stub.php. Each function asks the SAPI layer
 * (native/sapi/tokio_sapi.h) about the request running on its thread.
 */
#include "tokio_ext.h"

#include <Zend/zend_exceptions.h>

#include "../native/sapi/tokio_sapi.h"

PHP_FUNCTION(tokio_finish_request)
{
  ZEND_PARSE_PARAMETERS_NONE();
  RETURN_BOOL(tokio_finish_request());
}

PHP_FUNCTION(tokio_request_heartbeat)
{
  zend_long seconds = 10;
  ZEND_PARSE_PARAMETERS_START(0, 1)
    Z_PARAM_OPTIONAL
    Z_PARAM_LONG(seconds)
  ZEND_PARSE_PARAMETERS_END();
  RETURN_BOOL(tokio_request_heartbeat(seconds));
}

PHP_FUNCTION(tokio_request_id)
{
  ZEND_PARSE_PARAMETERS_NONE();
  const tokio_request *r = tokio_current_request();
  if (!r) RETURN_EMPTY_STRING();
  RETURN_STRINGL(r->request_id.ptr, r->request_id.len);
}

PHP_FUNCTION(tokio_worker_id)
{
  ZEND_PARSE_PARAMETERS_NONE();
  RETURN_LONG(tokio_current_worker());
}

PHP_FUNCTION(tokio_server_info)
{
  ZEND_PARSE_PARAMETERS_NONE();
  tokio_describe_server(return_value);
}

PHP_FUNCTION(tokio_send_headers)
{
  zend_long status = 200;
  ZEND_PARSE_PARAMETERS_START(0, 1)
    Z_PARAM_OPTIONAL
    Z_PARAM_LONG(status)
  ZEND_PARSE_PARAMETERS_END();
  RETURN_BOOL(tokio_commit_headers((int)status));
}

PHP_FUNCTION(tokio_headers_send)
{
  zend_long status = 200;
  ZEND_PARSE_PARAMETERS_START(0, 1)
    Z_PARAM_OPTIONAL
    Z_PARAM_LONG(status)
  ZEND_PARSE_PARAMETERS_END();
  RETURN_LONG(tokio_headers_send((int)status));
}

static __thread int handled_once; /* a classic request's tokio_handle_request() ran its handler */

/* Worker mode's loop: see tokio.stub.php. In a classic request it serves that request once. */
PHP_FUNCTION(tokio_handle_request)
{
  zend_fcall_info fci;
  zend_fcall_info_cache fcc;
  ZEND_PARSE_PARAMETERS_START(1, 1)
    Z_PARAM_FUNC(fci, fcc)
  ZEND_PARSE_PARAMETERS_END();

  int current = tokio_worker_begin_request();
  if (current == 0) RETURN_FALSE;
  if (current < 0) { /* classic: the request already current, once */
    if (handled_once) RETURN_FALSE;
    handled_once = 1;
  }
  zval retval;
  fci.retval = &retval;
  if (zend_call_function(&fci, &fcc) == SUCCESS) zval_ptr_dtor(&retval);
  if (current < 0) RETURN_FALSE;
  if (EG(exception)) {
    /* exit() unwinds on out of the worker script, which ends: the request is answered as written */
    if (zend_is_unwind_exit(EG(exception)) || zend_is_graceful_exit(EG(exception))) return;
    tokio_worker_uncaught();
  }
  tokio_worker_end_request();
  RETURN_TRUE;
}

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_bool_none, 0, 0, _IS_BOOL, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_heartbeat, 0, 0, _IS_BOOL, 0)
  ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, seconds, IS_LONG, 0, "10")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_string_none, 0, 0, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_long_none, 0, 0, IS_LONG, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_array_none, 0, 0, IS_ARRAY, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_send_headers, 0, 0, _IS_BOOL, 0)
  ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, status, IS_LONG, 0, "200")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_headers_send, 0, 0, IS_LONG, 0)
  ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, status, IS_LONG, 0, "200")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_handle_request, 0, 1, _IS_BOOL, 0)
  ZEND_ARG_TYPE_INFO(0, handler, IS_CALLABLE, 0)
ZEND_END_ARG_INFO()

/* one entry a line, as PHP writes them */
/* clang-format off */
static const zend_function_entry tokio_functions[] = {
  PHP_FE(tokio_finish_request, arginfo_bool_none)
  PHP_FE(tokio_request_heartbeat, arginfo_heartbeat)
  PHP_FE(tokio_request_id, arginfo_string_none)
  PHP_FE(tokio_worker_id, arginfo_long_none)
  PHP_FE(tokio_server_info, arginfo_array_none)
  PHP_FE(tokio_send_headers, arginfo_send_headers)
  PHP_FE(tokio_headers_send, arginfo_headers_send)
  PHP_FE(tokio_handle_request, arginfo_handle_request)
  PHP_FE_END
};
/* clang-format on */

/* Other servers' names, each defined unless something already defines it: Symfony and Laravel
 * call fastcgi_finish_request() when it exists; apps written for FrankenPHP's worker mode loop
 * on frankenphp_handle_request(), and send 103 Early Hints with its headers_send(103). */
/* one entry a line, as PHP writes them */
/* clang-format off */
static const zend_function_entry aliases[] = {
  PHP_FALIAS(fastcgi_finish_request, tokio_finish_request, arginfo_bool_none)
  PHP_FALIAS(frankenphp_finish_request, tokio_finish_request, arginfo_bool_none)
  PHP_FALIAS(frankenphp_handle_request, tokio_handle_request, arginfo_handle_request)
  PHP_FALIAS(headers_send, tokio_headers_send, arginfo_headers_send)
  PHP_FE_END
};
/* clang-format on */

static PHP_MINIT_FUNCTION(tokio)
{
  for (const zend_function_entry *f = aliases; f->fname; f++) {
    if (zend_hash_str_exists(CG(function_table), f->fname, strlen(f->fname))) continue;
    zend_function_entry one[] = {*f, PHP_FE_END};
    zend_register_functions(NULL, one, NULL, MODULE_PERSISTENT);
  }
  tokio_env_startup();
  tokio_locale_startup();
  return SUCCESS;
}

static PHP_RSHUTDOWN_FUNCTION(tokio)
{
  handled_once = 0;
  tokio_env_request_end();
  tokio_locale_request_end();
  return SUCCESS;
}

/* one entry a line, as PHP writes them */
/* clang-format off */
zend_module_entry tokio_module_entry = {
  STANDARD_MODULE_HEADER,
  "tokio",
  tokio_functions,
  PHP_MINIT(tokio),
  NULL,
  NULL,
  PHP_RSHUTDOWN(tokio),
  NULL,
  "0.1.0",
  STANDARD_MODULE_PROPERTIES
};
/* clang-format on */

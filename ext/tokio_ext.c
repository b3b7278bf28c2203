/*
 * The tokio extension, compiled into the addon: what PHP scripts see of tokio-php.
 * Signatures and documentation: tokio.stub.php. Each function asks the SAPI layer
 * (native/sapi/tokio_sapi.h) about the request running on its thread.
 */
#include "tokio_ext.h"

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

static const zend_function_entry tokio_functions[] = {
  PHP_FE(tokio_finish_request, arginfo_bool_none)
  PHP_FE(tokio_request_heartbeat, arginfo_heartbeat)
  PHP_FE(tokio_request_id, arginfo_string_none)
  PHP_FE(tokio_worker_id, arginfo_long_none)
  PHP_FE(tokio_server_info, arginfo_array_none)
  PHP_FE(tokio_send_headers, arginfo_send_headers)
  PHP_FE_END
};

/* Symfony and Laravel call fastcgi_finish_request() when it exists. */
static const zend_function_entry fastcgi_alias[] = {
  PHP_FALIAS(fastcgi_finish_request, tokio_finish_request, arginfo_bool_none)
  PHP_FE_END
};

static PHP_MINIT_FUNCTION(tokio)
{
  if (!zend_hash_str_exists(CG(function_table), ZEND_STRL("fastcgi_finish_request"))) {
    zend_register_functions(NULL, fastcgi_alias, NULL, MODULE_PERSISTENT);
  }
  tokio_env_startup();
  tokio_locale_startup();
  return SUCCESS;
}

static PHP_RSHUTDOWN_FUNCTION(tokio)
{
  tokio_env_request_end();
  tokio_locale_request_end();
  return SUCCESS;
}

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

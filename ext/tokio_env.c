/*
 * The environment, per request. php-fpm's children each have their own, restored after every
 * request; threads share one, so one request's putenv() would reach another's getenv().
 * putenv() and getenv() are replaced: a request's changes live in a table of its own in front of
 * the process environment, and go with the request. C libraries that read the environment
 * themselves do not see them (as under FrankenPHP).
 */
#include "tokio_ext.h"

static zif_handler original_getenv;
static __thread HashTable *request_env; /* name -> string, or null for a variable unset */

static ZEND_NAMED_FUNCTION(tokio_putenv)
{
  zend_string *assignment;
  ZEND_PARSE_PARAMETERS_START(1, 1)
    Z_PARAM_STR(assignment)
  ZEND_PARSE_PARAMETERS_END();
  const char *s = ZSTR_VAL(assignment);
  size_t len = ZSTR_LEN(assignment);
  if (len == 0 || s[0] == '=') {
    zend_argument_value_error(1, "must have a valid syntax");
    RETURN_THROWS();
  }
  const char *eq = memchr(s, '=', len);
  if (!request_env) {
    ALLOC_HASHTABLE(request_env);
    zend_hash_init(request_env, 8, NULL, ZVAL_PTR_DTOR, 0);
  }
  zval value;
  if (eq) ZVAL_STRINGL(&value, eq + 1, len - (size_t)(eq + 1 - s));
  else ZVAL_NULL(&value); /* "NAME" alone unsets it */
  zend_hash_str_update(request_env, s, eq ? (size_t)(eq - s) : len, &value);
  RETURN_TRUE;
}

static ZEND_NAMED_FUNCTION(tokio_getenv)
{
  zend_string *name = NULL;
  bool local_only = 0;
  ZEND_PARSE_PARAMETERS_START(0, 2)
    Z_PARAM_OPTIONAL
    Z_PARAM_STR_OR_NULL(name)
    Z_PARAM_BOOL(local_only)
  ZEND_PARSE_PARAMETERS_END();
  (void)local_only;
  if (request_env && name) {
    zval *value = zend_hash_find(request_env, name);
    if (value) {
      if (Z_TYPE_P(value) == IS_NULL) RETURN_FALSE;
      RETURN_COPY(value);
    }
  }
  original_getenv(INTERNAL_FUNCTION_PARAM_PASSTHRU);
  if (request_env && !name && Z_TYPE_P(return_value) == IS_ARRAY) {
    zend_string *key;
    zval *value;
    ZEND_HASH_FOREACH_STR_KEY_VAL(request_env, key, value) {
      if (Z_TYPE_P(value) == IS_NULL) {
        zend_hash_del(Z_ARRVAL_P(return_value), key);
      } else {
        Z_TRY_ADDREF_P(value);
        zend_hash_update(Z_ARRVAL_P(return_value), key, value);
      }
    }
    ZEND_HASH_FOREACH_END();
  }
}

void tokio_env_startup(void)
{
  zend_function *put = zend_hash_str_find_ptr(CG(function_table), ZEND_STRL("putenv"));
  zend_function *get = zend_hash_str_find_ptr(CG(function_table), ZEND_STRL("getenv"));
  if (!put || !get || put->type != ZEND_INTERNAL_FUNCTION || get->type != ZEND_INTERNAL_FUNCTION) return;
  put->internal_function.handler = tokio_putenv;
  original_getenv = get->internal_function.handler;
  get->internal_function.handler = tokio_getenv;
}

void tokio_env_request_end(void)
{
  if (!request_env) return;
  zend_hash_destroy(request_env);
  FREE_HASHTABLE(request_env);
  request_env = NULL;
}

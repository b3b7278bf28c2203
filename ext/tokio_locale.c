/*
 * setlocale(), per request. C's setlocale() changes the locale of the whole process, so under
 * threads one request's locale would format another's numbers, and PHP's reset to "C" at the end
 * of a request that changed it would reach every request running beside it. Here a request's
 * locale is a glibc locale_t made with newlocale() and put in use on its thread alone with
 * uselocale(); it goes at the end of the request. PHP's own setlocale() is replaced, doing what
 * ext/standard/string.c does around the C call.
 */
#include "tokio_ext.h"

#include <langinfo.h>
#include <locale.h>

#include <ext/standard/basic_functions.h>
#include <zend_smart_str.h>

static __thread locale_t request_locale; /* in use on this thread; (locale_t)0: the process's */

static const int categories[] = {LC_CTYPE, LC_NUMERIC, LC_TIME,    LC_COLLATE,   LC_MONETARY,    LC_MESSAGES,
                                 LC_PAPER, LC_NAME,    LC_ADDRESS, LC_TELEPHONE, LC_MEASUREMENT, LC_IDENTIFICATION};
static const char *const category_names[] = {"LC_CTYPE",    "LC_NUMERIC",   "LC_TIME",        "LC_COLLATE",
                                             "LC_MONETARY", "LC_MESSAGES",  "LC_PAPER",       "LC_NAME",
                                             "LC_ADDRESS",  "LC_TELEPHONE", "LC_MEASUREMENT", "LC_IDENTIFICATION"};
#define CATEGORY_COUNT (sizeof(categories) / sizeof(categories[0]))

static const char *category_name(locale_t loc, int cat) { return nl_langinfo_l(_NL_LOCALE_NAME(cat), loc); }

/* What setlocale(cat, NULL) says, for this thread: LC_ALL is one name, or glibc's composite form. */
static zend_string *current_name(int cat)
{
  if (!request_locale) {
    const char *name = setlocale(cat, NULL);
    return zend_string_init(name, strlen(name), 0);
  }
  if (cat != LC_ALL) {
    const char *name = category_name(request_locale, cat);
    return zend_string_init(name, strlen(name), 0);
  }
  const char *first = category_name(request_locale, categories[0]);
  bool same = true;
  for (size_t i = 1; i < CATEGORY_COUNT && same; i++)
    same = strcmp(first, category_name(request_locale, categories[i])) == 0;
  if (same) return zend_string_init(first, strlen(first), 0);
  smart_str composite = {0};
  for (size_t i = 0; i < CATEGORY_COUNT; i++) {
    if (i) smart_str_appendc(&composite, ';');
    smart_str_appends(&composite, category_names[i]);
    smart_str_appendc(&composite, '=');
    smart_str_appends(&composite, category_name(request_locale, categories[i]));
  }
  return smart_str_extract(&composite);
}

static int category_mask(zend_long cat)
{
  if (cat == LC_ALL) return LC_ALL_MASK;
  for (size_t i = 0; i < CATEGORY_COUNT; i++) {
    if (categories[i] == cat) return 1 << cat;
  }
  return 0;
}

/* One candidate: the new name, or NULL when the locale does not exist (setlocale()'s false). */
static zend_string *try_locale(zend_long cat, zend_string *loc)
{
  int mask = category_mask(cat);
  if (!mask) return NULL;
  if (zend_string_equals_literal(loc, "0")) return current_name((int)cat);
  if (ZSTR_LEN(loc) >= 255) {
    php_error_docref(NULL, E_WARNING, "Specified locale name is too long");
    return NULL;
  }
  locale_t base = request_locale ? request_locale : duplocale(LC_GLOBAL_LOCALE);
  locale_t made = newlocale(mask, ZSTR_VAL(loc), base);
  if (!made) {
    if (!request_locale) freelocale(base);
    return NULL;
  }
  uselocale(made);
  request_locale = made;
  zend_string *name = current_name((int)cat);
  if (cat == LC_CTYPE || cat == LC_ALL) {
    zend_update_current_locale();
    if (BG(ctype_string)) zend_string_release_ex(BG(ctype_string), 0);
    const char *ctype = category_name(made, LC_CTYPE);
    /* the C locale is NULL there, as in string.c */
    BG(ctype_string) = strcmp(ctype, "C") == 0 ? NULL : zend_string_init(ctype, strlen(ctype), 0);
  }
  return name;
}

static zend_string *try_locale_zval(zend_long cat, zval *loc_zv)
{
  zend_string *tmp;
  zend_string *loc = zval_try_get_tmp_string(loc_zv, &tmp);
  if (!loc) return NULL;
  zend_string *result = try_locale(cat, loc);
  zend_tmp_string_release(tmp);
  return result;
}

/* setlocale(int $category, $locales, ...$rest): the first candidate that exists, as PHP's */
static ZEND_NAMED_FUNCTION(tokio_setlocale)
{
  zend_long cat;
  zval *args = NULL;
  uint32_t num_args;
  ZEND_PARSE_PARAMETERS_START(2, -1)
    Z_PARAM_LONG(cat)
    Z_PARAM_VARIADIC('+', args, num_args)
  ZEND_PARSE_PARAMETERS_END();
  for (uint32_t i = 0; i < num_args; i++) {
    if (Z_TYPE(args[i]) == IS_ARRAY) {
      zval *elem;
      ZEND_HASH_FOREACH_VAL(Z_ARRVAL(args[i]), elem) {
        zend_string *result = try_locale_zval(cat, elem);
        if (EG(exception)) RETURN_THROWS();
        if (result) RETURN_STR(result);
      }
      ZEND_HASH_FOREACH_END();
    } else {
      zend_string *result = try_locale_zval(cat, &args[i]);
      if (EG(exception)) RETURN_THROWS();
      if (result) RETURN_STR(result);
    }
  }
  RETURN_FALSE;
}

void tokio_locale_startup(void)
{
  zend_function *f = zend_hash_str_find_ptr(CG(function_table), ZEND_STRL("setlocale"));
  if (f && f->type == ZEND_INTERNAL_FUNCTION) f->internal_function.handler = tokio_setlocale;
}

void tokio_locale_request_end(void)
{
  if (!request_locale) return;
  uselocale(LC_GLOBAL_LOCALE);
  freelocale(request_locale);
  request_locale = (locale_t)0;
  zend_update_current_locale();
  if (BG(ctype_string)) {
    zend_string_release_ex(BG(ctype_string), 0);
    BG(ctype_string) = NULL;
  }
}

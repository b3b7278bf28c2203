/* The tokio extension: the functions PHP scripts call (see tokio.stub.php). */
#ifndef TOKIO_EXT_H
#define TOKIO_EXT_H

#include <php.h>

extern zend_module_entry tokio_module_entry;

/* tokio_env.c: putenv() and getenv() per request */
void tokio_env_startup(void);
void tokio_env_request_end(void);
/* tokio_locale.c: setlocale() per request */
void tokio_locale_startup(void);
void tokio_locale_request_end(void);

#endif

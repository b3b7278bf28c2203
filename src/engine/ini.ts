// php.ini layers. Defaults sit below php.ini (the values of Debian's php-fpm production php.ini
// that differ from PHP's built-in ones); `ini` entries from the caller sit above it, like `php -d`.
export type IniValue = string | number | boolean;

export const ENGINE_INI_DEFAULTS: Readonly<Record<string, IniValue>> = {
  display_errors: '0',
  display_startup_errors: '0',
  log_errors: '1',
  error_reporting: '22527', // E_ALL & ~E_DEPRECATED in PHP 8.4: this layer is stored, not evaluated
  output_buffering: '4096',
  expose_php: '0',
  short_open_tag: '0',
  register_argc_argv: '0',
  variables_order: 'GPCS',
  request_order: 'GP',
  max_execution_time: '30',
  max_input_time: '60',
  memory_limit: '128M',
  post_max_size: '8M',
  upload_max_filesize: '2M',
  'zend.assertions': '-1',
  // Debian's and Ubuntu's PHP: apps installed from the distribution load their libraries from here
  include_path: '.:/usr/share/php',
  // big enough that it never restarts on its own: a restart while threads run is unsafe
  'opcache.enable': '1',
  'opcache.memory_consumption': '256',
  'opcache.interned_strings_buffer': '16',
  'opcache.max_accelerated_files': '20000',
  // opcache.revalidate_freq stays PHP's (and php-fpm's) 2 s: an edited file shows within 3 s
  // (README: When changed code is seen). At 0 every included file is stat-ed on every request,
  // which halves an autoloading app's speed.
};

function lines(entries: Readonly<Record<string, IniValue>>, format: (value: string) => string): string {
  let out = '';
  for (const [k, v] of Object.entries(entries)) {
    if (!/^[\w.-]+$/.test(k)) throw new Error(`invalid php.ini directive name: ${JSON.stringify(k)}`);
    const s = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
    if (/[\r\n]/.test(s)) throw new Error(`php.ini value of ${k} must be one line`);
    out += `${k}=${format(s)}\n`;
  }
  return out;
}

/** For the defaults layer, which PHP stores as given, without parsing. */
export const rawIniLines = (entries: Readonly<Record<string, IniValue>>): string => lines(entries, (s) => s);

/** For the layer above php.ini, which PHP parses as php.ini syntax: values are quoted. */
export const iniLines = (entries: Readonly<Record<string, IniValue>>): string =>
  lines(entries, (s) => (/^[\w.+/:-]*$/.test(s) ? s : `"${s.replace(/["\\]/g, '\\$&')}"`));
